import BundlecastCore
import Gossip
import TransferWire
import Logging
import NIOCore
import Swarm

/// The node's downloads from peers: starts manifest fetches and chunk downloads over the
/// transfer shell, and registers them with the ``DownloadRouter`` that hands them their answers.
public final class PeerDownloads: Sendable {
    let node: TransferNode
    let router: DownloadRouter

    init(node: TransferNode, router: DownloadRouter) {
        self.node = node
        self.router = router
    }

    /// Fetches manifest bytes by digest from the candidates, asking a few at a
    /// time and moving on when they do not answer, until one sends bytes that
    /// hash to `digest`, or it appears in the node's own cache (or the task is cancelled). The caller checks them
    /// against the notice's signature before using them.
    func manifest(_ digest: Digest256, candidates: @Sendable () -> [TransferCandidate]) async throws -> [UInt8] {
        router.awaitManifest(digest)
        defer { router.stopAwaiting(digest) }
        var rounds = ManifestRounds(seed: UInt64.random(in: 0...UInt64.max))
        while true {
            let usable = candidates().filter { $0.id != node.id && !node.isBanned($0.id) }
            let round = rounds.next(usable.map(\.policyCandidate))
            for candidate in usable where round.ask.contains(candidate.id) {
                node.link(to: candidate.id, at: candidate.address).whenSuccess { [node] _ in
                    node.send(.getManifest(digest), to: candidate.id)
                }
            }
            let deadline = ContinuousClock.now + .nanoseconds(Int64(round.wait))
            while ContinuousClock.now < deadline {
                if let bytes = router.arrivedManifest(digest) { return bytes }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Meanwhile the manifest may have been seeded through the admin API.
            if node.manifests.contains(digest), let bytes = node.manifests.bytes(digest) { return bytes }
        }
    }

    /// Downloads every chunk of `manifest` not yet in the store; `stored` is called with each
    /// one stored (checked, still in memory).
    func chunks(of manifest: Manifest, digest: Digest256, settings: Fetch.Settings,
                candidates: @escaping @Sendable () -> [TransferCandidate],
                stored: (@Sendable (Digest256, [UInt8]) -> Void)? = nil,
                progress: @escaping @Sendable (UInt64, UInt64) -> Void) async throws {
        let fetch = Fetch(manifest: manifest, digest: digest, node: node, settings: settings, logger: node.logger,
                          candidates: candidates, stored: stored, progress: progress)
        router.add(fetch)
        defer { router.remove(fetch) }
        try await fetch.run()
    }
}
