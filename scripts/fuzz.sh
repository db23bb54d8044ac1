#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets in Fuzz/ (-sanitize=fuzzer,address) and runs each
# for FUZZ_SECONDS (default 300) from Fuzz/Seeds plus the corpus kept in .build-fuzz/corpus.
# A crash is copied to Fuzz/Regressions/CHECK/ (replayed by `make test`) and fails the run.
# FUZZ_TARGETS="Manifest Notice" runs only those (of GossipPacket TransferFrame Manifest Notice Timestamp, and the
# state-machine targets SwimSequence SwarmEvents Intake ManifestInstall).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
build=.build-fuzz
(cd Fuzz && swift build -c release --build-path "../$build" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g)
bin=$(cd Fuzz && swift build -c release --build-path "../$build" --show-bin-path \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g)
failed=0
all="GossipPacket:gossipPacket TransferFrame:transferFrame Manifest:manifest Notice:notice Timestamp:timestamp SwimSequence:swimSequence
    SwarmEvents:swarmEvents Intake:intake ManifestInstall:manifestInstall"
targets=${FUZZ_TARGETS:-$(for pair in $all; do printf "%s " "${pair%%:*}"; done)}
for pair in $all; do
    target=${pair%%:*}
    check=${pair##*:}
    case " $targets " in *" $target "*) ;; *) continue ;; esac
    corpus=$build/corpus/$check
    crashes=$build/crashes/$check
    mkdir -p "$corpus" "$crashes" "Fuzz/Regressions/$check"
    echo "== fuzz $target for ${seconds}s (corpus $corpus)"
    # -rss_limit_mb: a decoder that allocates what a length field claims is a finding too.
    if "$bin/Fuzz$target" "$corpus" "Fuzz/Seeds/$check" -max_total_time="$seconds" \
        -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$crashes/" 2> "$build/$check.log"; then
        grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$build/$check.log" || true
    else
        failed=1
        echo "!! $target crashed; see $build/$check.log"
        tail -n 30 "$build/$check.log"
    fi
    for crash in "$crashes"/*; do
        [ -e "$crash" ] || continue
        cp "$crash" "Fuzz/Regressions/$check/"
        echo "!! kept $(basename "$crash") in Fuzz/Regressions/$check: fix the decoder, then commit it"
    done
done
exit $failed
