#!/usr/bin/env bash
# bench-swarm.sh -- distribute one file to N nodes on loopback, three ways, in one run.
#
# One random file of SIZE_MB MiB (a one-file bundle) goes from one seed to N
# nodes, every uploader capped at RATE, and the script times:
#   (a) bittorrent:  opentracker + 1 aria2c seeder + N aria2c leechers, each
#       aria2c's total upload capped at RATE (--max-overall-upload-limit).
#       t0 = just before the N leechers are launched, once the tracker lists
#       the seeder as complete; end = the last leecher has the whole file
#       (aria2 has SHA-1-checked every piece) and has sha256-checked it
#       against the original (inside aria2's completion hook, so timed).
#   (b) http-origin: one HTTP origin (scripts/throttled_http.py) whose TOTAL
#       egress over all connections is capped at RATE, N concurrent curls.
#       t0 = just before the N curls are launched (server up); end = the last
#       client has the file and has sha256-checked it.
#   (c) bundlecast:  a seed node (--seed-only) and N nodes joined to it by
#       gossip, each with --max-upload-rate RATE. The release is signed and
#       its chunks uploaded into the seed BEFORE t0 (`release` without
#       --node, then `seed --no-announce`: chunking, hashing and signing are
#       not distribution). t0 = just before `bundlecast announce`; end = the
#       last node's DATA/apps/bench/current points at the new version
#       (polled every 50 ms). Then a delta release v2 (the v1 file with 1 MiB
#       of new random bytes inserted in the middle) is timed the same way.
#
# Usage:
#   scripts/bench-swarm.sh [--quick] [KEY=VALUE ...]
#   N=20 SIZE_MB=64 RATE=20M BIN=.build/release/bundlecast scripts/bench-swarm.sh
#   SKIP_BUNDLECAST=1 scripts/bench-swarm.sh --quick     # baselines only
#   scripts/install-bench-deps.sh                        # apt packages it needs
#
# Parameters (environment variables, or KEY=VALUE arguments):
#   N          nodes / leechers / clients, not counting the seed   (default 20)
#   SIZE_MB    file size in MiB (1 MiB = 1048576 bytes)             (default 64)
#   RATE       upload cap per uploader, in aria2's syntax: bytes/s, or with a
#              K/M/G suffix where K=1024, M=1048576, G=1073741824, so
#              RATE=20M is 20,971,520 B/s. The same string goes to aria2c
#              and to `bundlecast node --max-upload-rate`; the origin gets
#              the byte value as its total cap.                      (default 20M)
#   BIN        the bundlecast binary; a relative path is taken from the
#              current directory          (default REPO/.build/release/bundlecast)
#   TIMEOUT    deadline in seconds for each timed download phase  (default 300;
#              the origin gets at least 2 x its lower bound + 60)
#   SKIP_BUNDLECAST=1  run only (a) and (b): no bundlecast binary needed
#   SKIP_TORRENT=1, SKIP_ORIGIN=1   leave out (a) or (b)
#   KEEP=1     keep the temp dir (node logs, data dirs) for inspection
#   PERF=FILE  `perf record -a -g` during one release's transfer only, into FILE
#              (PERF_FREQ samples per second, default 499); `perf report -i FILE`
#   PERF_RELEASE  which release PERF records: v1 (default, the whole bundle) or
#              v2 (the delta)
#   COUNTS=1   count every system call, context switch and page fault of the nodes
#              and the seed during v1's transfer, and of aria2c and the tracker
#              during BitTorrent's (`perf record` of each event, which
#              slows the run: read its counts, not its times); adds syscalls_per_chunk,
#              switches_per_chunk, faults_per_chunk. Counts of work, unlike CPU time,
#              compare across machines and days (instructions per chunk:
#              scripts/bench-callgrind.sh)
#   WARM       1 (default): before each timed transfer, take and free as much memory
#              as it will write into the page cache, so that every system starts
#              on memory the host has backed (see warm_free_memory() below); 0:
#              leave memory as the machine has it
#   REPORTING  hold (default): while the script runs, stop the VM's free page
#              reporting to its host, if it has it and this is root (see
#              hold_reporting() below), and restore it at exit; leave: as it is
#   LOG_LEVEL  the nodes' --log-level (default info: a few lines per node and
#              release, from which the delta's breakdown is drawn: notice,
#              manifest, first peer / request / chunk, last chunk, staging,
#              fsync, install; warning leaves the breakdown out)
#   UPLOAD_ORDER  turns (default: each uploader serves its requesters in turn)
#              or arrival (in the order requests came; a hidden node flag, to
#              compare the two; `simulate swarm --uploads-in-arrival-order`)
#   EVENT_LOOPS  each node's --event-loops (default: the node's default, 1); to
#              compare with 2, NIO's default of a loop per core here
#   LINKS      loopback (default): every process on 127.0.0.1, every rate the
#              program's own cap (--max-upload-rate, --max-overall-upload-limit,
#              the origin's pacer). netns: every node, aria2c, seed and the
#              origin in its own network namespace, its UPLOAD capped by the
#              kernel (tbf on its veth) at RATE and no program cap at all.
#              netns-mixed: the same, but every 4th node (n4, n8, ...: a quarter
#              of them) has a SLOW_RATE link; the seed keeps RATE. Needs root,
#              ip(8) and tc(8); see "Network namespaces" below.
#   MIXED=1    with LINKS=netns, the same as LINKS=netns-mixed
#   PROGRAM_CAPS=1  in namespaces, ALSO give each program its link's rate as its own
#              cap, as on loopback (to compare; a bundlecast node paces, serves in
#              turns and super-seeds only with --max-upload-rate)
#   SLOW_RATE  the slow nodes' upload in netns-mixed, same syntax as RATE (default 5M)
#   TBF_BURST, TBF_LATENCY  the tbf bucket and queue (defaults 128k and 20ms; see below)
#   --quick    N=5 and SIZE_MB=16 unless N / SIZE_MB are given explicitly
#   --help     this text
#
# Output: one line per system on stdout, printed as soon as that system has
# been timed (progress and diagnostics go to stderr, prefixed "#"):
#   system=bittorrent  N= size_mb= rate= seconds= lower_bound= ratio=
#       cpu_us_per_chunk=            (aria2c's and the tracker's CPU per 64 KiB received)
#       system_us_per_chunk=         (its part spent in the kernel: system time)
#       pagecache_write_us=          (system time to write 64 KiB of a new file into the
#                                    page cache, probed right before the transfer; see
#                                    pagecache_write_us() below)
#       syscalls_per_chunk= switches_per_chunk= faults_per_chunk=   (with COUNTS=1)
#   system=http-origin N= size_mb= rate= seconds= lower_bound= ratio=
#   system=bundlecast  N= size_mb= rate= seconds= lower_bound= ratio=
#       v1_bytes_in_per_node=B1,...,BN v1_bytes_in_min= v1_bytes_in_max=
#       peak_rss_kib_max=            (max VmHWM over the N nodes after v1)
#       cpu_us_per_chunk=            (the nodes' and the seed's CPU per 64 KiB received)
#       system_us_per_chunk=         (its part spent in the kernel: system time)
#       pagecache_write_us=          (as above; a node writes each chunk twice)
#       syscalls_per_chunk= switches_per_chunk= faults_per_chunk=   (with COUNTS=1)
#       host_us_per_chunk= predicted= predicted_over_measured=
#           (the cores' whole busy time per 64 KiB received, and the seconds
#           `bundlecast simulate swarm` predicts given it; not for mixed links)
#   system=bundlecast-delta N= size_mb= rate= inserted_bytes=1048576 seconds=
#       v2_bytes_in_per_node=... v2_bytes_in_max= goal_max_bytes=1572864
#       goal=met|missed peak_rss_kib_max= seed_peak_rss_kib=   (VmHWM at the end)
#       over_local_copy=    (seconds / the local-copy line's seconds)
#   system=local-copy N= size_mb= seconds=
#       the delta's local floor on this host, timed right after it: N copies of the
#       v2 file written at once by dd, each made durable (conv=fsync), as each node
#       writes and syncs its whole new tree at install. N nodes on one host share
#       its disk and cores; on N hosts each would write only its own copy.
# After each release, stderr has its breakdown: for each milestone (notice accepted,
# manifest held, first peer, first request, first chunk, last chunk, held chunks
# staged, installed, current seen) the seconds after the announce over the
# nodes (min / median / max), and the durations of staging, fsync and install,
# read from the nodes' info log lines.
# bytes_in is `.self.transfer.bytesIn` from `bundlecast status --json` (chunk
# payload received from peers), as a difference across the release.
# seconds and lower_bound are in seconds; ratio = seconds / lower_bound.
#
# Lower bounds (F = file bytes, u_s = seed upload cap, u = node upload cap,
# both RATE here; downloads are not capped):
#   (a), (c): max(F/u_s, N*F/(u_s + N*u)). The seed must upload every byte
#       at least once (F/u_s), and N*F bytes must be received in all while
#       at most u_s + N*u bytes/s can be uploaded in all. This is the
#       minimum distribution time of a peer-assisted swarm (Kumar & Ross,
#       2006); with u_s = u it is F/RATE.
#   (b): N*F/RATE. Only the origin uploads and its total egress is RATE, so
#       the N*F bytes the clients need take at least that long.
#   With unequal uploads (LINKS=netns-mixed; u_i = node i's upload, RATE or
#   SLOW_RATE) the same two arguments give
#       max(F/u_s, N*F/(u_s + sum_i u_i))
#   (downloads are not capped, so no F/d_min term). 20 nodes, 64 MiB, u_s =
#   20 MiB/s, 5 slow at 5 MiB/s and 15 at 20 MiB/s: max(3.2, 1280/345) = 3.710 s.
#   In namespaces the cap counts whole frames (Ethernet + IP + TCP headers),
#   while F counts file bytes only, so at MTU 1500 no TCP stream can carry file
#   bytes faster than RATE x 1448/1514 (95.6%): ratio >= 1.046 in netns mode.
#   The bound is left at the link rate, as a link is sold, not at that figure.
#
# Pitfalls handled (learnt from the shared loopback baselines):
#   * Debian's opentracker only tracks whitelisted infohashes, and as root it
#     chroots into -d DIR and drops to "nobody": the whitelist is written
#     inside DIR and made world-readable.
#   * aria2's K/M are 1024-based; RATE is converted the same way everywhere.
#   * nginx-style limits are per connection; the origin here uses one shared
#     pacer, i.e. a total cap.
#   * Fixed ports (tracker, aria2c) are picked below the kernel's ephemeral
#     range, so no outgoing connection can take one before it is bound.
#   * Waits poll with deadlines; nothing sleeps and hopes.
#   * Each system writes gigabytes (N copies, plus bundlecast's store): before
#     every timed phase the script runs `sync`, so write-back left over from an
#     earlier phase or run does not steal CPU from the one being timed.
#
# Network namespaces (LINKS=netns, netns-mixed): a hub namespace bcb-hub holds
# a bridge br0 (10.250.0.1/16) and, for each host, one end of a veth pair
# whose other end is eth0 in that host's namespace: bcb-seed (10.250.0.10),
# bcb-n1 .. bcb-nN (10.250.0.11 on). Node i's eth0 gets
#     tc qdisc add dev eth0 root tbf rate RATE_BITS burst TBF_BURST latency TBF_LATENCY
# so what leaves the host, its upload, is shaped; what arrives is not. Nodes,
# aria2c and the seed bind their namespace's address (ports: 0 for bundlecast,
# as on loopback, read from ready.json; fixed ones for aria2c, since every
# namespace has its own port space); admin APIs bind 127.0.0.1 inside their
# namespace and the CLI reaches them with `ip netns exec`. The tracker sits on
# the bridge address in bcb-hub. The root namespace is not touched at all.
#   * tbf: RATE is bytes/s (20M = 20 MiB/s = 167,772,160 bit/s, not 160 Mbit).
#     The kernel charges a TSO/GSO packet its full length, every segment's
#     headers included, so TBF_BURST must hold the largest one (64 KiB +
#     headers), or tbf cuts each into 1514-byte segments in software (one
#     TCP stream at 20 MiB/s carried 18.9-19.0 MiB/s of payload with 16k
#     against 19.1 with 64k or 128k; a CPU difference did not show above the
#     noise of a shared machine). 128k holds it, and is 6 ms of credit at
#     20 MiB/s, 25 ms at 5 MiB/s. TBF_LATENCY bounds the queue (limit = rate
#     x latency + burst), so a full queue adds at most that much delay. With
#     many streams leaving one host it does fill: tbf dropped 3,000-8,000
#     packets over all links per 64 MiB release (TCP sends them again); the
#     script logs the count after each phase.
#   * bcb-hub sets net.bridge.bridge-nf-call-{ip,ip6,arp}tables=0 (these
#     are per namespace), so bridged frames skip netfilter when br_netfilter
#     is loaded; the root namespace's settings are left as they are.
#   * MTU 1500 on every veth and the bridge, as on an Ethernet LAN.
#   * Names start with bcb-; /run/bcb-bench-swarm.owner holds the pid of the
#     run that owns them. At start a run whose owner is gone is cleaned up
#     (processes still inside bcb-* namespaces stopped by pid, the
#     namespaces deleted: that removes every veth and the bridge), a live
#     owner makes the script refuse (exit 2). At exit, on failure or
#     Ctrl-C, and from the watchdog if the script is SIGKILLed, the same.
#
# Processes: every process it starts is tracked by pid and stopped on exit,
# failure or Ctrl-C (SIGTERM, wait, then SIGKILL what is left); the temp dir
# is removed unless KEEP=1. A watchdog does the same if the script itself is
# killed with SIGKILL. On loopback nothing system-wide is changed; in netns
# mode only the bcb-* namespaces (and what is inside them) are made, then removed.
# Exit: 0 all done; 1 a run failed (deadline, hash mismatch, a process died);
# 2 missing tool, binary or file; 64 bad arguments.
set -euo pipefail
export LC_ALL=C

