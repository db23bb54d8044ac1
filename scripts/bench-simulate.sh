#!/usr/bin/env bash
# Part of make bench: the simulators (real SWIM and notice rumours; real swarm planners), simulated network.
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
echo
echo "== simulate gossip: 1,000 nodes, 1% loss, 10 simulated minutes (false failure detections)"
"$BIN" simulate gossip --nodes 1000 --loss 0.01 --latency 1 --seed 7 --seconds 600
echo
echo "== simulate gossip: 2,000 nodes, 1% loss, 60 simulated seconds"
"$BIN" simulate gossip --nodes 2000 --loss 0.01 --latency 1 --seed 7 --seconds 60
echo
echo "== simulate gossip: 10,000 nodes, 1% loss, 60 simulated seconds (goal: 99% <= 3 s, 100% <= 5 s)"
"$BIN" simulate gossip --nodes 10000 --loss 0.01 --latency 1 --seed 7 --seconds 60
echo
echo "== simulate swarm: the benchmark's setting (20 nodes, 64 MiB, 20 MiB/s each), to compare with bench-swarm.sh"
"$BIN" simulate swarm --nodes 20 --bundle-mb 64 --upload-mbps 20 --latency 1 --seed 1
echo
echo "== simulate swarm: 1,000 nodes (about 40 s of wall time)"
"$BIN" simulate swarm --nodes 1000 --bundle-mb 64 --upload-mbps 20 --latency 1 --seed 1
