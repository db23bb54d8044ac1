import ArgumentParser
import BundlecastCore
import Node
import Publisher

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a release into a node, so it holds it complete and serves it to the fleet.",
        discussion: """
            Uploads the manifest beside NOTICE (NOTICE without .minisig) and every chunk the node \
            lacks, read from the bundle directory, through the node's admin API; then gives the \
            node the notice, which it verifies and spreads by gossip (unless --no-announce). This \
            is how a release enters a fleet that has no peer holding it yet: the origin never \
            carries bundle bytes. `bundlecast release --node` does the same right after releasing.

            Example:
              bundlecast seed Manifests/acme/1.4.0.manifest.minisig --bundle ./build --node 127.0.0.1:7947
            """
    )

    @Argument(help: ArgumentHelp("The release notice (.minisig) next to its manifest.", valueName: "notice"))
    var notice: String

    @Option(help: ArgumentHelp("The bundle directory the release was made from.", valueName: "dir"))
    var bundle: String

    @Option(help: ArgumentHelp("The node's admin address.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort

    @Flag(help: "Upload the manifest and chunks only; do not give the node the notice.")
    var noAnnounce = false

    func run() async throws {
        try await reportingAsync {
            try await Self.seed(notice: notice, bundle: bundle, node: node, announce: !noAnnounce)
        }
    }

    static func seed(notice: String, bundle: String, node: HostPort, announce: Bool) async throws {
        guard notice.hasSuffix(".minisig") else { throw Failure("\(notice): expected the notice file, VERSION.manifest.minisig") }
        let noticeBytes = try PosixFile.readAll(notice, limit: 4096)
        let signed: SignedNotice
        do { signed = try SignedNotice(bytes: noticeBytes) } catch { throw Failure("\(notice): \(error)") }
        let manifestPath = String(notice.dropLast(".minisig".count))
        let manifestBytes = try PosixFile.readAll(manifestPath, limit: ManifestCache.maxBytes)
        guard Blake2b.digest256(manifestBytes) == signed.notice.manifest else {
            throw Failure("\(manifestPath) is not the manifest \(notice) names (\(signed.notice.manifest.short))")
        }
        let manifest: Manifest
        do { manifest = try ManifestCoder.decode(manifestBytes) } catch { throw Failure("\(manifestPath): \(error)") }
        let client = try NodeAdminClient(url: node.httpURL)
        let sent = try await BundleSeeder(client: client).seed(manifest: manifest, manifestBytes: manifestBytes, bundle: bundle)
        print("seeded \(manifest.app) \(manifest.version) into node \(node): \(sent.chunks) chunks, \(Format.bytes(sent.bytes)) it lacked")
        if announce {
            print("node \(node): \(try await client.announce(noticeBytes))")
        }
    }
}

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a node's earlier version of an app back as current.",
        discussion: """
            The node keeps the current and the previous version of each app. Rollback swaps \
            `current` back to the previous one (or --to, which must be that one) and holds it \
            there until a notice newer than the newest the node has accepted arrives. The \
            accepted sequence does not go back: rollback protection stays intact.

            Example:
              bundlecast rollback acme --node 127.0.0.1:7947
            """
    )

    @Argument(help: "The app.")
    var app: String

    @Option(help: ArgumentHelp("The node's admin address.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort

    @Option(help: ArgumentHelp("The version to go back to (must be kept on the node).", valueName: "version"))
    var to: String?

    func run() async throws {
        try await reportingAsync {
            let client = try NodeAdminClient(url: node.httpURL)
            let (from, to) = try await client.rollback(app: app, to: to)
            print("node \(node): \(app) rolled back from \(from) to \(to), held there until a newer notice")
        }
    }
}
