#!/usr/bin/env python3
"""A static HTTP mirror of a directory, with single-range requests (used by the mirror tests).

    mirror_http.py --root DIR [--bind 127.0.0.1] [--port 0] [--port-file FILE] [--corrupt-ranges]

Serves the files under DIR read-only: GET and HEAD, `Range: bytes=A-B`, `bytes=A-` and
`bytes=-N` answered 206 with Content-Range (416 when unsatisfiable), anything else 200;
404 for what is not a regular file under DIR (no listings, nothing outside it). Binds
port 0 by default and writes the port it got to --port-file (atomically) once it serves,
so a test never guesses ports. HTTP/1.1 with keep-alive, a thread per connection.

Why not `python3 -m http.server`: it ignores Range and answers every request with the
whole file.

--corrupt-ranges plays a lying mirror: every 206 answer has its first byte flipped (the
length and headers stay right, so only the digest check can tell). Whole files (a
manifest) are served intact, so a node takes the manifest from it and then meets the
wrong bytes.
"""
import argparse
import os
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def make_handler(root, corrupt):
    root = os.path.realpath(root)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("%s\n" % (fmt % args))

        def do_HEAD(self):
            self.serve(head=True)

        def do_GET(self):
            self.serve(head=False)

        def fail(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def resolve(self):
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if full != root and not full.startswith(root + os.sep):
                return None
            return full if os.path.isfile(full) else None

        def serve(self, head):
            full = self.resolve()
            if full is None:
                return self.fail(404)
            size = os.path.getsize(full)
            start, end, partial = 0, size - 1, False
            header = self.headers.get("Range")
            if header is not None:
                m = RANGE.match(header.strip())
                if m and (m.group(1) or m.group(2)):
                    if m.group(1):
                        start = int(m.group(1))
                        end = int(m.group(2)) if m.group(2) else size - 1
                    else:
                        start = max(0, size - int(m.group(2)))
                    end = min(end, size - 1)
                    if start >= size or start > end:
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % size)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    partial = True
            length = end - start + 1 if size > 0 else 0
            with open(full, "rb") as f:
                f.seek(start)
                body = f.read(length)
            if partial and corrupt and body:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            self.send_response(206 if partial else 200)
            if partial:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--corrupt-ranges", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(args.root, args.corrupt_ranges))
    server.daemon_threads = True
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
