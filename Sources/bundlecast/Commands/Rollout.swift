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

    @OptionGroup var signing: SigningOptions

    @OptionGroup var targets: NoticeTargets

    func validate() throws {
        guard percent <= 100 else { throw ValidationError("--percent must be between 0 and 100") }
    }

    func run() async throws {
        try await reportingAsync {
            let semver: SemanticVersion
            do { semver = try SemanticVersion(version) } catch { throw Failure("\(error)") }
            let minimum = try await targets.minimumSequence(app: app)
            let secret = try signing.secretKey()
            let (signed, path) = try Releaser(store: ManifestStore(root: signing.manifests)).rollout(
                app: app, version: semver, percent: percent, key: secret, created: try Release.created(),
                lifetime: signing.lifetime, minimumSequence: minimum)
            let n = signed.notice
            print("signed \(n.app) \(n.version) rollout \(n.rollout)% as sequence \(n.sequence); wrote \(path)")
            try await targets.deliver(signed)
        }
    }
}
