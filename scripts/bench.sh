#!/usr/bin/env bash
# make bench: times `bundlecast release` on a 1 GiB random file against b2sum on the
# same page-cached file, in the same run, and prints the ratio and peak memory.
# Usage: scripts/bench.sh [path/to/bundlecast]   (SIZE_MB=1024 RUNS=3 by default)
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/bundle"
head -c "$((SIZE_MB << 20))" /dev/urandom > "$work/bundle/payload.bin"
"$BIN" keygen --out "$work/bench" --unencrypted > /dev/null
cat "$work/bundle/payload.bin" > /dev/null   # page-cache it: both tools read from memory

# Prints "seconds peak_kib" for one command.
measure() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null; cat "$work/time"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/b2"; : > "$work/rel"; : > "$work/mem"
for i in $(seq "$RUNS"); do
  measure b2sum "$work/bundle/payload.bin" | awk '{print $1}' >> "$work/b2"
  rm -rf "$work/Manifests"
  read -r s kib < <(measure "$BIN" release "$work/bundle" --app bench --version 1.0.0 --key "$work/bench.key" --manifests "$work/Manifests")
  echo "$s" >> "$work/rel"; echo "$kib" >> "$work/mem"
done
b2=$(median < "$work/b2"); rel=$(median < "$work/rel"); mem=$(sort -n "$work/mem" | tail -1)
mb=$(awk -v s="$SIZE_MB" 'BEGIN{print s*1048576/1e6}')
printf '%-34s %9s %10s %12s\n' "command ($SIZE_MB MiB, median of $RUNS)" seconds "MB/s" "peak RSS"
printf '%-34s %9.2f %10.0f %12s\n' "b2sum (BLAKE2b-512, 1 core)" "$b2" "$(awk -v m="$mb" -v s="$b2" 'BEGIN{print m/s}')" "-"
printf '%-34s %9.2f %10.0f %9.1f MiB\n' "bundlecast release" "$rel" "$(awk -v m="$mb" -v s="$rel" 'BEGIN{print m/s}')" "$(awk -v k="$mem" 'BEGIN{print k/1024}')"
printf 'ratio release/b2sum = %.2f (below 1 is faster); cores: %s\n' "$(awk -v a="$rel" -v b="$b2" 'BEGIN{print a/b}')" "$(nproc)"
