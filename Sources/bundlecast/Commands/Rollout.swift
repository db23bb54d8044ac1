import ArgumentParser
import BundlecastCore
import Foundation
import Node
import Origin
import Publisher

struct Rollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change how much of the fleet installs a release (ramp up, or halt with 0).",
        discussion: """
            Signs a new notice for an existing release: the next sequence, the same manifest, \
            the new percentage, written beside the release as VERSION.manifest.SEQUENCE.minisig. \
            Each node is in a rollout when its stable bucket (0-99, from its id and the manifest) \
            is below the percentage, so ramping 10 → 50 keeps the first 10% in. --percent 0 halts \
            the rollout where it stands. The notice goes to --origin and/or --node when given.

            Examples:
              bundlecast rollout acme 1.4.0 --percent 50 --key Keys/acme.key --origin http://127.0.0.1:7300
              bundlecast rollout acme 1.4.0 --percent 0 --key Keys/acme.key --node 127.0.0.1:7947
            """
    )

    @Argument(help: "The app.")
    var app: String

    @Argument(help: "The released version.")
    var version: String

    @Option(help: "Percentage of the fleet that should install it (0-100).")
    var percent: UInt8

    @Option(help: ArgumentHelp("The publisher's secret key (minisign format).", valueName: "file"))
    var key: String

    @Option(help: ArgumentHelp("The publisher's manifests folder.", valueName: "dir"))
    var manifests = "Manifests"

    @Option(help: ArgumentHelp("How long nodes accept the notice as news: 90s, 15m, 12h, 30d, 2w.", valueName: "duration"))
    var expires = "30d"

    @Option(help: ArgumentHelp("Announce the notice to this origin (http://HOST:PORT).", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("Give the notice to this node's admin API.", valueName: "host:port"))
    var node: String?

    @Option(help: ArgumentHelp("Read the key's passphrase from this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var passphraseFile: String?

    func validate() throws {
        guard percent <= 100 else { throw ValidationError("--percent must be between 0 and 100") }
        guard DurationText.seconds(expires) != nil else {
            throw ValidationError("--expires \"\(expires)\" is not a duration such as 90s, 15m, 12h, 30d or 2w")
        }
    }

    func run() async throws {
        try await reportingAsync {
            let semver: SemanticVersion
            do { semver = try SemanticVersion(version) } catch { throw Failure("\(error)") }
            let client = try origin.map { try OriginClient(url: $0) }
            let remote = try await client?.highestSequence(app: app) ?? 0
            let secret = try loadSecretKey(key, passphrase: PassphraseSource(file: passphraseFile))
            let (signed, path) = try Releaser(store: ManifestStore(root: manifests)).rollout(
                app: app, version: semver, percent: percent, key: secret, created: try Release.created(),
                lifetime: DurationText.seconds(expires)!, minimumSequence: remote + 1)
            let n = signed.notice
            print("signed \(n.app) \(n.version) rollout \(n.rollout)% as sequence \(n.sequence); wrote \(path)")
            if let client {
                _ = try await client.announce(signed)
                print("announced sequence \(n.sequence) to \(client.base)")
            }
            if let node {
                print("node \(node): \(try await NodeAdminClient(url: try HostPort(node).httpURL).announce(signed.bytes))")
            }
        }
    }
}
