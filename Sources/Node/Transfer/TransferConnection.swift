import BundlecastCore
import Gossip
import NIOCore
import Swarm
import Synchronization

/// One connection's state, shared by its handler and the closures it schedules.
///
/// Answers that carry bulk (chunks, manifests) leave through ``outgoing``: the connection's
/// write buffer holds one answer, and more only as the peer shows it reads them (twice what
/// it took in the last one to two seconds, ``DrainMeter``; at most ``maxUnsentBytes``); the
/// rest wait here as a request (a digest, no bytes read). A peer that asks and never reads
/// therefore costs one answer's buffer, not the node's memory, and a peer that reads a
/// trickle holds a trickle of the node-wide budget, not a mebibyte of it.
final class TransferConnection: Sendable {
    let expect: NodeID?
    /// For an accepted connection, the address whose ``UnprovenConnections`` slot it holds
    /// until its peer is proven or it closes, whichever comes first.
    let unprovenAddress: String?
    private let slotReturned = Atomic<Bool>(false)
    let hello: EventLoopPromise<NodeID>
    /// This side's fresh nonce, for the peer to sign.
    let nonce = Sodium.randomBytes(32)
    private let state: Mutex<State>

    /// A peer's hello, waiting for its proof.
    struct PeerHello: Sendable {
        let id: NodeID
        let key: [UInt8]
        let nonce: [UInt8]
    }

    /// Where the handshake is: nothing yet, the peer's hello waiting for its proof, or its id proven.
    enum Handshake: Sendable {
        case awaitingHello
        case awaitingProof(PeerHello)
        case proven(NodeID)
    }

    private struct State {
        var handshake = Handshake.awaitingHello
        var pending: Set<Digest256> = []
        var cancelled: Set<Digest256> = []
        var interests: [Digest256] = []
        /// `has` frames waiting to be sent together (``TransferNode/announce(chunk:of:)``).
        var hasQueue: [Digest256] = []
        var hasPacing = NewsPacing(delay: UInt64(TransferNode.hasDelay.nanoseconds))
        /// Answers waiting for room in the write buffer, oldest first.
        var waiting: [Outgoing] = []
        var waitingHead = 0
        /// Bytes written to the channel whose write has not completed.
        var unsent = 0
        /// Manifest requests waiting or being answered.
        var manifestRequests = 0
        /// Have-queries being answered (each walks a manifest's chunk list off the event loop).
        var haveQueries = 0
        var closed = false
        /// Manifests this side asked the peer for and has not received: only then may a
        /// frame be manifest-sized (16 MiB), so a peer cannot make us buffer one unasked.
        var manifestsAsked: [Digest256] = []
        /// When a write last completed (uptime nanoseconds): a peer that stops reading is dropped.
        var lastProgress: UInt64 = 0
        /// What the peer took of our answers lately: how much more may be written.
        var drain = DrainMeter()
        /// Since when a manifest-sized frame from the peer has been arriving (it holds room
        /// node-wide, ``LargeFrameBudget``), if one is.
        var largeFrameSince: UInt64?
        /// When the peer's last read came in (uptime nanoseconds; the connection's start before).
        var lastHeard: UInt64
    }

    /// A bulk answer waiting for its turn.
    enum Outgoing: Sendable {
        case chunk(Upload)
        case manifest(Digest256, size: Int)

        var size: Int {
            switch self {
            case .chunk(let upload): return upload.size
            case .manifest(_, let size): return size
            }
        }

        var isChunk: Bool { if case .chunk = self { true } else { false } }
    }

    /// Requests a peer may have queued with us at once; more are answered `missing`, so a
    /// peer cannot make the node queue gigabytes of uploads with tiny frames.
    static let maxPending = 256
    /// Manifest requests a peer may have waiting at once (each answer can be 16 MiB).
    static let maxManifestRequests = 2
    /// Bulk bytes in the write buffer at once: enough to keep a fast link busy (the kernel's
    /// socket buffer holds more), small enough that 256 stalled peers cost little.
    static let maxUnsentBytes = 1 << 20
    /// A connection with bytes waiting to be written and no progress this long is closed.
    static let stallTimeout: UInt64 = 30_000_000_000
    /// A connection that has heard nothing from its peer this long, with nothing of the
    /// peer's waiting here, is closed: a download keeps its connections busy (a have-query a
    /// second), and a slot held by a silent peer is one an active peer cannot have. Either
    /// side dials again when it next needs the other.
    static let idleTimeout: UInt64 = 120_000_000_000

    init(expect: NodeID?, unprovenAddress: String? = nil, eventLoop: any EventLoop, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        self.expect = expect
        self.unprovenAddress = unprovenAddress
        hello = eventLoop.makePromise()
        state = Mutex(State(lastHeard: now))
    }

    /// The address of the unproven slot to give back, the first time only (nil after, and
    /// for a dialled connection, which holds none).
    func returnUnprovenSlot() -> String? {
        guard let unprovenAddress, !slotReturned.exchange(true, ordering: .relaxed) else { return nil }
        return unprovenAddress
    }