usage() { awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; }
die() { echo "bench-swarm: $*" >&2; exit 2; }
# Before each timed phase: write back what earlier phases (and runs) left dirty, so the
# kernel's write-back of their gigabytes does not take CPU from the phase being timed.
settle() { sync; }

# System time (µs) the kernel spends writing 64 KiB of new file data into the page cache,
# probed with a 64 MiB write into a new file (then deleted) just before a system's timed
# transfer: the price of the free memory the transfer is about to take. It is the same work a
# received chunk costs per copy (bundlecast writes each chunk twice, to its store and
# to the staged tree; aria2c once), and on some VMs it varies severalfold with the hour:
# a guest that reports free memory to its host (virtio-balloon free page reporting, as
# on Firecracker) gets that memory back unbacked, so every page the page cache then
# takes is first faulted in by the host (scripts/bench-pagecache.sh shows it).
# With WARM=1 (the default), before each system's timed transfer: take as much memory as
# its transfer will write into the page cache and free it again (a file in /dev/shm), so
# that every system starts on memory the host has backed, whatever the machine did in
# the seconds before. Without it, the same code's kernel time per chunk varied twofold
# between runs on such a VM (docs/benchmarks.md). WARM=0 leaves memory as it is.
WARM_FILE=""
warm_free_memory() { # MiB
  [ "${WARM:-1}" = 1 ] || return 0
  local mb=$1 half dir=/dev/shm
  half=$(awk '/^MemAvailable:/ { print int($2 / 2048) }' /proc/meminfo)
  [ "$mb" -le "$half" ] || mb=$half
  [ -d "$dir" ] && [ -w "$dir" ] || dir=$TMP
  WARM_FILE=$(mktemp "$dir/bench-swarm-warm.XXXXXX")
  dd if=/dev/zero of="$WARM_FILE" bs=1M count="$mb" status=none || log "warming $mb MiB of free memory failed; timing anyway"
  rm -f "$WARM_FILE"
  WARM_FILE=""
}

# With REPORTING=hold (the default): a guest that reports free pages to its host hands
# back, within moments, whatever memory it frees, the warming above included (this
# Firecracker kernel reports after 0 ms: `min_free_ms`); then the page cache's next pages
# are faulted in by the host on the writer's clock, at several times the cost of backed
# ones (scripts/bench-pagecache.sh; docs/benchmarks.md). Raising `page_reporting_order` above the largest
# order the kernel's buddy allocator has (one column of /proc/buddyinfo per order) makes
# no free block large enough to report, for BitTorrent and bundlecast alike; the old value
# is put back at exit (cleanup, or the watchdog if the script is killed), from
# TMP/reporting.saved, which exists only while this run holds it. A value already at that
# height is left alone: another run, or the operator, holds it.
REPORTING_PARAM=/sys/module/page_reporting/parameters/page_reporting_order
hold_reporting() {
  [ "$REPORTING" = hold ] && [ -w "$REPORTING_PARAM" ] || return 0
  local now top
  now=$(cat "$REPORTING_PARAM") || return 0
  top=$(awk 'NR == 1 { print NF - 4 }' /proc/buddyinfo)
  [[ $now =~ ^[0-9]+$ && $top =~ ^[0-9]+$ ]] || return 0
  if [ "$now" -ge "$top" ]; then
    log "free page reporting is already held (page_reporting_order $now): left to the run or operator holding it, who may put it back during this run"
    return 0
  fi
  echo "$now" > "$TMP/reporting.saved"
  if echo "$top" > "$REPORTING_PARAM" 2>/dev/null && [ "$(cat "$REPORTING_PARAM")" = "$top" ]; then
    log "free page reporting to the host held for this run (page_reporting_order $now -> $top; put back at exit)"
  else
    rm -f "$TMP/reporting.saved"
    log "could not hold free page reporting (page_reporting_order stays $now)"
  fi
}
# Puts page_reporting_order back if this run raised it (from cleanup or the watchdog).
release_reporting() {
  local saved
  saved=$(cat "$TMP/reporting.saved" 2>/dev/null) || return 0
  echo "$saved" > "$REPORTING_PARAM" 2>/dev/null || echo "bench-swarm: could not restore $REPORTING_PARAM to $saved" >&2
  rm -f "$TMP/reporting.saved"
}

pagecache_write_us() {
  local f="$TMP/pagecache.probe" s
  s=$( { TIMEFORMAT=%3S; time dd if=/dev/zero of="$f" bs=1M count=64 status=none; } 2>&1 ) || s=""
  rm -f "$f"
  awk -v s="$s" 'BEGIN { if (s == "") print "-"; else printf "%.1f", s * 1e6 / 1024 }'
}

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) usage; exit 0 ;;
    N=*|SIZE_MB=*|RATE=*|BIN=*|TIMEOUT=*|SKIP_BUNDLECAST=*|SKIP_TORRENT=*|SKIP_ORIGIN=*|KEEP=*|LOG_LEVEL=*|UPLOAD_ORDER=*|EVENT_LOOPS=*|LINKS=*|MIXED=*|PROGRAM_CAPS=*|SLOW_RATE=*|TBF_BURST=*|TBF_LATENCY=*|WARM=*|REPORTING=*)
      declare "$arg" ;;
    *) echo "bench-swarm: unknown argument: $arg (try --help)" >&2; exit 64 ;;
  esac
done
if [ "$QUICK" = 1 ]; then N=${N:-5}; SIZE_MB=${SIZE_MB:-16}; fi
N=${N:-20}
SIZE_MB=${SIZE_MB:-64}
RATE=${RATE:-20M}
TIMEOUT=${TIMEOUT:-300}
SKIP_BUNDLECAST=${SKIP_BUNDLECAST:-0}
SKIP_TORRENT=${SKIP_TORRENT:-0}
SKIP_ORIGIN=${SKIP_ORIGIN:-0}
KEEP=${KEEP:-0}
REPORTING=${REPORTING:-hold}
case "$REPORTING" in hold|leave) ;; *) echo "bench-swarm: REPORTING must be hold or leave" >&2; exit 64 ;; esac
LOG_LEVEL=${LOG_LEVEL:-info}
if [ -n "${EVENT_LOOPS:-}" ]; then LOOP_ARGS=(--event-loops "$EVENT_LOOPS"); else LOOP_ARGS=(); fi
UPLOAD_ORDER=${UPLOAD_ORDER:-turns}
LINKS=${LINKS:-loopback}
MIXED=${MIXED:-0}
PROGRAM_CAPS=${PROGRAM_CAPS:-0}
SLOW_RATE=${SLOW_RATE:-5M}
TBF_BURST=${TBF_BURST:-128k}
TBF_LATENCY=${TBF_LATENCY:-20ms}
case "$LINKS/$MIXED" in
  loopback/0) NETNS=0 ;;
  netns/0) NETNS=1 MIXED=0 ;;
  netns/1|netns-mixed/0|netns-mixed/1) NETNS=1 MIXED=1 LINKS=netns-mixed ;;
  *) echo "bench-swarm: LINKS must be loopback, netns or netns-mixed, MIXED 0 or 1 (and only with netns)" >&2; exit 64 ;;
