#!/usr/bin/env bash
# Part of make bench: the gossip simulator (real SWIM and notice rumours, simulated network).
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
echo
echo "== simulate gossip: 1,000 nodes, 1% loss, 10 simulated minutes (false failure detections)"
"$BIN" simulate gossip --nodes 1000 --loss 0.01 --latency 1 --seed 7 --seconds 600
echo
echo "== simulate gossip: 2,000 nodes (the largest a run takes), 1% loss, 60 simulated seconds"
"$BIN" simulate gossip --nodes 2000 --loss 0.01 --latency 1 --seed 7 --seconds 60
