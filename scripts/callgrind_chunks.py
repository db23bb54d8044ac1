#!/usr/bin/env python3
"""Instructions per chunk: one node under callgrind receives a release, then uploads it.

Part of scripts/bench-callgrind.sh, which builds the binary and the shim this needs.
Counts of executed instructions do not drift with the machine's hour as CPU time does,
so they compare builds across days. They count user space only: the kernel's part of a
socket read or a write (a sixth to a third of a node's CPU per chunk in the profiles of
docs/benchmarks.md) is not in them.

  1. A native seed node (--seed-only) holds release 1.0.0 of one SIZE_MB file, and
     PEERS native nodes (default 4) join it, so that A receives from several peers and
     tells each what it holds. With SWARM=1 they run under callgrind too and download
     with A, at its pace, as a swarm does.
  2. Node A runs under `valgrind --tool=callgrind` and joins them. Once A sees the seed
     alive, its counts are dumped and zeroed (start-up), then again after IDLE seconds
     (idle: gossip and timers with nothing to do, reported per second).
  3. The seed announces; when A's `current` points at 1.0.0 its counts are dumped
     (receive: every chunk from the seed, hashed, stored, staged and installed).
  4. The seed and the peers stop; a native node B joins A and installs 1.0.0 from it alone; A's counts
     are dumped (upload: every chunk read or sent from A's store).

Per chunk means per 64 KiB of chunk bytes moved (the nodes' bytesIn / bytesOut), the
unit of scripts/bench-swarm.sh's cpu_us_per_chunk. Every process started is killed by
its pid on the way out, whatever happened.

usage: callgrind_chunks.py BIN SHIM_SO PUB KEY [SIZE_MB] [IDLE_S] [TOP] [PEERS]
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time

CHUNK = 65536


def fail(msg):
    print("bench-callgrind: " + msg, file=sys.stderr)
    sys.exit(1)


def wait_for(what, timeout, check, procs=()):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        for name, p in procs:
            if p.poll() is not None:
                fail("%s exited (status %s) while waiting for %s" % (name, p.returncode, what))
        if time.time() > deadline:
            fail("no %s within %ss" % (what, timeout))
        time.sleep(0.1)


def ready(d):
    try:
        with open(os.path.join(d, "ready.json")) as f:
            r = json.load(f)
        return (int(r["gossip"]), int(r["admin"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(binary, admin):
    r = subprocess.run([binary, "status", "--node", "127.0.0.1:%d" % admin, "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def transfer(binary, admin):
    s = status(binary, admin)
    if s is None:
        fail("no status from the node at admin port %d" % admin)
    t = s["self"]["transfer"]
    return int(t["bytesIn"]), int(t["bytesOut"])


def installed(d, app, version):
    try:
        return os.path.basename(os.readlink(os.path.join(d, "apps", app, "current")).rstrip("/")) == version
    except OSError:
        return False


def main():
    if len(sys.argv) < 5:
        fail("usage: callgrind_chunks.py BIN SHIM_SO PUB KEY [SIZE_MB] [IDLE_S] [TOP] [PEERS]")
    binary, shim, pub, key = sys.argv[1:5]
    size_mb = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    idle_s = float(sys.argv[6]) if len(sys.argv) > 6 else 10.0
    top = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    n_peers = int(sys.argv[8]) if len(sys.argv) > 8 else 4
    app, version = "bench", "1.0.0"
    work = tempfile.mkdtemp(prefix="bundlecast-callgrind.")
    procs = []

    def start(name, args, env=None, wrap=()):
        log = open(os.path.join(work, name + ".log"), "w")
        p = subprocess.Popen(list(wrap) + [binary] + args, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        procs.append((name, p))
        return p

    def node_args(name, *extra):
        return ["node", "--data", os.path.join(work, name), "--gossip", "127.0.0.1:0",
                "--admin", "127.0.0.1:0", "--transfer", "127.0.0.1:0",
                "--trust", "%s=%s" % (app, pub), "--stagger", "0s", *extra]

    try:
        bundle = os.path.join(work, "bundle")
        os.makedirs(bundle)
        with open(os.path.join(bundle, "payload.bin"), "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        manifests = os.path.join(work, "Manifests")
        subprocess.run([binary, "release", bundle, "--app", app, "--version", version, "--key", key,
                        "--manifests", manifests, "--no-cache"], check=True, stdout=subprocess.DEVNULL)
        notice = os.path.join(manifests, app, version + ".manifest.minisig")

        seed = start("seed", node_args("seed", "--seed-only"))
        seed_gossip, seed_admin = wait_for("ready.json from the seed", 60, lambda: ready(os.path.join(work, "seed")), procs)
        subprocess.run([binary, "seed", notice, "--bundle", bundle, "--node", "127.0.0.1:%d" % seed_admin,
                        "--no-announce"], check=True, stdout=subprocess.DEVNULL)

        # SWARM=1: the peers run under callgrind too, so they download at A's pace and
        # tell it what they get as a swarm does (their counts are not read).
        def peer_wrap(i):
            if os.environ.get("SWARM") != "1":
                return {}
            return {"env": dict(os.environ, LD_PRELOAD=shim),
                    "wrap": ("valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(work, "p%d.cg" % i))}
        peers = [start("p%d" % i, node_args("p%d" % i, "--join", "127.0.0.1:%d" % seed_gossip), **peer_wrap(i))
                 for i in range(1, n_peers + 1)]
        for i in range(1, n_peers + 1):
            wait_for("ready.json from p%d" % i, 600, lambda: ready(os.path.join(work, "p%d" % i)), procs)

        out = os.path.join(work, "callgrind.out")
        env = dict(os.environ, LD_PRELOAD=shim)
        a = start("a", node_args("a", "--join", "127.0.0.1:%d" % seed_gossip), env=env,
                  wrap=("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out))
        _, a_admin = wait_for("ready.json from node A (under callgrind)", 600, lambda: ready(os.path.join(work, "a")), procs)

        def sees_seed_alive():
            s = status(binary, a_admin)
            return s is not None and sum(1 for m in s.get("members", []) if m.get("state") == "alive") == 2 + n_peers
        wait_for("%d members alive at node A" % (2 + n_peers), 300, sees_seed_alive, procs)

        dumps = []

        def dump(label):
            n = len(dumps) + 1
            subprocess.run(["callgrind_control", "--dump=" + label, str(a.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
            path = "%s.%d" % (out, n)
            wait_for("callgrind dump %d (%s)" % (n, label), 300, lambda: os.path.exists(path) and totals(path) is not None, procs)
            dumps.append((label, path))
            return totals(path)

        dump("start-up")
        t0 = time.time()
        time.sleep(idle_s)
        idle_ir = dump("idle")
        idle_rate = idle_ir / (time.time() - t0)

        in0, _ = transfer(binary, a_admin)
        t0 = time.time()
        subprocess.run([binary, "announce", notice, "--node", "127.0.0.1:%d" % seed_admin], check=True,
                       stdout=subprocess.DEVNULL)
        wait_for("install of %s at node A" % version, 1800, lambda: installed(os.path.join(work, "a"), app, version), procs)
        in1, out1 = transfer(binary, a_admin)
        receive_ir = dump("receive")
        receive_s = time.time() - t0

        for p in [seed] + peers:
            p.send_signal(signal.SIGTERM)
        for p in [seed] + peers:
            p.wait(timeout=60)
        a_gossip, _ = ready(os.path.join(work, "a"))
        t0 = time.time()
        start("b", node_args("b", "--join", "127.0.0.1:%d" % a_gossip))
        wait_for("install of %s at node B (from A alone)" % version, 1800,
                 lambda: installed(os.path.join(work, "b"), app, version), [p for p in procs if p[0] in ("a", "b")])
        _, out2 = transfer(binary, a_admin)
        upload_ir = dump("upload")
        upload_s = time.time() - t0

        received, sent = in1 - in0, out2 - out1
        if received < CHUNK or sent < CHUNK:
            fail("node A received %d and sent %d bytes: too few to count per chunk" % (received, sent))
        rc, sc = received / CHUNK, sent / CHUNK
        print("system=callgrind size_mib=%d chunks_received=%.1f chunks_sent=%.1f" % (size_mb, rc, sc))
        print("receive_ir_per_chunk=%.0f receive_ir_per_chunk_less_idle=%.0f receive_wall_s=%.1f"
              % (receive_ir / rc, (receive_ir - idle_rate * receive_s) / rc, receive_s))
        print("upload_ir_per_chunk=%.0f upload_ir_per_chunk_less_idle=%.0f upload_wall_s=%.1f"
              % (upload_ir / sc, (upload_ir - idle_rate * upload_s) / sc, upload_s))
        print("idle_ir_per_s=%.0f" % idle_rate)
        if top > 0:
            for label, path in dumps:
                if label in ("receive", "upload"):
                    print("--- %s: the %d functions with most instructions (self) ---" % (label, top))
                    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path], stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
                    # Thread entry points are listed with their thread's whole cost: left out.
                    entry = ("PROGRAM TOTALS", "start_thread", "clone.S", "ThreadOpsPosix", "setupThreadAnd", "NIOThread")
                    lines = [l for l in r.stdout.splitlines()
                             if "(" in l and l.strip()[:1].isdigit() and not any(e in l for e in entry)]
                    for l in lines[:top]:
                        print(l[:200])
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
        for _, p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if os.environ.get("KEEP") == "1":
            print("bench-callgrind: kept %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def totals(path):
    """The dump's instruction total (its `summary:` or `totals:` line), or None while it is written."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


if __name__ == "__main__":
    main()
