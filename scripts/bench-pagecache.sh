#!/usr/bin/env bash
# What writing new file data into the page cache costs the kernel, after the machine's
# free memory has been left idle for a while: the floor under every received chunk's
# copies (a node writes each chunk twice, to its store and to the staged tree).
#
# Usage: scripts/bench-pagecache.sh [SIZE_MB=512] [IDLE="0 0 5 15 30"]
#
# For each pause in IDLE (seconds), the script waits that long with the memory just
# freed, then writes SIZE_MB of zeros into a new file with dd and deletes it; it prints
# one line per write:
#   system=pagecache idle_s= size_mb= system_us_per_64k= seconds=
# system_us_per_64k is dd's system time per 64 KiB written (the size of a chunk).
#
# Why the pause matters: a virtual machine whose balloon device reports free pages to
# its host (virtio-balloon VIRTIO_BALLOON_F_REPORTING, feature bit 5; Firecracker's
# guests have it) hands memory that stayed free for a few seconds back to the host,
# unbacked. The next time the page cache takes such a page, the host faults it in and
# zeroes it, and that time is charged to whoever wrote: writes right after a write run
# at the warm cost, writes after a pause at up to several times it. The last line says
# whether this machine reports free pages.
set -euo pipefail

SIZE_MB=512
IDLE="0 0 5 15 30"
for arg in "$@"; do
  case "$arg" in
    SIZE_MB=*|IDLE=*) declare "$arg" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-pagecache: unknown argument: $arg (try --help)" >&2; exit 64 ;;
  esac
done
[[ "$SIZE_MB" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "bench-pagecache: SIZE_MB must be a whole number of MiB, 1 to 999999" >&2; exit 64; }
for p in $IDLE; do [[ "$p" =~ ^[0-9]{1,4}$ ]] || { echo "bench-pagecache: IDLE holds whole seconds (0 to 9999), not '$p'" >&2; exit 64; }; done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-pagecache.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
chunks=$(( SIZE_MB * 16 ))

for pause in $IDLE; do
  sleep "$pause"
  TIMEFORMAT='%3S %3R'
  read -r sys real < <( { time dd if=/dev/zero of="$DIR/probe" bs=1M count="$SIZE_MB" status=none; } 2>&1 )
  rm -f "$DIR/probe"
  awk -v p="$pause" -v m="$SIZE_MB" -v s="$sys" -v r="$real" -v n="$chunks" \
    'BEGIN { printf "system=pagecache idle_s=%d size_mb=%d system_us_per_64k=%.1f seconds=%.3f\n", p, m, s * 1e6 / n, r }'
done

reporting=unknown
for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
  [ -r "$d/features" ] || continue
  bits=$(cat "$d/features")
  if [ "${bits:5:1}" = 1 ]; then reporting=yes; else reporting=no; fi
done
[ -d /sys/bus/virtio/drivers/virtio_balloon ] || reporting=no-balloon
order=/sys/module/page_reporting/parameters/page_reporting_order
[ ! -r "$order" ] || reporting="$reporting (page_reporting_order $(cat "$order"); free blocks of that order and up are reported; scripts/bench-swarm.sh REPORTING=hold raises it past the largest order for its run)"
echo "# free page reporting to the host (virtio-balloon): $reporting" >&2
