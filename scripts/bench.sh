#!/usr/bin/env bash
# make bench: times `bundlecast release` on a 1 GiB random file against b2sum on the
# same page-cached file, in the same run, and prints the ratio and peak memory; then a
# second release of a 1 GiB bundle of 64 files with 1 MiB changed, with the digest cache,
# against the first, and checks its manifest is byte-identical to a cache-less release.
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
  read -r s kib < <(measure "$BIN" release "$work/bundle" --app bench --version 1.0.0 --key "$work/bench.key" --manifests "$work/Manifests" --no-cache)
  echo "$s" >> "$work/rel"; echo "$kib" >> "$work/mem"
done
b2=$(median < "$work/b2"); rel=$(median < "$work/rel"); mem=$(sort -n "$work/mem" | tail -1)
mb=$(awk -v s="$SIZE_MB" 'BEGIN{print s*1048576/1e6}')
printf '%-34s %9s %10s %12s\n' "command ($SIZE_MB MiB, median of $RUNS)" seconds "MB/s" "peak RSS"
printf '%-34s %9.2f %10.0f %12s\n' "b2sum (BLAKE2b-512, 1 core)" "$b2" "$(awk -v m="$mb" -v s="$b2" 'BEGIN{print m/s}')" "-"
printf '%-34s %9.2f %10.0f %9.1f MiB\n' "bundlecast release" "$rel" "$(awk -v m="$mb" -v s="$rel" 'BEGIN{print m/s}')" "$(awk -v k="$mem" 'BEGIN{print k/1024}')"
printf 'ratio release/b2sum = %.2f (below 1 is faster); cores: %s\n' "$(awk -v a="$rel" -v b="$b2" 'BEGIN{print a/b}')" "$(nproc)"

# The digest cache: 64 files of SIZE_MB/64 MiB; a first release records them, then 1 MiB
# in the middle of one file is rewritten and a second release reads only that file.
mkdir "$work/multi" "$work/cache"
per=$((SIZE_MB / 64))
for i in $(seq -w 1 64); do
  dd if="$work/bundle/payload.bin" of="$work/multi/part-$i.bin" bs=1M skip="$(( (10#$i - 1) * per ))" count="$per" status=none
done
rm -f "$work/bundle/payload.bin"
# A release records only files whose last change is a second older than its start (a
# change in the same clock tick as the read could go unseen): let the new files age.
sleep 1.2
cat "$work/multi"/* > /dev/null
release=("$BIN" release "$work/multi" --app multi --version 1.0.0 --key "$work/bench.key" --cache-dir "$work/cache")
read -r first _ < <(measure "${release[@]}" --manifests "$work/M1")
dd if=/dev/urandom of="$work/multi/part-32.bin" bs=1M seek="$((per / 2))" count=1 conv=notrunc status=none
read -r second _ < <(measure "${release[@]}" --manifests "$work/M2")
read -r plain _ < <(measure "${release[@]}" --manifests "$work/M3" --no-cache)
cmp -s "$work/M2/multi/1.0.0.manifest" "$work/M3/multi/1.0.0.manifest" \
  || { echo "bench: the cached release's manifest differs from a cache-less release's" >&2; exit 1; }
printf '%-34s %9s\n' "release of $SIZE_MB MiB in 64 files" seconds
printf '%-34s %9.2f\n' "first (empty digest cache)" "$first"
printf '%-34s %9.2f\n' "second, 1 MiB changed (cache)" "$second"
printf '%-34s %9.2f\n' "second, --no-cache" "$plain"
printf 'ratio first/second = %.1f (goal >= 10); manifests with and without the cache byte-identical\n' \
  "$(awk -v a="$first" -v b="$second" 'BEGIN{print a/(b>0?b:0.01)}')"
