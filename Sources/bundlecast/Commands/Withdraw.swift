import ArgumentParser
import BundlecastCore
import Publisher

struct Withdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take back a bad release: every node goes back to an earlier one.",
        discussion: """
            Signs a withdrawal: a notice with the next sequence (kind=withdraw) that points nodes \
            back to an earlier release's manifest, at 100%. Nodes follow it like an update: they \
            install the earlier version (from their kept copy or from peers) and drop the withdrawn \
            one. VERSION must be the release the newest notice names; --to defaults to the newest \
            earlier release that was not itself withdrawn. The withdrawn release's own notice can \
            no longer be replayed (its sequence is lower), and `rollout` refuses it; ship the fix as \
            a new version. The notice is written as TO.manifest.SEQUENCE.minisig and goes to --origin \
            and/or --node when given.

            Examples:
              bundlecast withdraw acme 1.4.0 --key Keys/acme.key --origin http://127.0.0.1:7300
              bundlecast withdraw acme 1.4.0 --to 1.2.0 --key Keys/acme.key --node 127.0.0.1:7947
            """
    )

    @Argument(help: "The app.")
    var app: String

    @Argument(help: "The release to withdraw (the one the fleet is being sent).")
    var version: String

    @Option(help: ArgumentHelp("The earlier release nodes go back to.", valueName: "version"))
    var to: String?

    @OptionGroup var signing: SigningOptions

    @OptionGroup var targets: NoticeTargets

    func run() async throws {
        try await reportingAsync {
            let withdrawn: SemanticVersion
            let target: SemanticVersion?
            do {
                withdrawn = try SemanticVersion(version)
                target = try to.map { try SemanticVersion($0) }
            } catch { throw Failure("\(error)") }
            let minimum = try await targets.minimumSequence(app: app)
            let secret = try signing.secretKey()
            let (signed, path) = try Releaser(store: ManifestStore(root: signing.manifests)).withdraw(
                app: app, version: withdrawn, to: target, key: secret, created: try Release.created(),
                lifetime: signing.lifetime, minimumSequence: minimum)
            let n = signed.notice
            print("signed the withdrawal of \(n.app) \(withdrawn): back to \(n.version) as sequence \(n.sequence); wrote \(path)")
            try await targets.deliver(signed)
        }
    }
}
