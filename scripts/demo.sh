#!/usr/bin/env bash
# make demo: the publisher's side and the origin, on the sample app, with the test-only
# demo key. Releases hello-fleet 1.0.0 and 1.1.0 into a temporary Manifests/, verifies
# them with bundlecast and with stock minisign, checks a directory, shows the update's
# diff, then runs an origin on a free loopback port and announces a release to it while
# a long-poll waits.
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-demo.XXXXXX")
origin_pid=
poll_pid=
cleanup() {
  for p in $poll_pid $origin_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
KEY=Keys/demo-test-only
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Release 1.0.0 of the sample app (test-only demo key)" \
  "$BIN" release Samples/hello-fleet/1.0.0 --app hello-fleet --version 1.0.0 --key $KEY.key --manifests "$work/Manifests"
step "Release 1.1.0: one new file, one edited script, one line inserted in a 550 KiB file" \
  "$BIN" release Samples/hello-fleet/1.1.0 --app hello-fleet --version 1.1.0 --key $KEY.key --manifests "$work/Manifests"
step "Verify the signed notice" \
  "$BIN" verify --pub $KEY.pub "$work/Manifests/hello-fleet/1.1.0.manifest"
step "Stock minisign accepts the same signature" \
  minisign -Vm "$work/Manifests/hello-fleet/1.1.0.manifest" -p $KEY.pub
step "A directory matches the release exactly" \
  "$BIN" verify --pub $KEY.pub --manifest "$work/Manifests/hello-fleet/1.1.0.manifest" Samples/hello-fleet/1.1.0
step "What a node holding 1.0.0 fetches to get 1.1.0" \
  "$BIN" diff "$work/Manifests/hello-fleet/1.0.0.manifest" "$work/Manifests/hello-fleet/1.1.0.manifest"
step "The manifest, readably" \
  "$BIN" inspect "$work/Manifests/hello-fleet/1.1.0.manifest"

printf '\n\033[1m== A tampered manifest is refused (exit 1)\033[0m\n'
cp "$work/Manifests/hello-fleet/1.1.0.manifest" "$work/tampered.manifest"
sed -i 's/^version 1.1.0$/version 1.1.1/' "$work/tampered.manifest"
if "$BIN" verify --pub $KEY.pub --signature "$work/Manifests/hello-fleet/1.1.0.manifest.minisig" "$work/tampered.manifest"; then
  echo "demo: a tampered manifest verified: this is a bug" >&2; exit 1
fi
printf '\n\033[1m== The origin: signed notices over HTTP, never bundle bytes\033[0m\n'
echo "\$ $BIN origin --listen 127.0.0.1:0 --db $work/origin.sqlite --trust hello-fleet=$KEY.pub &"
"$BIN" origin --listen 127.0.0.1:0 --db "$work/origin.sqlite" --trust hello-fleet=$KEY.pub 2> "$work/origin.log" &
origin_pid=$!
for _ in $(seq 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
[ -s "$work/ready.json" ] || { echo "demo: the origin did not start:" >&2; cat "$work/origin.log" >&2; exit 1; }
port=$(sed -E 's/.*"http":([0-9]+).*/\1/' "$work/ready.json")
url="http://127.0.0.1:$port"
echo "ready.json: $(cat "$work/ready.json")"
step "Announce the 1.0.0 notice released above" \
  "$BIN" announce "$work/Manifests/hello-fleet/1.0.0.manifest.minisig" --origin "$url"
printf '\n\033[1m== A node-style long-poll waits for anything newer than sequence 1...\033[0m\n'
curl -s -o "$work/poll.out" -w '%{http_code}' "$url/v1/apps/hello-fleet/channels/stable/latest?after=1&wait=30" > "$work/poll.status" &
poll_pid=$!
step "...while the publisher releases 1.2.0 with --origin (sequence from the origin)" \
  "$BIN" release Samples/hello-fleet/1.1.0 --app hello-fleet --version 1.2.0 --key $KEY.key --manifests "$work/Manifests" --origin "$url"
wait "$poll_pid"; poll_pid=
echo "long-poll answered HTTP $(cat "$work/poll.status") with: $(sed -n 3p "$work/poll.out")"
step "The origin's view" curl -s "$url/v1/apps"
echo
step "A forged notice is refused (the trusted comment edited after signing)" \
  sh -c "sed 's/rollout=100/rollout=1/' '$work/Manifests/hello-fleet/1.2.0.manifest.minisig' | curl -s -X POST --data-binary @- '$url/v1/apps/hello-fleet/notices'"
echo
printf '\ndemo: done. The fleet demo (nodes downloading and installing from each other) comes with the newcomer issue.\n'
