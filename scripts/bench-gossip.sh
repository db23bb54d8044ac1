#!/usr/bin/env bash
# Part of make bench: N real nodes on loopback (default 30). Prints the time for a notice
# posted to one node to reach all, gossip bytes and datagrams per node per second, and CPU
# per node, measured over MEASURE seconds once the fleet has converged.
# Usage: scripts/bench-gossip.sh [path/to/bundlecast]  (NODES=30 MEASURE=10)
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
NODES=${NODES:-30}
MEASURE=${MEASURE:-10}
cd "$(dirname "$0")/.."
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-bench-gossip.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
KEY=Keys/demo-test-only

start() { # name, extra args...
  local name=$1; shift
  "$BIN" node --data "$work/$name" --gossip 127.0.0.1:0 --admin 127.0.0.1:0 --transfer 127.0.0.1:0 --trust hello-fleet=$KEY.pub --log-level error "$@" 2>> "$work/nodes.log" &
  pids+=($!)
  for _ in $(seq 400); do [ -s "$work/$name/ready.json" ] && return; sleep 0.05; done
  echo "bench: node $name did not start" >&2; cat "$work/nodes.log" >&2; exit 1
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

start n0
seed=$(field "$work/n0/ready.json" gossip)
for i in $(seq 1 $((NODES - 1))); do start "n$i" --join "127.0.0.1:$seed"; done
admins=(); for i in $(seq 0 $((NODES - 1))); do admins+=("$(field "$work/n$i/ready.json" admin)"); done

# Wait (deadline 60 s) until every node sees all others alive.
python3 - "$NODES" "${admins[@]}" <<'PY'
import json, sys, time, urllib.request
n = int(sys.argv[1]); ports = sys.argv[2:]
deadline = time.time() + 60
while time.time() < deadline:
    ok = 0
    for p in ports:
        s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/v1/status"))
        ok += sum(m["state"] == "alive" for m in s["members"]) == n
    if ok == n: sys.exit(0)
    time.sleep(0.2)
sys.exit("bench: the fleet did not converge within 60 s")
PY

"$BIN" release Samples/hello-fleet/1.0.0 --app hello-fleet --version 1.0.0 --key $KEY.key --manifests "$work/Manifests" > /dev/null
python3 - "$work/Manifests/hello-fleet/1.0.0.manifest.minisig" "$MEASURE" "${admins[@]}" <<'PY'
import json, os, sys, time, urllib.request
notice, measure, ports = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def status(p): return json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/v1/status"))
t0 = time.time()
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{ports[0]}/v1/notices", data=open(notice, "rb").read(), method="POST", headers={"Content-Type": "application/octet-stream"}))
pending = set(ports); reached = []
while pending and time.time() - t0 < 60:
    for p in list(pending):
        if any(a["app"] == "hello-fleet" and a["sequence"] == 1 for a in status(p)["self"]["apps"]):
            pending.discard(p); reached.append(time.time() - t0)
    time.sleep(0.02)
if pending: sys.exit(f"bench: {len(pending)} nodes never got the notice")
reached.sort()
def pct(q): return reached[min(len(reached) - 1, int(q * len(reached)))]
# Traffic and CPU over the measuring window (the notice is still being retransmitted at first).
time.sleep(2)
before = {p: status(p)["gossip"] for p in ports}
ticks = os.sysconf("SC_CLK_TCK")
def cpu_all():
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            cmd = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            if b"node" in cmd and any(b"bundlecast-bench-gossip" in c for c in cmd):
                f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
                total += (int(f[11]) + int(f[12])) / ticks
        except OSError: pass
    return total
c0 = cpu_all(); t1 = time.time()
time.sleep(measure)
c1 = cpu_all(); dt = time.time() - t1
after = {p: status(p)["gossip"] for p in ports}
n = len(ports)
bytes_out = sum(after[p]["bytesOut"] - before[p]["bytesOut"] for p in ports) / n / dt
dgrams = sum(after[p]["datagramsOut"] - before[p]["datagramsOut"] for p in ports) / n / dt
print(f"\ngossip, {n} nodes on loopback, {os.cpu_count()} cores")
print(f"notice posted to one node reached 50% in {pct(0.5):.2f} s, 99% in {pct(0.99):.2f} s, all in {reached[-1]:.2f} s (polled every 20 ms)")
print(f"steady state over {dt:.0f} s: {bytes_out:.0f} bytes/s and {dgrams:.1f} datagrams/s sent per node, CPU {100 * (c1 - c0) / dt / n:.2f}% of a core per node")
PY
