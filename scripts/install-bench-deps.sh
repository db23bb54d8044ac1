#!/usr/bin/env bash
# install-bench-deps.sh -- system packages for scripts/bench-swarm.sh.
#
# Installs (Debian/Ubuntu, apt): aria2 (aria2c), opentracker, mktorrent,
# python3, curl, openssl (bench-swarm.sh reads JSON with python3, so
# no jq), and valgrind with a C compiler for bench-callgrind.sh.
# Idempotent: when every tool is already on PATH it does nothing and
# never touches apt. As root it runs apt-get itself; as
# another user it prints the command to run and exits 1.
#
# Tracker choice: Debian ships `opentracker` (bookworm: 0.0~git20210823,
# package "opentracker", checked with `apt-cache policy opentracker`), so the
# swarm uses the real thing rather than a home-made tracker. Debian builds it
# with WANT_ACCESSLIST_WHITE: it tracks only infohashes listed in a whitelist
# file, and when started as root it chroots into -d DIR and drops to -u USER,
# so bench-swarm.sh puts the whitelist inside that directory. DHT, LPD and UDP
# trackers stay off: everything runs on 127.0.0.1 with no outside traffic.
#
# Usage: scripts/install-bench-deps.sh [--help]
set -euo pipefail

case "${1:-}" in
  -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;;
  "") ;;
  *) echo "install-bench-deps: unknown argument: $1 (try --help)" >&2; exit 64 ;;
esac

need=()
command -v aria2c      >/dev/null 2>&1 || need+=(aria2)
command -v opentracker >/dev/null 2>&1 || need+=(opentracker)
command -v mktorrent   >/dev/null 2>&1 || need+=(mktorrent)
command -v python3     >/dev/null 2>&1 || need+=(python3)
command -v curl        >/dev/null 2>&1 || need+=(curl)
command -v openssl     >/dev/null 2>&1 || need+=(openssl)
command -v timeout     >/dev/null 2>&1 || need+=(coreutils)
command -v valgrind    >/dev/null 2>&1 || need+=(valgrind)     # bench-callgrind.sh
command -v cc          >/dev/null 2>&1 || need+=(gcc)          # its sigsuspend shim

if [ ${#need[@]} -eq 0 ]; then
  echo "install-bench-deps: all present (aria2c opentracker mktorrent python3 curl openssl valgrind cc)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: missing packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-bench-deps: no apt-get; install by hand: ${need[*]}" >&2; exit 1; }
echo "install-bench-deps: installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
# opentracker's Debian package may register a system service; bench-swarm.sh
# starts its own instance on a free loopback port and does not use it.
for t in aria2c opentracker mktorrent python3 curl openssl valgrind cc; do
  command -v "$t" >/dev/null 2>&1 || { echo "install-bench-deps: $t still missing after apt-get" >&2; exit 1; }
done
echo "install-bench-deps: done"