    /// A read from the peer came in.
    func heard(now: UInt64) { state.withLock { $0.lastHeard = max($0.lastHeard, now) } }

    /// True when the peer has sent nothing for ``idleTimeout`` and nothing it asked for is
    /// queued, being answered or in the write buffer.
    func isIdle(now: UInt64) -> Bool {
        state.withLock { s in
            now >= s.lastHeard && now - s.lastHeard >= Self.idleTimeout && s.pending.isEmpty && s.unsent == 0
                && s.waitingHead == s.waiting.count && s.manifestRequests == 0 && s.haveQueries == 0
        }
    }

    /// The peer, once it proved its id.
    var remote: NodeID? {
        state.withLock { s in
            guard case .proven(let id) = s.handshake else { return nil }
            return id
        }
    }
    func setRemote(_ id: NodeID) { state.withLock { $0.handshake = .proven(id) } }
    /// The peer's hello, while it waits for its proof.
    var peerHello: PeerHello? {
        state.withLock { s in
            guard case .awaitingProof(let hello) = s.handshake else { return nil }
            return hello
        }
    }
    func setPeerHello(_ hello: PeerHello) { state.withLock { $0.handshake = .awaitingProof(hello) } }
    /// A cancel counts only for a request still pending (so the set stays bounded); false
    /// when none was, and there is nothing to take out of the upload queue.
    @discardableResult
    func cancel(_ d: Digest256) -> Bool {
        state.withLock { s in
            guard s.pending.contains(d) else { return false }
            s.cancelled.insert(d)
            return true
        }
    }

    /// Admits a request; false when too many are pending or the same chunk is already queued.
    func admit(_ d: Digest256) -> Bool {
        state.withLock { s in
            guard s.pending.count < Self.maxPending else { return false }
            return s.pending.insert(d).inserted
        }
    }

    /// The request was answered (or dropped): true if it had been cancelled meanwhile.
    func finish(_ d: Digest256) -> Bool {
        state.withLock { s in
            s.pending.remove(d)
            return s.cancelled.remove(d) != nil
        }
    }

    /// Whether the peer cancelled this request; a cancelled request is finished here.
    func takeCancelled(_ d: Digest256) -> Bool {
        state.withLock { s in
            guard s.cancelled.remove(d) != nil else { return false }
            s.pending.remove(d)
            return true
        }
    }

    /// Admits a manifest request; false when the peer already has ``maxManifestRequests`` waiting.
    func admitManifestRequest() -> Bool {
        state.withLock { s in
            guard s.manifestRequests < Self.maxManifestRequests else { return false }
            s.manifestRequests += 1
            return true
        }
    }

    func manifestRequestDone() { state.withLock { $0.manifestRequests -= 1 } }

    /// Have-queries a peer may have in the works at once: an honest one asks about a
    /// manifest about once a second; more would queue unbounded work off the event loop.
    static let maxHaveQueries = 4

    /// Admits a have-query; false when ``maxHaveQueries`` are being answered (it is dropped:
    /// the peer asks again).
    func admitHaveQuery() -> Bool {
        state.withLock { s in
            guard s.haveQueries < Self.maxHaveQueries else { return false }
            s.haveQueries += 1
            return true
        }
    }

    func haveQueryDone() { state.withLock { $0.haveQueries -= 1 } }

    /// We asked the peer for this manifest.
    func askedForManifest(_ d: Digest256) {
        state.withLock { s in
            guard !s.manifestsAsked.contains(d) else { return }
            s.manifestsAsked.append(d)
            if s.manifestsAsked.count > 8 { s.manifestsAsked.removeFirst() }
        }
    }

    /// The peer answered for `d` (the manifest, or `missing`); true if we had asked for it.
    @discardableResult
    func answered(_ d: Digest256) -> Bool {
        state.withLock { s in
            guard let i = s.manifestsAsked.firstIndex(of: d) else { return false }
            s.manifestsAsked.remove(at: i)
            return true
        }
    }

    /// A manifest-sized frame began to arrive (`now`), or ended (nil).
    func largeFrame(since now: UInt64?) { state.withLock { $0.largeFrameSince = now } }

    /// True when a manifest-sized frame has been arriving for ``largeFrameDeadline``: it holds
    /// one of the node's few rooms for such frames, and a peer dripping one a byte a minute
    /// would hold it for as long as it liked (the idle time-out counts any byte).
    func isLargeFrameOverdue(now: UInt64) -> Bool {
        state.withLock { s in s.largeFrameSince.map { now >= $0 && now - $0 >= Self.largeFrameDeadline } ?? false }
    }

    /// 16 MiB at 280 KB/s; a manifest under 256 KiB never takes room.
    static let largeFrameDeadline: UInt64 = 60_000_000_000

    /// Whether a manifest-sized frame may come now.
    var awaitsManifest: Bool { state.withLock { !$0.manifestsAsked.isEmpty } }

    // MARK: - Outgoing bulk

    /// Queues a bulk answer behind those already waiting.
    func enqueue(_ item: Outgoing) {
        state.withLock { s in if !s.closed { s.waiting.append(item) } }
    }

