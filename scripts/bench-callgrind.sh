#!/usr/bin/env bash
# Part of make bench: instructions a node executes per 64 KiB chunk it receives and per
# chunk it uploads, counted by valgrind's callgrind (scripts/callgrind_chunks.py has the
# set-up: a seed and PEERS native nodes, one node under callgrind, then a node that
# fetches from it alone). Unlike CPU time these counts do not move with the machine's
# hour, so builds compare across days; they are user space only (no kernel work).
#
# Two things Debian's valgrind 3.19 needs, both done here:
# - a binary with DWARF 4 debug information (valgrind 3.19 gives up on Swift's default
#   DWARF 5): built into .build-cg with -dwarf-version=4 unless BIN is given;
# - a preloaded shim that copies sigsuspend's mask before the call: libdispatch passes
#   a mask in read-only memory, which valgrind 3.19 writes to, and crashes.
#
# Usage: scripts/bench-callgrind.sh   (BIN=path SIZE_MB=64 IDLE_S=5 TOP=0 PEERS=4 SWARM=1 KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-64}
IDLE_S=${IDLE_S:-5}
TOP=${TOP:-0}
PEERS=${PEERS:-4}

for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null || { echo "bench-callgrind: $tool is missing (scripts/install-bench-deps.sh installs it)" >&2; exit 1; }
done
CC=${CC:-$(command -v cc || command -v clang || true)}
[ -n "$CC" ] || { echo "bench-callgrind: no C compiler for the shim (cc or clang)" >&2; exit 1; }

if [ -z "${BIN:-}" ]; then
  swift build -c release --build-path .build-cg --product bundlecast -Xswiftc -dwarf-version=4 -Xcc -gdwarf-4 >&2
  BIN=.build-cg/release/bundlecast
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

shim=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-cgshim.XXXXXX")
trap 'rm -rf "$shim"' EXIT
cat > "$shim/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
/* valgrind 3.19 edits the mask sigsuspend is given; libdispatch's is const. */
int sigsuspend(const sigset_t *mask) {
  sigset_t copy = *mask;
  int (*real)(const sigset_t *) = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
  return real(&copy);
}
C
"$CC" -O2 -shared -fPIC -o "$shim/shim.so" "$shim/shim.c" -ldl

python3 scripts/callgrind_chunks.py "$BIN" "$shim/shim.so" "$PWD/Keys/demo-test-only.pub" "$PWD/Keys/demo-test-only.key" \
  "$SIZE_MB" "$IDLE_S" "$TOP" "$PEERS"
