import BundlecastCore
import Gossip
import Synchronization
import TransferWire

/// The downloads under way, as the transfer shell sees them (its ``TransferNodeDelegate``):
/// routes each answer to the manifest fetch or chunk download that asked, and passes new
/// bans to `onBan` (the node records them, so a restart keeps them).
///
/// It holds no reference to the shell, so it can be made first and given to the shell at
/// construction; ``PeerDownloads`` starts downloads over both.
final class DownloadRouter: TransferNodeDelegate {
    struct State {
        var fetches: [ObjectIdentifier: Fetch] = [:]
        /// Manifests being fetched: nil until one arrives (it hashed to its digest).
        var manifests: [Digest256: [UInt8]?] = [:]
    }

    private let state = Mutex(State())
    private let onBan: @Sendable ([(peer: NodeID, reason: String)]) -> Void

    init(onBan: @escaping @Sendable (_ bans: [(peer: NodeID, reason: String)]) -> Void = { _ in }) {
        self.onBan = onBan
    }

    var fetches: [Fetch] { state.withLock { Array($0.fetches.values) } }

    func transfer(received frame: TransferFrame, from peer: NodeID) {
        switch frame {
        case .manifest(let d, let bytes):
            state.withLock { if $0.manifests[d] != nil { $0.manifests[d] = .some(bytes) } }
        case .chunk, .missing:
            // Two apps' downloads may share a chunk: each that lists it hears of it (it is stored once).
            for fetch in fetches { _ = fetch.handle(frame, from: peer) }
        default:
            for fetch in fetches where fetch.handle(frame, from: peer) { return }
        }
    }

    func transfer(peer: NodeID, nowHolds chunks: [Digest256]) {
        // Two apps' downloads may share a chunk: each that lists it hears of it.
        for fetch in fetches { fetch.peerHas(chunks, from: peer) }
    }

    func transfer(lostLinkTo peer: NodeID) {
        for fetch in fetches { fetch.peerGone(peer) }
    }

    func transfer(banned: [(peer: NodeID, reason: String)]) { onBan(banned) }

    // MARK: - Registration (``PeerDownloads``)

    func add(_ fetch: Fetch) { state.withLock { $0.fetches[ObjectIdentifier(fetch)] = fetch } }
    func remove(_ fetch: Fetch) { _ = state.withLock { $0.fetches.removeValue(forKey: ObjectIdentifier(fetch)) } }

    /// Starts waiting for a manifest.
    func awaitManifest(_ digest: Digest256) { state.withLock { $0.manifests[digest] = .some(nil) } }
    /// The manifest, once it arrived.
    func arrivedManifest(_ digest: Digest256) -> [UInt8]? { state.withLock { $0.manifests[digest] ?? nil } }
    func stopAwaiting(_ digest: Digest256) { _ = state.withLock { $0.manifests.removeValue(forKey: digest) } }
}
