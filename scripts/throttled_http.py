#!/usr/bin/env python3
"""One-file HTTP origin whose TOTAL egress is capped (used by scripts/bench-swarm.sh).

    throttled_http.py --port P --rate BYTES_PER_S --file PATH [--bind 127.0.0.1] [--chunk 65536]

Serves exactly one file, at /<basename of PATH>; GET sends it, HEAD answers
the headers only and is never paced (bench-swarm.sh uses it as the readiness
probe). Anything else is a 404.

Why not nginx or `python3 -m http.server`: nginx's `limit_rate` caps each
connection, so N clients would get N x RATE in total, and http.server has no
cap at all. Here every chunk written on every connection first reserves the
next slot on ONE shared virtual link of RATE bytes/s (a clock that advances by
chunk/RATE per chunk), and is written when its slot ends. So the server as a
whole never sends faster than RATE, like one origin behind a RATE uplink;
concurrent clients share it about equally (slots are handed out first come,
first served, CHUNK bytes each). No credit builds up while the link is idle,
so there is no burst at the start. Nothing outside this process (tc, qdisc,
iptables) is touched.
"""
import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SharedLink:
    """A virtual link of `rate` bytes/s shared by all connections."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.lock = threading.Lock()
        self.free_at = time.monotonic()

    def reserve(self, nbytes):
        """Book nbytes of link time; return the monotonic time the slot ends."""
        with self.lock:
            start = max(time.monotonic(), self.free_at)
            self.free_at = start + nbytes / self.rate
            return self.free_at


def handler_for(path, link, chunk):
    url_path = "/" + os.path.basename(path)
    size = os.path.getsize(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection, then close

        def log_message(self, *args):
            pass

        def send_head(self):
            if self.path != url_path:
                self.send_error(404)
                return False
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            return True

        def do_HEAD(self):
            self.send_head()

        def do_GET(self):
            if not self.send_head():
                return
            with open(path, "rb") as f:
                left = size
                while left > 0:
                    data = f.read(min(chunk, left))
                    if not data:
                        raise OSError("file shrank while serving")
                    wait = link.reserve(len(data)) - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    try:
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    left -= len(data)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # the default backlog of 5 drops SYNs when N clients connect at once
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="total bytes/s over all connections")
    ap.add_argument("--file", required=True)
    ap.add_argument("--chunk", type=int, default=65536, help="bytes per paced write (default 65536)")
    a = ap.parse_args()
    if a.rate <= 0 or a.chunk <= 0:
        sys.exit("throttled_http.py: --rate and --chunk must be > 0")
    if not os.path.isfile(a.file):
        sys.exit("throttled_http.py: no such file: %s" % a.file)
    srv = Server((a.bind, a.port), handler_for(a.file, SharedLink(a.rate), a.chunk))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
