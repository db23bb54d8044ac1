#!/usr/bin/env bash
# make demo: the publisher's side on the sample app, with the test-only demo key.
# Releases hello-fleet 1.0.0 and 1.1.0 into a temporary Manifests/, verifies them with
# bundlecast and with stock minisign, checks a directory, and shows the update's diff.
set -euo pipefail
BIN=${1:-.build/release/bundlecast}
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/bundlecast-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
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
printf '\ndemo: done. Later issues grow this into a fleet: origin, nodes, gossip, swarm.\n'