    /// The next answer that fits in the write buffer (the first always fits an empty one;
    /// more fit what the peer has shown it reads, ``DrainMeter``) and for which `fits`
    /// reserves room node-wide (given its size, and whether it is the only answer in the
    /// buffer), its bytes counted as unsent; nil when none waits or there is no room.
    func nextOutgoing(now: UInt64, fits: (_ item: Outgoing, _ alone: Bool) -> Bool) -> Outgoing? {
        state.withLock { s in
            guard !s.closed, s.waitingHead < s.waiting.count else { return nil }
            let item = s.waiting[s.waitingHead]
            guard s.unsent == 0 || s.unsent + item.size <= s.drain.allowance(now: now), fits(item, s.unsent == 0) else { return nil }
            if s.unsent == 0 { s.lastProgress = now }
            s.waitingHead += 1
            if s.waitingHead == s.waiting.count {
                s.waiting.removeAll(keepingCapacity: true)
                s.waitingHead = 0
            } else if s.waitingHead >= 64 && s.waitingHead * 2 >= s.waiting.count {
                s.waiting.removeFirst(s.waitingHead)
                s.waitingHead = 0
            }
            s.unsent += item.size
            return item
        }
    }

    /// Bytes of this connection's answers written and not yet taken by the kernel.
    var unsentBytes: Int { state.withLock { $0.unsent } }

    /// A bulk write completed (or failed, or was dropped: not `taken` by the kernel, so not
    /// counted as read by the peer): its bytes leave the buffer.
    func written(_ bytes: Int, now: UInt64, taken: Bool = true) {
        state.withLock { s in
            s.unsent -= bytes
            s.lastProgress = now
            if taken { s.drain.add(bytes, now: now) }
        }
    }

    /// True when bytes wait to be written and none has been for ``stallTimeout``.
    func isStalled(now: UInt64) -> Bool {
        state.withLock { s in s.unsent > 0 && now >= s.lastProgress && now - s.lastProgress >= Self.stallTimeout }
    }

    /// The connection closed: what waits is dropped, and returned (its uploads leave the pacer's books).
    func close() -> [Outgoing] {
        state.withLock { s in
            s.closed = true
            let dropped = Array(s.waiting[s.waitingHead...])
            s.waiting = []
            s.waitingHead = 0
            return dropped
        }
    }

    /// Answers waiting, and bytes not yet written (for tests and status).
    var backlog: (waiting: Int, unsent: Int) { state.withLock { ($0.waiting.count - $0.waitingHead, $0.unsent) } }

    /// The peer asked what we hold of this manifest: it wants to hear of new chunks of it.
    func subscribe(_ manifest: Digest256) {
        state.withLock { s in
            guard !s.interests.contains(manifest) else { return }
            s.interests.append(manifest)
            if s.interests.count > 4 { s.interests.removeFirst() }
        }
    }

    func isInterested(in manifest: Digest256) -> Bool { state.withLock { $0.interests.contains(manifest) } }

    /// Queues a `has` frame. When the queue was empty, the nanoseconds until the caller should
    /// send it (``NewsPacing``: at once after a quiet spell); nil when a send is already due.
    func queueHas(_ chunk: Digest256, now: UInt64) -> UInt64? {
        state.withLock { s in
            s.hasQueue.append(chunk)
            return s.hasQueue.count == 1 ? s.hasPacing.wait(now: now) : nil
        }
    }

    /// The queued `has` frames, emptying the queue (they are sent at `now`).
    func takeHas(now: UInt64) -> [Digest256] {
        state.withLock { s in
            var taken: [Digest256] = []
            swap(&taken, &s.hasQueue)
            s.hasPacing.sent(now: now)
            return taken
        }
    }
}

/// Bytes of a connection's answers the kernel took, over the last one to two seconds (two
/// windows of ``window``): a peer may have twice that in the write buffer, at most
/// ``TransferConnection/maxUnsentBytes``. A fast reader reaches the cap within
/// milliseconds (each answer taken doubles the room, as TCP's slow start does); one that
/// takes 64 KiB every 25 s, just inside the stall time-out, is held to one answer at a time.
struct DrainMeter: Sendable {
    static let window: UInt64 = 1_000_000_000
    private var start: UInt64 = 0
    private var current = 0
    private var previous = 0

    /// Bytes the write buffer may hold now.
    mutating func allowance(now: UInt64) -> Int {
        roll(now: now)
        return min(TransferConnection.maxUnsentBytes, 2 * (current + previous))
    }

    /// Each window's count stops at the cap, so the sums above stay small.
    mutating func add(_ bytes: Int, now: UInt64) {
        roll(now: now)
        let taken = max(0, bytes), cap = TransferConnection.maxUnsentBytes
        current = taken >= cap - current ? cap : current + taken
    }

    private mutating func roll(now: UInt64) {
        guard now > start else { return }
        let elapsed = now - start
        if elapsed >= 2 * Self.window {
            (previous, current, start) = (0, 0, now)
        } else if elapsed >= Self.window {
            (previous, current, start) = (current, 0, start + Self.window)
        }
    }
}
