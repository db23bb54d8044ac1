import ArgumentParser
import BundlecastCore
import Node
import Origin

/// Where a freshly signed notice goes (`rollout`, `withdraw`): an origin, a node, or both.
struct NoticeTargets: ParsableArguments {
    @Option(help: ArgumentHelp("Announce the notice to this origin (http://HOST:PORT).", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("Give the notice to this node's admin API.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort?

    /// The lowest sequence the new notice may take: above the origin's highest for `app`.
    func minimumSequence(app: String) async throws -> UInt64 {
        guard let origin else { return 1 }
        return try await OriginClient(url: origin).highestSequence(app: app) + 1
    }

    /// Sends `signed` to the origin and the node given, saying so on stdout.
    func deliver(_ signed: SignedNotice) async throws {
        if let origin {
            let client = try OriginClient(url: origin)
            _ = try await client.announce(signed)
            print("announced sequence \(signed.notice.sequence) to \(client.base)")
        }
        if let node {
            print("node \(node): \(try await NodeAdminClient(url: node.httpURL).announce(signed.bytes))")
        }
    }
}
