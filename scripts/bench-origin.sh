#!/usr/bin/env bash
# Part of make bench: wrk against the origin's GET .../latest and against nginx serving
# the same notice as a static file, same connections and duration, in the same run.
# The two servers take turns for ROUNDS rounds and the medians are printed: loopback
# figures on a 2-core machine vary by a fifth from one run to the next.
# Usage: scripts/bench-origin.sh [path/to/bundlecast]  (CONNECTIONS=64 DURATION=5s THREADS=2 ROUNDS=3)
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
cd "$(dirname "$0")/.."
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

. scripts/wrk-lib.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-bench-origin.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The origin, with one real release announced to it.
"$BIN" origin --listen 127.0.0.1:0 --db "$work/origin.sqlite" --ready-file "$work/ready.json" \
  --trust hello-fleet=Keys/demo-test-only.pub --log-level warning 2> "$work/origin.log" &
pids+=($!); origin_pid=$!
for _ in $(seq 300); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
port=$(sed -E 's/.*"http":([0-9]+).*/\1/' "$work/ready.json")
"$BIN" release Samples/hello-fleet/1.0.0 --app hello-fleet --version 1.0.0 --key Keys/demo-test-only.key \
  --manifests "$work/Manifests" --origin "http://127.0.0.1:$port" > /dev/null

# nginx serving the same bytes as a static file.
mkdir -p "$work/www/v1/apps/hello-fleet/channels/stable"
chmod 755 "$work"   # nginx workers run as an unprivileged user
cp "$work/Manifests/hello-fleet/1.0.0.manifest.minisig" "$work/www/v1/apps/hello-fleet/channels/stable/latest"
chmod -R a+rX "$work/www"
start_nginx 1024 "" "root $work/www; etag on;" /v1/apps/hello-fleet/channels/stable/latest
cmp <(curl -sf "http://127.0.0.1:$port/v1/apps/hello-fleet/channels/stable/latest") \
    <(curl -sf "http://127.0.0.1:$nport/v1/apps/hello-fleet/channels/stable/latest")

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
for r in $(seq "$ROUNDS"); do
  run_wrk "http://127.0.0.1:$port/v1/apps/hello-fleet/channels/stable/latest" > "$work/origin.$r.wrk"
  run_wrk "http://127.0.0.1:$nport/v1/apps/hello-fleet/channels/stable/latest" > "$work/nginx.$r.wrk"
  for s in origin nginx; do
    if grep -qE 'Non-2xx|Socket errors' "$work/$s.$r.wrk"; then echo "bench: $s answered with errors:" >&2; cat "$work/$s.$r.wrk" >&2; exit 1; fi
  done
done
origin_rss=$(awk '/VmHWM/ {print $2}' "/proc/$origin_pid/status")
o=$(for r in $(seq "$ROUNDS"); do rps "$work/origin.$r.wrk"; done | median)
n=$(for r in $(seq "$ROUNDS"); do rps "$work/nginx.$r.wrk"; done | median)
op=$(for r in $(seq "$ROUNDS"); do p99_ms "$work/origin.$r.wrk"; done | median)
np=$(for r in $(seq "$ROUNDS"); do p99_ms "$work/nginx.$r.wrk"; done | median)
printf '\nGET latest notice: wrk -t%s -c%s -d%s on loopback, median of %s rounds, %s cores\n' "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf '%-28s %12s %10s %12s\n' server "requests/s" "p99 ms" "peak RSS"
printf '%-28s %12.0f %10.2f %9.1f MiB\n' "bundlecast origin" "$o" "$op" "$(awk -v k="$origin_rss" 'BEGIN{print k/1024}')"
printf '%-28s %12.0f %10.2f %12s\n' "nginx (static file)" "$n" "$np" "-"
printf 'ratio origin/nginx = %.2f\n' "$(awk -v a="$o" -v b="$n" 'BEGIN{print a/b}')"
