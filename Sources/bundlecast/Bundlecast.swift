import ArgumentParser

@main
struct Bundlecast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundlecast",
        abstract: "Ship signed application bundles to a fleet, peer to peer.",
        discussion: """
            Publishers sign versioned bundles with Ed25519 (minisign formats); nodes fetch \
            them from each other and install only what the publisher signed.

            Start here:
              bundlecast keygen --out Keys/acme
              bundlecast release ./build --app acme --version 1.0.0 --key Keys/acme.key
              bundlecast verify --pub Keys/acme.pub Manifests/acme/1.0.0.manifest

            Exit codes: 0 success; 1 verification failed; 2 bad input or refused \
            (a missing file, a malformed manifest, a release that is not allowed); \
            3 signature valid but the notice has expired; 64 wrong usage.
            """,
        version: "0.1.0",
        subcommands: [Keygen.self, Release.self, Announce.self, Seed.self, Rollout.self, Withdraw.self, RotateKey.self, Rollback.self, Verify.self, Diff.self, Inspect.self, OriginCommand.self, NodeCommand.self, StatusCommand.self, FleetKeyCommand.self, SimulateCommand.self, DemoCommand.self]
    )
}
