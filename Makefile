# Bundlecast. `make demo` and `make test` do all set-up on a fresh machine.
SWIFT ?= swift
BIN := .build/debug/bundlecast
RELEASE_BIN := .build/release/bundlecast

.PHONY: deps build release-build test demo demo-publisher bench fuzz sim clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release-build: deps
	$(SWIFT) build -c release

# Unit tests, then the suites that run the real binary, each in its own step.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter "BundlecastCoreTests|CommandLineTests|GossipTests|NodeTests|PolicyTests|SwarmTests" --skip "OriginWatcherTests|OriginWatcherForeignNoticeTests|AdminTokenProofTests|HTTPFetchBodyTests|NodeServiceLifecycleTests|StatusEventStreamTests|MirrorClientTests"
	# A fake origin, a whole node, a fake mirror or timed event streams in the test process: apart, so CPU-bound suites cannot starve them.
	$(SWIFT) test --skip-build --no-parallel --filter "OriginWatcherTests|OriginWatcherForeignNoticeTests|AdminTokenProofTests|HTTPFetchBodyTests|NodeServiceLifecycleTests|StatusEventStreamTests|MirrorClientTests"
	$(SWIFT) test --skip-build --no-parallel --filter CLITests
	$(SWIFT) test --skip-build --no-parallel --filter OriginTests
	$(SWIFT) test --skip-build --no-parallel --filter NodeProcessTests
	# A page served by a node follows a release live, in headless Chromium (screenshots in .build/browser-test).
	/usr/bin/python3 Tests/Browser/live_update_test.py --bin $(BIN) --out .build/browser-test

# An origin and 6 nodes on loopback, two releases spreading peer to peer (bundlecast demo --help).
demo: release-build
	$(RELEASE_BIN) demo

# The publisher's side step by step: release, verify (also with stock minisign), diff, origin long-poll.
demo-publisher: release-build
	scripts/demo.sh $(RELEASE_BIN)

# The fleet simulation under faults for many seeds (make test runs 4 of them).
sim: release-build
	$(RELEASE_BIN) simulate faults --seeds 500
	$(RELEASE_BIN) simulate faults --seed 1000 --seeds 200 --crash-every 0.5 --loss 0.1
	$(RELEASE_BIN) simulate faults --seed 5000 --seeds 20 --nodes 60 --malicious 12

# libFuzzer targets for the decoders of untrusted input, FUZZ_SECONDS each (default 300).
fuzz: deps
	scripts/fuzz.sh

bench: release-build
	scripts/bench.sh $(RELEASE_BIN)
	scripts/bench-origin.sh $(RELEASE_BIN)
	scripts/bench-serve.sh $(RELEASE_BIN)
	scripts/bench-gossip.sh $(RELEASE_BIN)
	scripts/bench-simulate.sh $(RELEASE_BIN)
	scripts/install-bench-deps.sh
	scripts/bench-pagecache.sh
	BIN=$(RELEASE_BIN) scripts/bench-swarm.sh
	scripts/bench-callgrind.sh

clean:
	rm -rf .build
