import BundlecastCore
import Gossip
import TransferWire
import Logging
import NIOCore
import Synchronization

/// The node's downloads from peers: routes the answers that arrive on
/// transfer connections to the manifest fetch or chunk download that asked.
public final class PeerDownloads: Sendable {
    let node: TransferNode
    let logger: Logger
    private let fetches = Mutex<[ObjectIdentifier: Fetch]>([:])
    /// Manifests being fetched: nil until one arrives whose bytes hash to its digest.
    private let manifestWaiters = Mutex<[Digest256: [UInt8]?]>([:])

    init(node: TransferNode, logger: Logger) {
        self.node = node
        self.logger = logger
        node.setResponder { [weak self] peer, frame in self?.route(frame, from: peer) }
        node.setNewsResponder { [weak self] peer, chunks in
            // Two apps' downloads may share a chunk: each that lists it hears of it.
            for fetch in self?.fetches.withLock({ Array($0.values) }) ?? [] { fetch.peerHas(chunks, from: peer) }
        }
        node.setDisconnectHandler { [weak self] peer in
            for fetch in self?.fetches.withLock({ Array($0.values) }) ?? [] { fetch.peerGone(peer) }
        }
    }

    private func route(_ frame: TransferFrame, from peer: NodeID) {
        if case .manifest(let d, let bytes) = frame {
            guard manifestWaiters.withLock({ $0[d] != nil }) else { return }
            // Up to 16 MiB to hash: not on the event loop that delivered it.
            node.io.async { [self] in
                if Blake2b.digest256(bytes) == d {
                    manifestWaiters.withLock { if $0[d] != nil { $0[d] = .some(bytes) } }
                } else {
                    node.ban(peer, reason: "sent a manifest that does not hash to \(d.short)")
                }
            }
            return
        }
        switch frame {
        case .chunk, .missing:
            // Two apps' downloads may share a chunk: each that lists it hears of it (it is stored once).
            for fetch in fetches.withLock({ Array($0.values) }) { _ = fetch.handle(frame, from: peer) }
            return
        default: break
        }
        for fetch in fetches.withLock({ Array($0.values) }) where fetch.handle(frame, from: peer) { return }
    }

    /// Fetches manifest bytes by digest from the candidates, asking a few at a
    /// time and moving on when they do not answer, until one sends bytes that
    /// hash to `digest`, or it appears in the node's own cache (or the task is cancelled). The caller checks them
    /// against the notice's signature before using them.
    func manifest(_ digest: Digest256, candidates: @Sendable () -> [TransferCandidate]) async throws -> [UInt8] {
        manifestWaiters.withLock { $0[digest] = .some(nil) }
        defer { _ = manifestWaiters.withLock { $0.removeValue(forKey: digest) } }
        var asked = Set<NodeID>()
        while true {
            let fresh = candidates().filter { !asked.contains($0.id) && $0.id != node.id && !node.isBanned($0.id) }.shuffled()
            let round = Array((fresh.filter(\.sameZone) + fresh.filter { !$0.sameZone }).prefix(3))
            if round.isEmpty { asked.removeAll() }
            for candidate in round {
                asked.insert(candidate.id)
                node.link(to: candidate.id, at: candidate.address).whenSuccess { [node] _ in
                    node.send(.getManifest(digest), to: candidate.id)
                }
            }
            // No candidate yet (gossip of who holds it is still on its way, a hop or two behind
            // the notice): look again soon. Each look decodes every member's metadata, so not at
            // every wake-up.
            let deadline = ContinuousClock.now + (round.isEmpty ? .milliseconds(50) : .seconds(5))
            while ContinuousClock.now < deadline {
                if let bytes = manifestWaiters.withLock({ $0[digest] ?? nil }) { return bytes }
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
        let fetch = Fetch(manifest: manifest, digest: digest, node: node, settings: settings, logger: logger,
                          candidates: candidates, stored: stored, progress: progress)
        let key = ObjectIdentifier(fetch)
        fetches.withLock { $0[key] = fetch }
        defer { _ = fetches.withLock { $0.removeValue(forKey: key) } }
        try await fetch.run()
    }
}