esac
case "$UPLOAD_ORDER" in turns) ORDER_ARGS=() ;; arrival) ORDER_ARGS=(--bench-uploads-in-arrival-order) ;; *) echo "bench-swarm: UPLOAD_ORDER must be turns or arrival" >&2; exit 64 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts
BIN=${BIN:-$ROOT/.build/release/bundlecast}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; *) BIN=$(command -v "$BIN" || echo "$BIN") ;; esac
KEY=$ROOT/Keys/demo-test-only.key
PUB=$ROOT/Keys/demo-test-only.pub
APP=bench
V1=1.0.0
V2=2.0.0
INSERT_BYTES=1048576            # v2 = v1 with this many new random bytes in the middle
DELTA_GOAL=$(( 3 * 1048576 / 2 ))   # goal for the most any node receives for v2: 1.5 MiB

[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "bench-swarm: N must be a positive integer" >&2; exit 64; }
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || { echo "bench-swarm: SIZE_MB must be a positive integer" >&2; exit 64; }
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "bench-swarm: TIMEOUT must be a positive integer" >&2; exit 64; }
[[ $RATE =~ ^[1-9][0-9]*[KkMmGg]?$ ]] || { echo "bench-swarm: RATE must be bytes/s with an optional K/M/G suffix, e.g. 20M (got '$RATE')" >&2; exit 64; }
[[ $SLOW_RATE =~ ^[1-9][0-9]*[KkMmGg]?$ ]] || { echo "bench-swarm: SLOW_RATE must be bytes/s with an optional K/M/G suffix, e.g. 5M (got '$SLOW_RATE')" >&2; exit 64; }
[[ $TBF_BURST =~ ^[1-9][0-9]*[kKmM]?b?$ && $TBF_LATENCY =~ ^[1-9][0-9]*(ms|us|s)$ ]] || { echo "bench-swarm: TBF_BURST is bytes as tc reads them (e.g. 128k), TBF_LATENCY a time (e.g. 20ms)" >&2; exit 64; }
if [ "$NETNS" = 1 ] && [ "$N" -gt 1000 ]; then echo "bench-swarm: LINKS=$LINKS takes at most N=1000 (a bridge has 1024 ports)" >&2; exit 64; fi

# aria2 size syntax -> bytes/s, exactly as aria2c reads it (K=1024, M=1024^2, G=1024^3).
to_bytes() {
  local v=$1
  case "$v" in
    *[kK]) echo $(( ${v%?} * 1024 )) ;;
    *[mM]) echo $(( ${v%?} * 1048576 )) ;;
    *[gG]) echo $(( ${v%?} * 1073741824 )) ;;
    *) echo $(( v )) ;;
  esac
}
RATE_B=$(to_bytes "$RATE")
SLOW_B=$(to_bytes "$SLOW_RATE")
F=$(( SIZE_MB * 1048576 ))
# Links: node i's upload in bytes/s (index 0 = the seed). On loopback and in netns
# every one is RATE; in netns-mixed every 4th node (n4, n8, ...) has SLOW_RATE.
SLOW_EVERY=4
declare -a UP_B=()
UP_SUM=0                       # sum of the N nodes' uploads, the seed not counted
N_SLOW=0
UP_B[0]=$RATE_B
for (( i = 1; i <= N; i++ )); do
  if [ "$MIXED" = 1 ] && (( i % SLOW_EVERY == 0 )); then UP_B[i]=$SLOW_B; N_SLOW=$(( N_SLOW + 1 )); else UP_B[i]=$RATE_B; fi
  UP_SUM=$(( UP_SUM + UP_B[i] ))
done

# --- tools and binary: fail fast, with one line ---------------------------------
need=(python3 awk)
[ "$NETNS" = 0 ] || need+=(ip tc flock)
[ "$SKIP_TORRENT" = 1 ] || need+=(aria2c opentracker mktorrent curl)
[ "$SKIP_ORIGIN" = 1 ] || need+=(curl)
for t in "${need[@]}"; do
  command -v "$t" >/dev/null 2>&1 || die "missing tool: $t (install with scripts/install-bench-deps.sh)"
done
if command -v openssl >/dev/null 2>&1; then HASH_CMD=(openssl dgst -sha256 -r)   # SHA-NI, ~4x coreutils
else HASH_CMD=(sha256sum); fi
[ -f "$HERE/throttled_http.py" ] || [ "$SKIP_ORIGIN" = 1 ] || die "missing $HERE/throttled_http.py"

