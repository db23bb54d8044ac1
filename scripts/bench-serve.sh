#!/usr/bin/env bash
# Part of make bench: the node's local content server (--serve) against nginx serving the
# same installed directory, and the cost of many open install-event streams.
#
# 1. A node installs a bundle (the sample web app plus a 64 MiB file of random bytes);
#    nginx (sendfile on, as shipped) serves that same installed directory under the same
#    paths. wrk with CONNECTIONS connections takes turns on both, ROUNDS rounds, medians:
#    requests/s over the app's small files (a Lua script cycles them) and bytes/s on the
#    64 MiB file, with p99 latency.
# 2. STREAMS event streams open on the node (scripts/bench_sse.py): its resident memory
#    before and after, then a release installs and the time until every stream heard it.
# Usage: scripts/bench-serve.sh [path/to/bundlecast]  (CONNECTIONS=64 DURATION=5s LARGE_DURATION=10s THREADS=2 ROUNDS=3 STREAMS=1000)
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-1000}
LARGE_DURATION=${LARGE_DURATION:-10s}
cd "$(dirname "$0")/.."
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

. scripts/wrk-lib.sh
# 1000 streams and wrk's connections need descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-bench-serve.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The bundle: the sample web app and one large file.
cp -r Samples/hello-fleet/1.0.0 "$work/bundle"
head -c $((64 << 20)) /dev/urandom > "$work/bundle/large.bin"

mkdir -p "$work/node"
"$BIN" node --data "$work/node" --gossip 127.0.0.1:0 --admin 127.0.0.1:0 --transfer 127.0.0.1:0 --serve 127.0.0.1:0 \
  --trust hello-fleet=Keys/demo-test-only.pub --stagger 0s --log-level warning 2> "$work/node.log" &
pids+=($!); node_pid=$!
for _ in $(seq 300); do [ -s "$work/node/ready.json" ] && break; sleep 0.05; done
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$work/node/ready.json")
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serve"])' "$work/node/ready.json")
"$BIN" release "$work/bundle" --app hello-fleet --version 1.0.0 --key Keys/demo-test-only.key --no-cache \
  --manifests "$work/Manifests" --node "127.0.0.1:$admin" > /dev/null
for _ in $(seq 600); do [ "$(readlink "$work/node/apps/hello-fleet/current" 2>/dev/null)" = 1.0.0 ] && break; sleep 0.1; done
[ "$(readlink "$work/node/apps/hello-fleet/current")" = 1.0.0 ] || { echo "bench: the node did not install the bundle" >&2; tail "$work/node.log" >&2; exit 1; }
tree="$work/node/apps/hello-fleet/1.0.0"

# nginx on the same directory, under the same paths.
chmod 755 "$work" "$work/node" "$work/node/apps" "$work/node/apps/hello-fleet"; chmod -R a+rX "$tree"
base=/apps/hello-fleet/1.0.0
start_nginx 4096 "sendfile on; include /etc/nginx/mime.types;" "location $base/ { alias $tree/; etag on; }" "$base/index.html"
small=(index.html style.css app.js img/logo.svg img/swarm.png share/motd.txt bin/hello)
for f in "${small[@]}" large.bin; do
  cmp <(curl -sf "http://127.0.0.1:$port$base/$f") <(curl -sf "http://127.0.0.1:$nport$base/$f") || { echo "bench: $f differs between the servers" >&2; exit 1; }
done
{
  echo 'local paths = {'
  for f in "${small[@]}"; do echo "  \"$base/$f\","; done
  echo '}'
  echo 'local i = 0'
  echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
} > "$work/small.lua"

field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
bytes_per_s() { awk '/Transfer\/sec/ { v=$2; m=1; if (v ~ /KB$/) m=1024; if (v ~ /MB$/) m=1048576; if (v ~ /GB$/) m=1073741824; sub(/[KMG]?B$/,"",v); print v*m }' "$1"; }
for r in $(seq "$ROUNDS"); do
  run_wrk -s "$work/small.lua" "http://127.0.0.1:$port" > "$work/small.node.$r"
  run_wrk -s "$work/small.lua" "http://127.0.0.1:$nport" > "$work/small.nginx.$r"
  # A 64 MiB answer to each of 64 connections takes seconds: a longer run and no 2 s time-out.
  run_wrk --timeout 60s -d"$LARGE_DURATION" "http://127.0.0.1:$port$base/large.bin" > "$work/large.node.$r"
  run_wrk --timeout 60s -d"$LARGE_DURATION" "http://127.0.0.1:$nport$base/large.bin" > "$work/large.nginx.$r"
  for f in "$work"/*."$r"; do
    if grep -qE 'Non-2xx|Socket errors' "$f"; then echo "bench: errors in $(basename "$f"):" >&2; cat "$f" >&2; exit 1; fi
  done
done
med() { for r in $(seq "$ROUNDS"); do "$1" "$work/$2.$r"; done | median; }
rps() { field Requests/sec: "$1"; }
sn=$(med rps small.node); sg=$(med rps small.nginx)
ln=$(med bytes_per_s large.node); lg=$(med bytes_per_s large.nginx)
snp=$(med p99_ms small.node); sgp=$(med p99_ms small.nginx)
lnp=$(med p99_ms large.node); lgp=$(med p99_ms large.nginx)
printf '\nLocal content server vs nginx on the same installed tree: wrk -t%s -c%s -d%s, median of %s rounds, %s cores\n' \
  "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf '%-44s %14s %10s\n' "" "per second" "p99 ms"
printf '%-44s %14.0f %10.2f\n' "small files (${#small[@]} of the sample), bundlecast" "$sn" "$snp"
printf '%-44s %14.0f %10.2f\n' "small files, nginx" "$sg" "$sgp"
printf '%-44s %11.1f MB %10.2f\n' "64 MiB file, bundlecast" "$(awk -v v="$ln" 'BEGIN{print v/1e6}')" "$lnp"
printf '%-44s %11.1f MB %10.2f\n' "64 MiB file, nginx" "$(awk -v v="$lg" 'BEGIN{print v/1e6}')" "$lgp"
printf 'ratio bundlecast/nginx: small files %.2f (requests/s), 64 MiB file %.2f (bytes/s)\n' \
  "$(awk -v a="$sn" -v b="$sg" 'BEGIN{print a/b}')" "$(awk -v a="$ln" -v b="$lg" 'BEGIN{print a/b}')"

# Event streams: memory per stream and the time an install takes to reach them all.
sse=$(python3 scripts/bench_sse.py "$port" hello-fleet "$node_pid" "$STREAMS" -- \
  "$BIN" release Samples/hello-fleet/1.1.0 --app hello-fleet --version 1.1.0 --key Keys/demo-test-only.key --no-cache \
  --manifests "$work/Manifests" --node "127.0.0.1:$admin")
python3 - "$sse" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
extra = (r["rss_after_kib"] - r["rss_before_kib"]) / 1024
print(f"\n{r['streams']} open event streams: node RSS {r['rss_before_kib']/1024:.1f} -> {r['rss_after_kib']/1024:.1f} MiB "
      f"({extra:+.1f} MiB, {extra*1024*1024/r['streams']/1024:.1f} KiB per stream)")
print(f"release 1.1.0 to the node: the first stream heard the install after {r['first_ms']:.0f} ms (release, install), "
      f"the last {r['spread_ms']:.1f} ms after the first")
PY
