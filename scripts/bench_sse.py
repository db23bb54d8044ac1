#!/usr/bin/env python3
"""Part of scripts/bench-serve.sh: N open install-event streams on one node.

Opens N streams to http://127.0.0.1:PORT/apps/APP/events (raw sockets, one selector),
waits until each has its opening event, reads the node's resident memory before and
after, then runs the given release command and times when each stream hears the
`installed` event. Prints one JSON line: streams, rss_before_kib, rss_after_kib,
first_ms and last_ms (from the release command's start), spread_ms (last - first).
Usage: bench_sse.py PORT APP NODE_PID STREAMS -- release command...
"""
import json
import selectors
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %s" % pid)


def main():
    port, app, pid, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    command = sys.argv[sys.argv.index("--") + 1:]
    before = rss_kib(pid)
    selector = selectors.DefaultSelector()
    buffers = {}
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /apps/{app}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        buffers[s] = b""

    def pump(until, done, deadline_s):
        deadline = time.monotonic() + deadline_s
        heard = {}
        while len(heard) < len(buffers) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.05):
                chunk = key.fileobj.recv(65536)
                if not chunk:
                    raise SystemExit("a stream was closed by the node")
                buffers[key.fileobj] += chunk
                if key.fileobj not in heard and until in buffers[key.fileobj]:
                    heard[key.fileobj] = time.monotonic()
        if len(heard) < len(buffers):
            raise SystemExit(f"only {len(heard)} of {len(buffers)} streams heard {until!r} in {deadline_s} s ({done})")
        return heard

    pump(b"event: current", "opening", 30)
    time.sleep(1)  # let the node's allocator settle before reading its memory
    after = rss_kib(pid)
    started = time.monotonic()
    release = subprocess.run(command, capture_output=True, text=True)
    if release.returncode != 0:
        raise SystemExit("release failed: " + release.stderr.strip())
    heard = pump(b"event: installed", "install", 30)
    times = sorted((t - started) * 1000 for t in heard.values())
    print(json.dumps({"streams": count, "rss_before_kib": before, "rss_after_kib": after,
                      "first_ms": round(times[0], 1), "last_ms": round(times[-1], 1), "spread_ms": round(times[-1] - times[0], 1)}))
    for s in buffers:
        s.close()


if __name__ == "__main__":
    main()