if [ "$SKIP_BUNDLECAST" != 1 ]; then
  [ -x "$BIN" ] && [ -f "$BIN" ] || die "bundlecast binary not found at $BIN (build it with 'swift build -c release' or set BIN=...; SKIP_BUNDLECAST=1 runs only the bittorrent and http-origin baselines)"
  node_help=$("$BIN" node --help 2>&1 || true)      # captured: `| grep -q` could SIGPIPE it under pipefail
  grep -q -- --transfer <<<"$node_help" || die "$BIN does not support 'node --transfer' (a build without peer downloads); SKIP_BUNDLECAST=1 runs only the baselines"
  missing=()
  for flag in --max-upload-rate --stagger --seed-only; do grep -q -- "$flag" <<<"$node_help" || missing+=("node $flag"); done
  seed_help=$("$BIN" seed --help 2>&1 || true)
  grep -q -- --no-announce <<<"$seed_help" || missing+=("seed --no-announce")
  [ ${#missing[@]} = 0 ] || die "$BIN lacks ${missing[*]}; SKIP_BUNDLECAST=1 runs only the baselines"
  [ -f "$KEY" ] && [ -f "$PUB" ] || die "missing test key pair $KEY / $PUB"
fi

log() { echo "# $*" >&2; }
now() { echo "$EPOCHREALTIME"; }                   # (wait loops read $EPOCHREALTIME directly: $(now) forks)
usec() { local t=${1/./}; echo $(( 10#$t )); }     # "s.uuuuuu" -> integer microseconds
calc() { awk "BEGIN{printf \"%.3f\", $1}"; }
hash_of() { "${HASH_CMD[@]}" "$1" | cut -c1-64; }
exec {SLEEPFD}<> <(:)                              # never readable: `read -t` = sleep without a fork
nap() { read -r -t "$1" -u "$SLEEPFD" _ || true; }

# --- temp dir, process tracking, cleanup ------------------------------------------
T_SCRIPT0=$(now)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-swarm.XXXXXX")
chmod 755 "$TMP"                  # opentracker drops to "nobody" inside it
PIDFILE=$TMP/pids                 # every pid started, for the watchdog
: > "$PIDFILE"
PIDS=()                           # processes of the phase now running (phases run one after another)
WATCHDOG_PID=""
PHASE=""                          # the system being timed, for the failure message
track() { PIDS+=("$1"); echo "$1" >> "$PIDFILE"; }
untrack() { # pids already reaped by `wait`: never signal them again
  local p q keep=()
  for p in "${PIDS[@]}"; do
    for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
    keep+=("$p")
  done
  PIDS=("${keep[@]}")
}

# running PID: exists and is not a zombie (inside a trap bash does not reap
# its children, so `kill -0` alone would call an exited one alive). No fork.
running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  read -r st < "/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}
# stop_pids GRACE_TENTHS PID...: SIGTERM, wait up to GRACE, SIGKILL what is left, reap.
stop_pids() {
  local grace=$1 p i alive; shift
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for (( i = 0; i < grace; i++ )); do
    alive=0
    for p in "$@"; do running "$p" && { alive=1; break; }; done
    [ $alive = 0 ] && break
    nap 0.1
  done
  for p in "$@"; do
    if running "$p"; then log "pid $p still running ${grace}00 ms after SIGTERM; sending SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
end_phase() { stop_pids "${1:-50}" "${PIDS[@]}"; PIDS=(); : > "$PIDFILE"; }

# --- network namespaces (LINKS=netns, netns-mixed; see the header) --------------------
NS_OWNER=/run/bcb-bench-swarm.owner   # pid of the run that owns the bcb-* namespaces
NS_LOCK=/run/bcb-bench-swarm.lock     # held only while a run claims them
NS_HUB=bcb-hub
declare -A NS_OF=() IP_OF=()          # host (hub, seed, n1..nN) -> namespace ("" on loopback), address
HOSTS=(seed)
for (( i = 1; i <= N; i++ )); do HOSTS+=("n$i"); done
if [ "$NETNS" = 1 ]; then
  NS_OF[hub]=$NS_HUB; IP_OF[hub]=10.250.0.1
  for (( i = 0; i <= N; i++ )); do
    NS_OF[${HOSTS[i]}]=bcb-${HOSTS[i]}
    IP_OF[${HOSTS[i]}]=10.250.$(( (i + 10) / 256 )).$(( (i + 10) % 256 ))
  done
  LINK_FIELDS=" links=$LINKS"
  [ "$PROGRAM_CAPS" = 0 ] || LINK_FIELDS+=" program_caps=1"
  # The simulator's model of these links: tbf alone (--links kernel), or the programs' caps.
  if [ "$PROGRAM_CAPS" = 0 ]; then SIM_NOTE=" --links kernel"; SIM_ARGS=(--links kernel); else SIM_NOTE=" (which models the programs' caps, not tbf's frame bytes)"; SIM_ARGS=(); fi
  if [ "$MIXED" = 1 ]; then
    LINK_FIELDS+=" slow_rate=$SLOW_RATE slow_nodes=$N_SLOW"
    SIM_NOTE+=" (one rate for every node: the simulator has no mixed links)"
  fi
else
  for h in hub "${HOSTS[@]}"; do NS_OF[$h]=""; IP_OF[$h]=127.0.0.1; done
  LINK_FIELDS="" SIM_NOTE="" SIM_ARGS=()
fi
# The programs' own upload cap per host (aria2's syntax): on loopback always, in
# namespaces only with PROGRAM_CAPS=1; "" for none.
declare -A CAP_OF=()
for (( i = 0; i <= N; i++ )); do
  CAP_OF[${HOSTS[i]}]=""
  if [ "$NETNS" = 0 ] || [ "$PROGRAM_CAPS" = 1 ]; then
    if [ "${UP_B[i]}" = "$RATE_B" ]; then CAP_OF[${HOSTS[i]}]=$RATE; else CAP_OF[${HOSTS[i]}]=$SLOW_RATE; fi
  fi
done
# in_ns HOST CMD...: runs CMD in HOST's namespace, or right here on loopback.
in_ns() { local ns=${NS_OF[$1]}; shift; if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
# exec_in HOST CMD... &: the same for a process started in the background. A function run
# with & is a subshell, whose pid $! would be, with CMD its child; exec makes CMD that
# process (`ip netns exec` execs CMD in turn), so the pid tracked is CMD's own.
exec_in() {
  [ "$BASHPID" != $$ ] || { log "exec_in used outside a background subshell"; return 1; }
  local ns=${NS_OF[$1]}; shift
  if [ -n "$ns" ]; then exec ip netns exec "$ns" "$@"; else exec "$@"; fi
}

# Stops what still runs inside any bcb-* namespace (by pid: processes of this run, or of
# one that is gone), then deletes the namespaces; deleting bcb-hub removes the bridge
# and every veth pair with it.
netns_clear() {
  local ns p
  local -a spaces=() pids=()
  mapfile -t spaces < <(ip netns list 2>/dev/null | awk '$1 ~ /^bcb-/ { print $1 }')
  [ ${#spaces[@]} -gt 0 ] || return 0
  for ns in "${spaces[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${#pids[@]} processes still inside bcb-* namespaces: $(for p in "${pids[@]}"; do printf "%s(%s) " "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)"
    stop_pids 30 "${pids[@]}"
  fi
  for ns in "${spaces[@]}"; do ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"; done
}
# Claims the bcb-* names for this run, under the lock: refuses if a live run owns them,
# cleans up what a dead one left.
netns_claim() {
  local owner=""
  [ -r "$NS_OWNER" ] && read -r owner < "$NS_OWNER"
  if [[ $owner =~ ^[0-9]+$ ]] && [ "$owner" != $$ ] && running "$owner" && grep -qa bench-swarm "/proc/$owner/cmdline" 2>/dev/null; then
    die "another LINKS=netns run (pid $owner) owns the bcb-* namespaces; wait for it to end"
  fi
  [ -z "$(ip netns list 2>/dev/null | awk '$1 ~ /^bcb-/')" ] || log "removing bcb-* namespaces left by an earlier run${owner:+ (pid $owner)}"
  netns_clear
  echo $$ > "$NS_OWNER"
}
# Undoes netns_up, if this run owns the names (cleanup and watchdog both call it).
netns_release() {
  local owner=""
  [ -r "$NS_OWNER" ] && read -r owner < "$NS_OWNER"
  [ "$owner" = $$ ] || return 0
  netns_clear
  rm -f "$NS_OWNER"
}
# The hub, its bridge, and one namespace per host with its upload shaped by tbf.
netns_up() {
  local i h ns k
  ip netns add "$NS_HUB"
  ip -n "$NS_HUB" link set lo up
  ip -n "$NS_HUB" link add br0 type bridge
  ip -n "$NS_HUB" link set br0 addrgenmode none
  ip -n "$NS_HUB" addr add "${IP_OF[hub]}/16" dev br0
  ip -n "$NS_HUB" link set br0 up
  # bridged frames skip netfilter (the settings are per namespace; only bcb-hub's change)
  if ip netns exec "$NS_HUB" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
    ip netns exec "$NS_HUB" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 >/dev/null
  fi
  for (( i = 0; i <= N; i++ )); do
    h=${HOSTS[i]}; ns=${NS_OF[$h]}
    ip netns add "$ns"
    ip -n "$NS_HUB" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$NS_HUB" link set "v$i" addrgenmode none
    ip -n "$NS_HUB" link set "v$i" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 addrgenmode none       # no IPv6 link-local chatter on the links
    ip -n "$ns" addr add "${IP_OF[$h]}/16" dev eth0
    ip -n "$ns" link set eth0 up
    tc -n "$ns" qdisc add dev eth0 root tbf rate "$(( UP_B[i] * 8 ))bit" burst "$TBF_BURST" latency "$TBF_LATENCY"
  done
  for (( k = 0; k < 100; k++ )); do             # every bridge port forwarding (STP is off)
    [ "$(bridge -n "$NS_HUB" link show | grep -c 'state forwarding')" -ge $(( N + 1 )) ] && break
    nap 0.05
  done
  local slow=""
  for (( i = 1; i <= N; i++ )); do [ "${UP_B[i]}" = "$RATE_B" ] || slow+=" n$i"; done
  log "netns: $(( N + 1 )) namespaces on br0 in $NS_HUB (${IP_OF[hub]}/16); uploads by tbf: seed ${IP_OF[seed]} and nodes at $RATE ($(( RATE_B * 8 )) bit/s)${slow:+, at $SLOW_RATE ($(( SLOW_B * 8 )) bit/s):$slow}; burst $TBF_BURST, latency $TBF_LATENCY"
}
# Frames sent and packets tbf dropped over every host's link since the last call (a log line).
LINK_SENT=0 LINK_DROPPED=0
link_stats() {
  [ "$NETNS" = 1 ] || return 0
  local h sent dropped
  read -r sent dropped < <(for h in "${HOSTS[@]}"; do tc -s -n "${NS_OF[$h]}" qdisc show dev eth0; done |
    awk '/Sent/ { s += $2; d += $7 } END { printf "%.0f %.0f\n", s, d }')   # not %d: mawk clamps it at 2^31-1
  log "$1: the links carried $(calc "($sent - $LINK_SENT) / 1048576") MiB of frames, tbf dropped $(( dropped - LINK_DROPPED )) packets"
  LINK_SENT=$sent LINK_DROPPED=$dropped
}
# The machine's CPU, in clock ticks over all cores: "busy total softirq" (busy counts
# softirq, where most of the veth, bridge and TCP work of the namespaces is done).
host_cpu() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6, $8 }' /proc/stat; }
# CPU ticks (user + system) PIDs have used so far; no fork.
pids_cpu() {
  local p st sum=0 sys=0
  local -a f
  for p in "$@"; do
    read -r st < "/proc/$p/stat" 2>/dev/null || continue
    read -r -a f <<<"${st##*) }"
    sum=$(( sum + f[11] + f[12] )); sys=$(( sys + f[12] ))
  done
  echo "$sum $sys"
}
# label "busy0 total0 softirq0" "busy1 total1 softirq1" OWN_CPU_SECONDS WHOSE: where the
# machine's CPU went over a timed phase: the measured processes, and everything else
# (this script, write-back, and any other work on the machine: a large figure there
# means the run shared the cores). Softirq is shown as a part of the total; without
# IRQ time accounting the kernel also charges it to the process it interrupted.
host_cpu_log() {
  local b0 t0 s0 b1 t1 s1; read -r b0 t0 s0 <<<"$2"; read -r b1 t1 s1 <<<"$3"
  log "$1: $(awk -v b=$(( b1 - b0 )) -v t=$(( t1 - t0 )) -v s=$(( s1 - s0 )) -v o="$4" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" -v who="$5" 'BEGIN {
    r = b / hz - o; if (r < 0) r = 0
    printf "the machine'"'"'s %d cores were %.0f%% busy (%.2f CPU seconds, softirq %.2f of them): %s %.2f, everything else %.2f", n, t ? 100 * b / t : 0, b / hz, s / hz, who, o, r }')"
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ "$rc" = 0 ] || log "FAILED${PHASE:+ during $PHASE} (exit $rc); stopping everything this script started"
  if [ -n "$WATCHDOG_PID" ]; then kill -TERM "$WATCHDOG_PID" 2>/dev/null; wait "$WATCHDOG_PID" 2>/dev/null; fi
  stop_pids 100 "${PIDS[@]}"
  [ "$NETNS" = 0 ] || netns_release
  release_reporting
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  [ -z "$WARM_FILE" ] || rm -f "$WARM_FILE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# If this script dies without running cleanup (SIGKILL), stop what it left.
watchdog() {
  set +e
  trap - EXIT INT TERM
  local main=$1 p
  while kill -0 "$main" 2>/dev/null; do nap 1; done
  while read -r p; do kill -TERM "$p" 2>/dev/null; done < "$PIDFILE"
  nap 3
  while read -r p; do kill -KILL "$p" 2>/dev/null; done < "$PIDFILE"
  [ "$NETNS" = 0 ] || netns_release
  release_reporting
  [ "$KEEP" = 1 ] || rm -rf "$TMP"
}
watchdog $$ &
WATCHDOG_PID=$!
hold_reporting

if [ "$NETNS" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "LINKS=$LINKS needs root (ip netns, tc)"
  ( flock -w 60 9 || die "could not lock $NS_LOCK"; netns_claim ) 9>>"$NS_LOCK" || exit $?
  PHASE=netns-setup
  netns_up
  PHASE=""
fi

# Free TCP ports on 127.0.0.1 below the kernel's ephemeral range.
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
lo = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
cand = list(range(10000, max(10001, min(lo, 32768)))); random.shuffle(cand)
held, out = [], []
for p in cand:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', p))
    except OSError:
        s.close(); continue
    held.append(s); out.append(p)
    if len(out) == n: break
print(' '.join(map(str, out)))
EOF
}

# lower bounds (see the header): swarm = max(F/u_s, N*F/(u_s + sum_i u_i)),
# which is max(F/u_s, N*F/(u_s+N*u)) when every u_i = u; origin = N*F/RATE
LB_SWARM=$(awk -v F="$F" -v us="${UP_B[0]}" -v sum="$UP_SUM" -v n="$N" \
  'BEGIN{a=F/us; b=n*F/(us+sum); printf "%.3f", (a>b?a:b)}')
LB_ORIGIN=$(calc "$N * $F / $RATE_B")
ratio() { awk -v s="$1" -v l="$2" 'BEGIN{printf "%.2f", s/l}'; }

# --- the payload ---------------------------------------------------------------------
mkdir -p "$TMP/src"
head -c "$F" /dev/urandom > "$TMP/src/payload.bin"
chmod 644 "$TMP/src/payload.bin"
REF=$(hash_of "$TMP/src/payload.bin")
log "N=$N SIZE_MB=$SIZE_MB RATE=$RATE ($RATE_B B/s); payload sha256=$REF; temp dir $TMP"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work on the machine takes CPU from the runs)"

# ===================================================================================
# (a) BitTorrent: opentracker + aria2c
# ===================================================================================
# COUNTS=1: every system call, context switch and page fault on the machine, recorded into
# FILE from counts_start to counts_stop; counts_fields keeps one system's processes.
COUNT_PID=""
counts_start() { # file
  [ -n "${COUNTS:-}" ] || return 0
  perf record -a -c 1 -e raw_syscalls:sys_enter -e sched:sched_switch -e page-faults -o "$1" >/dev/null 2>&1 &
  COUNT_PID=$!
  track "$COUNT_PID"
  nap 0.5
}
counts_stop() {
  [ -n "$COUNT_PID" ] || return 0
  kill -INT "$COUNT_PID" 2>/dev/null; wait "$COUNT_PID" 2>/dev/null || true
  untrack "$COUNT_PID"
  COUNT_PID=""
}
counts_fields() { # label whose helper.py file "name:pid"... -> " syscalls_per_chunk=... ..." (nothing without COUNTS)
  [ -n "${COUNTS:-}" ] || return 0
  local label=$1 whose=$2 helper=$3 file=$4 sc sw pf top; shift 4
  if [ -s "$file" ] && read -r sc sw pf top < <(python3 "$helper" counts "$file" "$(( N * F / 65536 ))" "$@"); then
    log "$label: per 64 KiB received, $whose made $sc system calls ($top), $sw context switches, $pf page faults"
    echo " syscalls_per_chunk=$sc switches_per_chunk=$sw faults_per_chunk=$pf"
  else
    log "$label: COUNTS: no counts (perf record wrote nothing to read)"
  fi
}

run_torrent() {
  local T="$TMP/bt" i
  mkdir -p "$T/seed" "$T/tracker" "$T/logs"
  chmod 755 "$T" "$T/tracker"
  cp "$TMP/src/payload.bin" "$T/seed/payload.bin"

  local -a ports
  if [ "$NETNS" = 1 ]; then        # every namespace has its own ports: fixed ones will do
    ports=(6969); for (( i = 0; i <= N; i++ )); do ports+=(6881); done
  else
    read -r -a ports <<<"$(free_ports $(( N + 2 )))"
    [ ${#ports[@]} = $(( N + 2 )) ] || { log "not enough free ports"; return 1; }
  fi
  local tport=${ports[0]}          # ports[1] = seeder, ports[1+i] = leecher i
  local thost=${IP_OF[hub]}        # the tracker: on loopback, or on the bridge in bcb-hub
  local announce="http://$thost:$tport/announce"
  mktorrent -a "$announce" -l 18 -o "$T/payload.torrent" "$T/seed/payload.bin" >/dev/null   # 256 KiB pieces
  local ih
  ih=$(aria2c -S "$T/payload.torrent" | awk '/^Info Hash:/ {print $3}')
  [ ${#ih} = 40 ] || { log "could not read the torrent's infohash"; return 1; }

  # Debian's opentracker tracks only whitelisted infohashes. As root it chroots
  # to -d and runs as -u, so the whitelist path is inside the chroot and
  # world-readable; as another user it cannot chroot and takes the real path.
  echo "$ih" > "$T/tracker/whitelist.txt"; chmod 644 "$T/tracker/whitelist.txt"
  local -a tr_args=(-i "$thost" -p "$tport" -d "$T/tracker")   # TCP only; no -P: no UDP
  if [ "$(id -u)" = 0 ]; then tr_args+=(-w /whitelist.txt -u nobody); else tr_args+=(-w "$T/tracker/whitelist.txt"); fi
  exec_in hub opentracker "${tr_args[@]}" >"$T/logs/tracker.log" 2>&1 &
  track $!
  local tracker_pid=$! ok=0
  for (( i = 0; i < 100; i++ )); do
    in_ns hub curl -s --max-time 1 -o /dev/null "http://$thost:$tport/stats" && { ok=1; break; }
    kill -0 "$tracker_pid" 2>/dev/null || break
    nap 0.05
  done
  [ $ok = 1 ] || { log "opentracker did not come up:"; cat "$T/logs/tracker.log" >&2; return 1; }

  local seed_min=$(( TIMEOUT / 60 + 10 ))     # seed "forever": until this script stops them
  local -a common=(
    --no-conf=true --quiet=true
    --disable-ipv6=true
    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false
    --enable-peer-exchange=true
    --seed-ratio=0.0 --seed-time="$seed_min"
    --file-allocation=none --auto-file-renaming=false --allow-overwrite=true
    --stop-with-process=$$
  )
  # on loopback aria2c caps itself; in namespaces the kernel does (0: no cap of its own),
  # and with PROGRAM_CAPS=1 both
  exec_in seed aria2c "${common[@]}" --max-overall-upload-limit="${CAP_OF[seed]:-0}" --interface="${IP_OF[seed]}" --dir="$T/seed" --check-integrity=true --listen-port="${ports[1]}" \
    --log="$T/logs/seed.log" --log-level=notice "$T/payload.torrent" >"$T/logs/seed.out" 2>&1 &
  track $!
  local seed_pid=$! r ih_esc
  ih_esc=$(echo "$ih" | sed 's/../%&/g')
  ok=0
  for (( i = 0; i < 600; i++ )); do     # until the tracker's scrape lists the seeder as complete
    r=$(in_ns hub curl -s --max-time 2 "http://$thost:$tport/scrape?info_hash=$ih_esc" | tr -d '\0' || true)
    if [[ $r == *8:completei[1-9]* ]]; then ok=1; break; fi
    kill -0 "$seed_pid" 2>/dev/null || break
    nap 0.1
  done
  [ $ok = 1 ] || { log "the aria2c seeder never showed up as complete on the tracker"; tail -5 "$T/logs/seed.log" >&2; return 1; }

  # completion hook, run by each leecher: one line "t_complete t_hashed sha256 path"
  local done_log="$T/done.log"; : > "$done_log"
  cat > "$T/hook.sh" <<EOF
#!/bin/sh
# aria2 passes GID NUM_FILES PATH
t1=\$(date +%s.%6N)
h=\$(${HASH_CMD[*]} "\$3" | cut -c1-64)
t2=\$(date +%s.%6N)
echo "\$t1 \$t2 \$h \$3" >> "$done_log"
EOF
  chmod +x "$T/hook.sh"
  for i in $(seq 1 "$N"); do mkdir -p "$T/n$i"; done
  log "bittorrent: tracker + seeder up; leechers start now"

  settle
  warm_free_memory $(( N * SIZE_MB + 256 ))
  local bt_pagecache; bt_pagecache=$(pagecache_write_us)
  local cpu0 own0 sys0; cpu0=$(host_cpu); read -r own0 sys0 < <(pids_cpu "${PIDS[@]}")
  # Counted over the tracker and every aria2c; perf is in PIDS only until counts_stop, so
  # its CPU is not theirs.
  [ -z "${COUNTS:-}" ] || write_helper "$T/helper.py"
  counts_start "$T/counts.data"
  local t0; t0=$(now)
  for (( i = 1; i <= N; i++ )); do
    exec_in "n$i" aria2c "${common[@]}" --max-overall-upload-limit="${CAP_OF[n$i]:-0}" --interface="${IP_OF[n$i]}" --dir="$T/n$i" --listen-port="${ports[$(( i + 1 ))]}" \
      --on-bt-download-complete="$T/hook.sh" \
      --log="$T/logs/n$i.log" --log-level=notice "$T/payload.torrent" >"$T/logs/n$i.out" 2>&1 &
    track $!
  done
  local deadline=$(( $(usec "$t0") + TIMEOUT * 1000000 )) p t_us
  local -a lines
  while :; do                     # builtins only while the swarm runs
    mapfile -t lines < "$done_log"
    [ ${#lines[@]} -ge "$N" ] && break
    t_us=${EPOCHREALTIME/./}
    if (( 10#$t_us > deadline )); then
      log "bittorrent: TIMEOUT after ${TIMEOUT}s: ${#lines[@]}/$N leechers done"; return 1
    fi
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || { log "bittorrent: pid $p exited early"; return 1; }; done
    nap 0.05
  done
  counts_stop
  local cpu1 own sys; cpu1=$(host_cpu); read -r own sys < <(pids_cpu "${PIDS[@]}")
  local -a count_spec=(); for p in "${PIDS[@]}"; do count_spec+=("p:$p"); done
  local count_fields; count_fields=$(counts_fields bittorrent "aria2c and the tracker" "$T/helper.py" "$T/counts.data" "${count_spec[@]}")
  end_phase 50
  host_cpu_log bittorrent "$cpu0" "$cpu1" "$(calc "$(( own - own0 )) / $(getconf CLK_TCK)")" "aria2c (seeder, leechers) and the tracker"
  # The same measure as bundlecast's cpu_us_per_chunk: aria2c's and the tracker's CPU per 64 KiB received.
  per_chunk_us() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$N" -v f="$F" 'BEGIN { printf "%.0f", t / hz * 1e6 / (n * f / 65536) }'; }
  local bt_chunk_us bt_sys_us; bt_chunk_us=$(per_chunk_us $(( own - own0 ))); bt_sys_us=$(per_chunk_us $(( sys - sys0 )))
  link_stats bittorrent

  local bad=0 t1 t2 h path n_files
  while read -r t1 t2 h path; do
    [ "$h" = "$REF" ] || { log "bittorrent: HASH MISMATCH in $path ($h)"; bad=1; }
  done < "$done_log"
  n_files=$(awk '{print $4}' "$done_log" | sort -u | wc -l)
  [ "$n_files" = "$N" ] || { log "bittorrent: expected $N distinct copies, got $n_files"; bad=1; }
  [ $bad = 0 ] || return 1
  local secs first last_complete
  read -r secs first last_complete < <(sort -n "$done_log" | awk -v t0="$t0" '
    NR == 1 { f = $1 - t0 } { c = $1 - t0; if ($2 - t0 > v) v = $2 - t0 }
    END { printf "%.3f %.3f %.3f\n", v, f, c }')
  log "bittorrent: first leecher complete at ${first}s, last at ${last_complete}s, last sha256 done at ${secs}s"
  rm -rf "$T"
  BT_SECS=$secs
  echo "system=bittorrent N=$N size_mb=$SIZE_MB rate=$RATE seconds=$secs lower_bound=$LB_SWARM ratio=$(ratio "$secs" "$LB_SWARM") cpu_us_per_chunk=$bt_chunk_us system_us_per_chunk=$bt_sys_us pagecache_write_us=$bt_pagecache$count_fields$LINK_FIELDS"
}

# ===================================================================================
# (b) One HTTP origin, total egress capped at RATE, N concurrent curls
# ===================================================================================
run_origin() {
  local O="$TMP/origin" i
  mkdir -p "$O/www"
  cp "$TMP/src/payload.bin" "$O/www/payload.bin"
  # a generous deadline: the bound itself is N*F/RATE
  local limit; limit=$(awk -v l="$LB_ORIGIN" -v t="$TIMEOUT" 'BEGIN{x=int(2*l+60); print (x>t?x:t)}')
  # in namespaces the origin is the seed's host, capped by its link, so its own pacer is
  # set far above it (1 TB/s)
  local port pace=$RATE_B
  if [ "$NETNS" = 1 ]; then port=8080; pace=1000000000000; else port=$(free_ports 1); fi
  local url="http://${IP_OF[seed]}:$port/payload.bin"
  exec_in seed python3 "$HERE/throttled_http.py" --bind "${IP_OF[seed]}" --port "$port" --rate "$pace" \
    --file "$O/www/payload.bin" >"$O/server.log" 2>&1 &
  track $!
  local server_pid=$! ok=0
  for (( i = 0; i < 200; i++ )); do
    if [ "$(in_ns hub curl -s -I --max-time 1 -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" = 200 ]; then ok=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    nap 0.05
  done
  [ $ok = 1 ] || { log "http-origin: server did not come up:"; cat "$O/server.log" >&2; return 1; }
  for i in $(seq 1 "$N"); do mkdir -p "$O/c$i"; done
  log "http-origin: server up on $url (total cap $RATE_B B/s); clients start now"

  settle
  local t0; t0=$(now)
  local -a clients=()
  for (( i = 1; i <= N; i++ )); do
    local d="$O/c$i"
    (
      c=""
      trap '[ -n "$c" ] && kill -TERM "$c" 2>/dev/null; exit 143' TERM
      exec_in "n$i" curl -sS --max-time "$limit" -o "$d/payload.bin" "$url" 2>"$d/curl.err" &
      c=$!
      echo "$c" >> "$PIDFILE"
      rc=0; wait "$c" || rc=$?
      c=""
      t1=$EPOCHREALTIME
      h=$("${HASH_CMD[@]}" "$d/payload.bin" 2>/dev/null | cut -c1-64)
      t2=$EPOCHREALTIME
      echo "$t1 $t2 ${h:--} $rc" > "$d/done"
    ) &
    track $!
    clients+=($!)
  done
  for i in "${clients[@]}"; do wait "$i" || true; done
  untrack "${clients[@]}"
  end_phase 50
  link_stats http-origin

  local bad=0 t1 t2 h rc
  for (( i = 1; i <= N; i++ )); do
    [ -f "$O/c$i/done" ] || { log "http-origin: client $i did not finish"; bad=1; continue; }
    read -r t1 t2 h rc < "$O/c$i/done"
    [ "$rc" = 0 ] || { log "http-origin: client $i: curl exit $rc: $(head -c 300 "$O/c$i/curl.err")"; bad=1; }
    [ "$h" = "$REF" ] || { log "http-origin: client $i: HASH MISMATCH ($h)"; bad=1; }
    echo "$t1 $t2"
  done > "$O/done.log"
  [ $bad = 0 ] || return 1
  local secs first last_complete
  read -r secs first last_complete < <(sort -n "$O/done.log" | awk -v t0="$t0" '
    NR == 1 { f = $1 - t0 } { c = $1 - t0; if ($2 - t0 > v) v = $2 - t0 }
    END { printf "%.3f %.3f %.3f\n", v, f, c }')
  log "http-origin: first client complete at ${first}s, last at ${last_complete}s, last sha256 done at ${secs}s; effective total rate $(calc "$N * $F / $last_complete / 1048576") MiB/s"
  rm -rf "$O"
  echo "system=http-origin N=$N size_mb=$SIZE_MB rate=$RATE seconds=$secs lower_bound=$LB_ORIGIN ratio=$(ratio "$secs" "$LB_ORIGIN")$LINK_FIELDS"
}

# ===================================================================================
# (c) Bundlecast: a --seed-only node + N nodes, gossip + peer transfer
# ===================================================================================
# One Python helper for the polling (one process instead of a fork per check).
write_helper() {
  cat > "$1" <<'PY'
import json, os, subprocess, sys, time

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).rstrip()
    except OSError:
        return "(no log)"

def nodes(args):  # "name:dir:pid" ...
    out = []
    for a in args:
        name, d, pid = a.split(":")
        out.append((name, d, int(pid)))
    return out

def fail(msg):
    print("bench-swarm: " + msg, file=sys.stderr)
    sys.exit(1)

def cmd_ready(timeout, logdir, *spec):
    """Wait for every DIR/ready.json; print "name gossip admin transfer pid"."""
    deadline = time.time() + float(timeout)
    todo = {n: (d, p) for n, d, p in nodes(spec)}
    got = {}
    while todo:
        for n, (d, p) in list(todo.items()):
            try:
                with open(os.path.join(d, "ready.json")) as f:
                    r = json.load(f)
                got[n] = (int(r["gossip"]), int(r["admin"]), int(r["transfer"]), int(r.get("pid", p)))
                del todo[n]
                continue
            except (OSError, ValueError, KeyError, TypeError):
                pass
            if not alive(p):
                fail("node %s (pid %d) exited before writing ready.json; its log ends:\n%s"
                     % (n, p, tail(os.path.join(logdir, n + ".log"))))
        if not todo:
            break
        if time.time() > deadline:
            fail("no ready.json within %ss from: %s" % (timeout, " ".join(sorted(todo))))
        time.sleep(0.05)
    for n, _, _ in nodes(spec):
        print(n, *got[n])

def status(binary, admin, ns=""):
    # the admin API listens on 127.0.0.1 in the node's namespace (ns; "" = this one)
    r = subprocess.run((["ip", "netns", "exec", ns] if ns else []) + [binary, "status", "--node", "127.0.0.1:%s" % admin, "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError((r.stderr or r.stdout).strip()[:300])
    return json.loads(r.stdout)

def cmd_members(timeout, binary, admin, expected, ns=""):
    """Wait until the node at ADMIN (in namespace NS) lists EXPECTED members, all alive."""
    deadline = time.time() + float(timeout)
    last = "no answer"
    while True:
        try:
            s = status(binary, admin, ns)
            states = [m.get("state") for m in s.get("members", [])]
            n_alive = sum(1 for x in states if x == "alive")
            if n_alive == int(expected) and len(states) == int(expected):
                return
            last = "%d alive of %d members" % (n_alive, len(states))
        except Exception as e:  # not up yet, or a malformed answer
            last = str(e)
        if time.time() > deadline:
            fail("the fleet did not converge within %ss: the seed sees %s, expected %s alive" % (timeout, last, expected))
        time.sleep(0.2)

def cmd_installed(timeout, version, app, startfile, logdir, *spec):
    """Poll DIR/apps/APP/current every 50 ms until all point at VERSION.
    Prints "name epoch_seconds" per node, in spec order."""
    deadline = time.time() + float(timeout)
    todo = nodes(spec)
    done = {}
    open(startfile, "w").close()          # tells the script polling has begun
    while True:
        t = time.time()
        for n, d, p in todo:
            if n in done:
                continue
            try:
                target = os.readlink(os.path.join(d, "apps", app, "current"))
            except OSError:
                target = None
            if target is not None and (target == version or os.path.basename(target.rstrip("/")) == version):
                done[n] = t
            elif not alive(p):
                fail("node %s (pid %d) exited before installing %s; its log ends:\n%s"
                     % (n, p, version, tail(os.path.join(logdir, n + ".log"))))
        if len(done) == len(todo):
            break
        if time.time() > deadline:
            missing = [n for n, _, _ in todo if n not in done]
            fail("%d of %d nodes did not install %s %s within %ss: %s"
                 % (len(missing), len(todo), app, version, timeout, " ".join(missing)))
        time.sleep(0.05)
    for n, _, _ in todo:
        print(n, "%.6f" % done[n])

def cmd_counters(binary, *spec):  # "name:admin:namespace" ... (namespace "" on loopback)
    """Print "name bytesIn bytesOut" from each node's status --json."""
    for a in spec:
        n, admin, ns = a.split(":")
        try:
            s = status(binary, admin, ns)
            t = s["self"]["transfer"]
            print(n, int(t["bytesIn"]), int(t["bytesOut"]), int(t.get("resentToOthers") or 0), int(t.get("resentToSame") or 0))
        except Exception as e:
            fail("node %s: no .self.transfer.bytesIn/bytesOut in `status --json`: %s" % (n, e))

# x86-64 numbers of the calls a node makes most (others print as "nr N").
SYSCALL_NAMES = {0: "read", 1: "write", 3: "close", 9: "mmap", 11: "munmap", 16: "ioctl", 17: "pread64", 7: "poll", 8: "lseek", 12: "brk", 32: "dup", 41: "socket", 49: "bind", 72: "fcntl", 271: "ppoll", 286: "timerfd_settime", 292: "dup3", 284: "eventfd", 290: "eventfd2",
                 18: "pwrite64", 19: "readv", 20: "writev", 28: "madvise", 40: "sendfile", 44: "sendto",
                 45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 74: "fsync", 75: "fdatasync",
                 202: "futex", 230: "clock_nanosleep", 232: "epoll_wait", 233: "epoll_ctl",
                 257: "openat", 262: "newfstatat", 277: "sync_file_range", 281: "epoll_pwait",
                 288: "accept4", 295: "preadv", 296: "pwritev", 318: "getrandom"}

def cmd_counts(data, chunks, *spec):  # perf.data chunks_received "name:pid" ...
    """Print "syscalls switches faults top" per chunk received, counted over these processes
    (every thread, including ones started and ended during the record) from a `perf record`
    of raw_syscalls:sys_enter, sched:sched_switch and page-faults, each event recorded."""
    pids = {a.split(":")[1] for a in spec}
    chunks = float(chunks)
    calls, switches, faults = {}, 0, 0
    out = subprocess.run(["perf", "script", "-i", data, "-F", "pid,event,trace"], capture_output=True, text=True)
    if out.returncode != 0:
        fail("perf script -i %s: %s" % (data, out.stderr.strip()[-300:]))
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) < 2 or f[0] not in pids:
            continue
        if f[1] == "raw_syscalls:sys_enter:" and len(f) >= 4 and f[2] == "NR":
            calls[f[3]] = calls.get(f[3], 0) + 1
        elif f[1] == "sched:sched_switch:":
            switches += 1
        elif f[1].startswith("page-faults"):
            faults += 1
    total = sum(calls.values())
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:14]
    names = ",".join("%s:%.2f" % (SYSCALL_NAMES.get(int(nr), "nr" + nr), n / chunks) for nr, n in top)
    print("%.2f %.2f %.2f %s" % (total / chunks, switches / chunks, faults / chunks, names))

def cmd_cpu(*spec):  # "name:pid" ...
    """Print the CPU seconds all these processes have used so far: user + system, then system."""
    total = system = 0
    tick = os.sysconf("SC_CLK_TCK")
    for a in spec:
        pid = a.split(":")[1]
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            system += int(fields[12])
        except OSError:
            pass
    print("%.2f %.2f" % (total / tick, system / tick))

def cmd_rss(*spec):  # "name:pid" ...
    """Print "name VmHWM_kB" (peak resident set) per process."""
    for a in spec:
        n, pid = a.split(":")
        kb = -1
        try:
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        kb = int(line.split()[1])
        except OSError:
            pass
        print(n, kb)

def cmd_breakdown(t0, version, app, logdir, installed, *names):
    """Where one release's time went, from each node's log (info level) and the poller:
    one line per milestone, seconds after t0 over the nodes (min / median / max)."""
    import datetime, re, statistics
    t0 = float(t0)
    def stamp(line):
        t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
        return t.replace(tzinfo=datetime.timezone.utc).timestamp()
    def field(line, key):
        m = re.search(r"(?:^| )" + key + r"=([0-9.]+)", line)
        return float(m.group(1)) if m else None
    seen = {}
    with open(installed) as f:
        for line in f:
            n, t = line.split()
            seen[n] = float(t) - t0
    rows = {k: [] for k in ("notice", "manifest", "peer", "request", "chunk", "fetched", "staged",
                            "installed", "current", "fill_s", "sync_s", "install_s")}
    for n in names:
        try:
            lines = open(os.path.join(logdir, n + ".log"), errors="replace").read().splitlines()
        except OSError:
            continue
        got = {}
        for line in lines:
            if "accepted notice" in line and " version=%s " % version in line:
                got["notice"] = stamp(line) - t0
            elif "] downloading %s %s from peers" % (app, version) in line:
                got["manifest"] = stamp(line) - t0
            elif "fetched every chunk" in line and "manifest" in got and "fetched" not in got:
                got["fetched"] = stamp(line) - t0
                for key, name in (("peer_ms", "peer"), ("request_ms", "request"), ("chunk_ms", "chunk")):
                    v = field(line, key)
                    if v is not None:
                        got[name] = got["manifest"] + v / 1000
            elif "] staged what the store holds of %s %s" % (app, version) in line:
                got["staged"] = stamp(line) - t0
                got["fill_s"] = field(line, "fill_s")
            elif "] installed %s %s" % (app, version) in line:
                got["installed"] = stamp(line) - t0
                got["install_s"] = field(line, "install_s")
                got["sync_s"] = field(line, "sync_s")
        if n in seen:
            got["current"] = seen[n]
        for k, v in got.items():
            if v is not None:
                rows[k].append(v)
    what = {"notice": "notice accepted", "manifest": "manifest held, download starts",
            "peer": "first peer connected", "request": "first chunk requested", "chunk": "first chunk stored",
            "fetched": "last chunk stored", "staged": "held chunks staged (copied)",
            "installed": "installed (log)", "current": "current seen by the poller",
            "fill_s": "  duration: staging held chunks", "sync_s": "  duration: fsync at install",
            "install_s": "  duration: install (fill wait + fsync + rename)"}
    for k, v in rows.items():
        if not v:
            continue
        print("%-48s %6.3f %6.3f %6.3f  (%d nodes)" % (what[k], min(v), statistics.median(v), max(v), len(v)))

globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
PY
}

run_bundlecast() {
  local B="$TMP/bc" i name
  local H="$B/helper.py" L="$B/logs" M="$B/Manifests"
  mkdir -p "$B" "$L" "$B/bundle1" "$B/bundle2"
  write_helper "$H"
  local -A PID_OF=()

  start_node() { # name, extra args...
    local nm=$1; shift
    mkdir -p "$B/$nm"
    # on loopback each node caps itself; in namespaces the kernel does, and no node is told
    # its rate. The admin API stays on 127.0.0.1 (of the node's namespace).
    local -a cap=(); [ -z "${CAP_OF[$nm]}" ] || cap=(--max-upload-rate "${CAP_OF[$nm]}")
    exec_in "$nm" "$BIN" node --data "$B/$nm" --gossip "${IP_OF[$nm]}:0" --admin 127.0.0.1:0 --transfer "${IP_OF[$nm]}:0" \
      --trust "$APP=$PUB" ${cap[@]+"${cap[@]}"} --stagger 0s --log-level "$LOG_LEVEL" ${ORDER_ARGS[@]+"${ORDER_ARGS[@]}"} ${LOOP_ARGS[@]+"${LOOP_ARGS[@]}"} "$@" \
      >"$L/$nm.log" 2>&1 </dev/null &
    track $!
    PID_OF[$nm]=$!
  }

  # the seed first, then N nodes joining its gossip port, all started at once
  start_node seed --seed-only
  local seed_gossip seed_admin
  read -r _ seed_gossip seed_admin _ _ < <(python3 "$H" ready 60 "$L" "seed:$B/seed:${PID_OF[seed]}") || return 1
  local -a names=()
  for (( i = 1; i <= N; i++ )); do names+=("n$i"); start_node "n$i" --join "${IP_OF[seed]}:$seed_gossip"; done
  local -a spec=() admin_spec=() rss_spec=()
  for name in "${names[@]}"; do spec+=("$name:$B/$name:${PID_OF[$name]}"); done
  python3 "$H" ready 60 "$L" "${spec[@]}" > "$B/ready.txt" || return 1
  local -A ADMIN_OF=()
  local ap pid
  while read -r name _ ap _ pid; do
    ADMIN_OF[$name]=$ap
    [ "$pid" = "${PID_OF[$name]}" ] || log "bundlecast: note: $name's ready.json says pid $pid, started as ${PID_OF[$name]}"
  done < "$B/ready.txt"
  for name in "${names[@]}"; do admin_spec+=("$name:${ADMIN_OF[$name]}:${NS_OF[$name]}"); rss_spec+=("$name:${PID_OF[$name]}"); done
  python3 "$H" members 60 "$BIN" "$seed_admin" $(( N + 1 )) "${NS_OF[seed]}" || return 1
  log "bundlecast: seed (admin $seed_admin) sees $(( N + 1 )) members alive"

  # bytes_in per node across one release, comma-joined in node order, into var $2; max into $3
  counters() { python3 "$H" counters "$BIN" "${admin_spec[@]}" > "$1" || return 1; }
  diff_in() { # before after -> "list min max"
    awk 'NR == FNR { b[$1] = $2; next }
         { d = $2 - b[$1]; l = l (l == "" ? "" : ",") d
           if (mn == "" || d < mn) mn = d; if (d > mx) mx = d }
         END { printf "%s %d %d\n", l, mn, mx }' "$1" "$2"
  }
  # one timed release: sign (untimed), upload into the seed (untimed), t0, announce, wait for all
  timed_release() { # version bundle_dir -> prints seconds
    local ver=$1 dir=$2 notice t0 poller out="$B/installed-$1.txt"
    env -u SOURCE_DATE_EPOCH "$BIN" release "$dir" --app "$APP" --version "$ver" --key "$KEY" \
      --manifests "$M" </dev/null >>"$L/cli.log" 2>&1 || { log "bundlecast release $ver failed:"; tail -5 "$L/cli.log" >&2; return 1; }
    notice="$M/$APP/$ver.manifest.minisig"
    [ -f "$notice" ] || { log "bundlecast release did not write $notice"; return 1; }
    in_ns seed "$BIN" seed "$notice" --bundle "$dir" --node "127.0.0.1:$seed_admin" --no-announce \
      </dev/null >>"$L/cli.log" 2>&1 || { log "bundlecast seed $ver failed:"; tail -5 "$L/cli.log" >&2; return 1; }
    rm -f "$B/polling"
    python3 "$H" installed "$TIMEOUT" "$ver" "$APP" "$B/polling" "$L" "${spec[@]}" > "$out" &
    poller=$!
    track "$poller"
    local k=0
    while [ ! -e "$B/polling" ] && [ $k -lt 200 ]; do nap 0.05; k=$(( k + 1 )); done
    [ -e "$B/polling" ] || { log "bundlecast: the install poller did not start"; return 1; }
    settle
    # Each node writes what it receives twice: into its store and its staged tree.
    warm_free_memory $(( 2 * N * SIZE_MB + 256 ))
    pagecache_write_us > "$B/pagecache-$ver.txt"
    local cpu0; cpu0=$(python3 "$H" cpu "seed:${PID_OF[seed]}" "${rss_spec[@]}")
    local perf_pid=""
    local perf_ver=$V1; [ "${PERF_RELEASE:-v1}" != v2 ] || perf_ver=$V2
    if [ -n "${PERF:-}" ] && [ "$ver" = "$perf_ver" ]; then
      # A profile of one release's transfer only (every process on the machine, call graphs).
      perf record -F "${PERF_FREQ:-499}" -a -g -o "$PERF" >/dev/null 2>&1 &
      perf_pid=$!
      nap 0.5
    fi
    [ "$ver" != "$V1" ] || counts_start "$B/counts.data"  # v1's transfer only
    local host0; host0=$(host_cpu)
    t0=$(now)
    in_ns seed "$BIN" announce "$notice" --node "127.0.0.1:$seed_admin" </dev/null >>"$L/cli.log" 2>&1 \
      || { log "bundlecast announce $ver failed:"; tail -5 "$L/cli.log" >&2; return 1; }
    local prc=0; wait "$poller" || prc=$?
    # Read before perf writes its profile, which would count as the fleet's CPU.
    local host1; host1=$(host_cpu)
    untrack "$poller"
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null || true; log "perf profile of the $ver transfer: $PERF"; fi
    counts_stop
    [ $prc = 0 ] || return 1
    echo "$cpu0 $(python3 "$H" cpu "seed:${PID_OF[seed]}" "${rss_spec[@]}")" > "$B/cpu-$ver.txt"
    echo "${host0%% *} ${host1%% *}" > "$B/host-$ver.txt"
    host_cpu_log "bundlecast $ver" "$host0" "$host1" "$(read -r a _ b _ < "$B/cpu-$ver.txt"; calc "$b - $a")" "the nodes and the seed"
    awk -v t0="$t0" '{ d = $2 - t0; if (d > m) m = d; if (f == "" || d < f) f = d }
      END { printf "%.3f %.3f\n", m, f }' "$out" > "$B/secs-$ver.txt"
    echo "$t0" > "$B/t0-$ver.txt"
  }
  check_installed() { # version reference_sha256: untimed content check of each node's copy
    local ver=$1 ref=$2 f h bad=0 seen=0
    for name in "${names[@]}"; do
      f="$B/$name/apps/$APP/current/payload.bin"
      [ -f "$f" ] || continue
      seen=$(( seen + 1 ))
      h=$(hash_of "$f"); [ "$h" = "$ref" ] || { log "bundlecast: $name: installed $ver payload.bin has sha256 $h, expected $ref"; bad=1; }
    done
    [ $seen -gt 0 ] || log "bundlecast: note: no apps/$APP/current/payload.bin found, content not checked"
    return $bad
  }

  # Where a release's time went, from the nodes' logs (LOG_LEVEL info or debug).
  breakdown() { # version
    case "$LOG_LEVEL" in trace|debug|info) ;; *) log "bundlecast: LOG_LEVEL=$LOG_LEVEL: no breakdown (it reads info lines)"; return 0 ;; esac
    log "bundlecast $1: where the time went (seconds after the announce: min / median / max over the nodes)"
    # Diagnostics only: a log it cannot read does not fail a run that was timed.
    python3 "$H" breakdown "$(cat "$B/t0-$1.txt")" "$1" "$APP" "$L" "$B/installed-$1.txt" "${names[@]}" | sed 's/^/#   /' >&2 \
      || log "bundlecast: no breakdown for $1 (the nodes' logs could not be read)"
  }

  # v1: the same file as (a) and (b)
  cp "$TMP/src/payload.bin" "$B/bundle1/payload.bin"
  counters "$B/c0.txt" || return 1
  timed_release "$V1" "$B/bundle1" || return 1
  local secs1 first1; read -r secs1 first1 < "$B/secs-$V1.txt"
  link_stats "bundlecast v1"
  counters "$B/c1.txt" || return 1
  check_installed "$V1" "$REF" || return 1
  local list1 min1 max1; read -r list1 min1 max1 < <(diff_in "$B/c0.txt" "$B/c1.txt")
  local rss1; rss1=$(python3 "$H" rss "${rss_spec[@]}" | awk '$2 > m { m = $2 } END { print m + 0 }')
  local seed_line seed_out1; seed_line=$(python3 "$H" counters "$BIN" "seed:$seed_admin:${NS_OF[seed]}"); seed_out1=$(awk '{print $3}' <<<"$seed_line")
  local cpu_a cpu_b sys_a sys_b; read -r cpu_a sys_a cpu_b sys_b < "$B/cpu-$V1.txt"
  local cpu1; cpu1=$(calc "$cpu_b - $cpu_a")
  # CPU per 64 KiB of chunk received, every node's work counted (what `simulate swarm --cpu-per-chunk-us` takes).
  local cpu_chunk_us; cpu_chunk_us=$(awk -v c="$cpu1" -v n="$N" -v f="$F" 'BEGIN { printf "%.0f", c * 1e6 / (n * f / 65536) }')
  local sys_chunk_us; sys_chunk_us=$(awk -v c="$(calc "$sys_b - $sys_a")" -v n="$N" -v f="$F" 'BEGIN { printf "%.0f", c * 1e6 / (n * f / 65536) }')
  log "bundlecast v1: the nodes used ${cpu1} CPU seconds (${cpu_chunk_us} us per 64 KiB received); compare:" \
    "bundlecast simulate swarm --nodes $N --bundle-mb $SIZE_MB --upload-mbps $(calc "$RATE_B / 1048576") --latency 1 --seed 1 --shared-cores $(nproc) --cpu-per-chunk-us $cpu_chunk_us$SIM_NOTE"
  # The cores' whole busy time per chunk: the nodes' CPU and whatever else ran on the
  # cores they shared (kernel threads doing their softirq and write-back, this script).
  local hb0 hb1 host_chunk_us; read -r hb0 hb1 < "$B/host-$V1.txt"
  host_chunk_us=$(awk -v t=$(( hb1 - hb0 )) -v hz="$(getconf CLK_TCK)" -v n="$N" -v f="$F" 'BEGIN { printf "%.0f", t / hz * 1e6 / (n * f / 65536) }')
  local predicted="" predict_fields=""
  if [ "$MIXED" = 0 ]; then  # the simulator has no mixed links to predict
    predicted=$("$BIN" simulate swarm --nodes "$N" --bundle-mb "$SIZE_MB" --upload-mbps "$(calc "$RATE_B / 1048576")" --latency 1 --seed 1 \
      --shared-cores "$(nproc)" --cpu-per-chunk-us "$host_chunk_us" "${SIM_ARGS[@]}" | sed -n 's/.* 100% in \([0-9.]*\) s.*/\1/p' || true)
    if [ -n "$predicted" ]; then
      log "bundlecast v1: the cores were busy ${host_chunk_us} us per chunk in all; given that, the simulator predicts ${predicted}s" \
        "($(calc "$predicted / $secs1")x the measured ${secs1}s)"
      predict_fields=" host_us_per_chunk=$host_chunk_us predicted=$predicted predicted_over_measured=$(calc "$predicted / $secs1")"
    else
      log "bundlecast v1: the simulator gave no prediction"
    fi
  fi
  log "bundlecast v1: first node installed at ${first1}s, last at ${secs1}s; seed uploaded $(calc "$seed_out1 / $F") copies" \
    "(chunks sent again: $(awk '{print $4}' <<<"$seed_line") to another peer, $(awk '{print $5}' <<<"$seed_line") to the same peer)"
  local count_fields; count_fields=$(counts_fields "bundlecast v1" "the nodes and the seed" "$H" "$B/counts.data" "seed:${PID_OF[seed]}" "${rss_spec[@]}")
  breakdown "$V1"
  echo "system=bundlecast N=$N size_mb=$SIZE_MB rate=$RATE seconds=$secs1 lower_bound=$LB_SWARM ratio=$(ratio "$secs1" "$LB_SWARM") v1_bytes_in_per_node=$list1 v1_bytes_in_min=$min1 v1_bytes_in_max=$max1 peak_rss_kib_max=$rss1 cpu_us_per_chunk=$cpu_chunk_us system_us_per_chunk=$sys_chunk_us pagecache_write_us=$(cat "$B/pagecache-$V1.txt")$predict_fields$count_fields$LINK_FIELDS"
  BC_SECS=$secs1

  # v2: 1 MiB of new random bytes inserted in the middle of the v1 file
  local half=$(( F / 2 ))
  { head -c "$half" "$B/bundle1/payload.bin"; head -c "$INSERT_BYTES" /dev/urandom; tail -c +$(( half + 1 )) "$B/bundle1/payload.bin"; } > "$B/bundle2/payload.bin"
  local ref2; ref2=$(hash_of "$B/bundle2/payload.bin")
  timed_release "$V2" "$B/bundle2" || return 1
  local secs2 first2; read -r secs2 first2 < "$B/secs-$V2.txt"
  link_stats "bundlecast v2"
  counters "$B/c2.txt" || return 1
  check_installed "$V2" "$ref2" || return 1
  local list2 max2; read -r list2 _ max2 < <(diff_in "$B/c1.txt" "$B/c2.txt")
  local rss2 seed_rss
  rss2=$(python3 "$H" rss "${rss_spec[@]}" | awk '$2 > m { m = $2 } END { print m + 0 }')
  seed_rss=$(python3 "$H" rss "seed:${PID_OF[seed]}" | awk '{print $2}')
  # The local floor: every node writes and syncs a whole copy of the new tree; here all share one disk.
  local floor_dir="$B/floor" floor_pids=() fp t_floor0 floor_secs
  mkdir -p "$floor_dir"
  sync
  t_floor0=$(now)
  for (( i = 1; i <= N; i++ )); do
    dd if="$B/bundle2/payload.bin" of="$floor_dir/$i" bs=1M conv=fsync status=none &
    track $!; floor_pids+=("$!")
  done
  for fp in "${floor_pids[@]}"; do wait "$fp" || { log "local copy: dd failed"; return 1; }; done
  floor_secs=$(calc "$(now) - $t_floor0")
  untrack "${floor_pids[@]}"
  rm -rf "$floor_dir"
  log "local floor of the delta: $N copies of the new file written and synced at once took ${floor_secs}s; the delta took ${secs2}s ($(ratio "$secs2" "$floor_secs")x)"
  echo "system=local-copy N=$N size_mb=$SIZE_MB seconds=$floor_secs"
  local goal=met; [ "$max2" -le "$DELTA_GOAL" ] || goal=missed
  local cpu2; read -r cpu_a _ cpu_b _ < "$B/cpu-$V2.txt"; cpu2=$(calc "$cpu_b - $cpu_a")
  log "bundlecast v2 (delta): first node installed at ${first2}s, last at ${secs2}s; most received by one node $max2 B (goal <= $DELTA_GOAL B: $goal); the seed and nodes used ${cpu2} CPU seconds"
  breakdown "$V2"
  echo "system=bundlecast-delta N=$N size_mb=$SIZE_MB rate=$RATE inserted_bytes=$INSERT_BYTES seconds=$secs2 v2_bytes_in_per_node=$list2 v2_bytes_in_max=$max2 goal_max_bytes=$DELTA_GOAL goal=$goal peak_rss_kib_max=$rss2 seed_peak_rss_kib=$seed_rss over_local_copy=$(ratio "$secs2" "$floor_secs")$LINK_FIELDS"

  end_phase 100                  # SIGTERM the nodes, up to 10 s, then SIGKILL
  [ "$KEEP" = 1 ] || rm -rf "$B"
}

# Called plainly, not as `run_x || ...`: that would switch set -e off inside them.
PHASE=""
BT_SECS="" BC_SECS=""
if [ "$SKIP_TORRENT" != 1 ]; then PHASE=bittorrent; run_torrent; fi
if [ "$SKIP_ORIGIN" != 1 ]; then PHASE=http-origin; run_origin; fi
if [ "$SKIP_BUNDLECAST" != 1 ]; then PHASE=bundlecast; run_bundlecast; fi
PHASE=""
if [ -n "$BT_SECS" ] && [ -n "$BC_SECS" ]; then
  echo "system=compare N=$N size_mb=$SIZE_MB rate=$RATE bundlecast_seconds=$BC_SECS bittorrent_seconds=$BT_SECS bundlecast_over_bittorrent=$(ratio "$BC_SECS" "$BT_SECS")$LINK_FIELDS"
fi
log "total script time $(calc "$(now) - $T_SCRIPT0") s"
