import BundlecastCore
import Dispatch
import Gossip
import TransferWire
import Logging
import NIOCore
import Swarm
import Synchronization

/// A peer that may hold a manifest's chunks, as gossip describes it.
public struct TransferCandidate: Sendable, Equatable {
    public var id: NodeID
    /// Its transfer listener.
    public var address: PeerAddress
    public var sameZone: Bool
    /// It holds the whole release (not merely downloading it).
    public var complete: Bool
    public init(id: NodeID, address: PeerAddress, sameZone: Bool, complete: Bool = false) {
        self.id = id
        self.address = address
        self.sameZone = sameZone
        self.complete = complete
    }
}

/// Downloads one manifest's chunks from peers into the store: the shell
/// around ``SwarmPlanner``. It connects to up to `maxPeers` candidates, asks
/// each for its have-set (again every 2 s, a backstop to the pushed `has` frames),
/// sends the requests the planner decides, and checks every chunk against its
/// digest before storing it; a bad one is a strike against its sender. Peers
/// push a `has` frame for each chunk they store, so rarest-first works on
/// fresh counts.
final class Fetch: Sendable {
    typealias Settings = FetchSettings

    /// A peer of this download: dialled (connected once it said hello), and when it was last asked for its have-set.
    private struct PeerState {
        var connected = false
        /// It holds the whole release (its metadata said so when dialled, or its have-set).
        var complete = false
        var lastQuery: UInt64 = 0
        /// The last have-query is not answered yet (its answer times the round trip).
        var awaitingHave = false
    }

    let digest: Digest256
    private let distinct: [ChunkRef]
    private let index: [Digest256: Int]
    private let node: TransferNode
    private let candidates: @Sendable () -> [TransferCandidate]
    private let settings: Settings
    private let logger: Logger
    private let progress: @Sendable (_ held: UInt64, _ total: UInt64) -> Void
    /// Called with each chunk stored, checked and still in memory (the tree staged for install).
    private let stored: (@Sendable (Digest256, [UInt8]) -> Void)?
    private let planner: Mutex<SwarmPlanner>
    private let peers = Mutex<[NodeID: PeerState]>([:])
    /// Completed when every chunk is held; made by `run()`, so a fetch that never runs leaks no promise.
    private let done = Mutex<EventLoopPromise<Void>?>(nil)
    private let timer = Mutex<RepeatedTask?>(nil)
    private let lastRefresh = Mutex<UInt64>(0)
    /// Held bytes last passed to `progress` (it is called only when they change).
    private let reported = Atomic<UInt64>(.max)
    private let writes = DispatchQueue(label: "bundlecast.fetch.writes")

    init(manifest: Manifest, digest: Digest256, node: TransferNode, settings: Settings, logger: Logger,
         candidates: @escaping @Sendable () -> [TransferCandidate],
         stored: (@Sendable (Digest256, [UInt8]) -> Void)? = nil,
         progress: @escaping @Sendable (UInt64, UInt64) -> Void) {
        self.digest = digest
        self.stored = stored
        distinct = manifest.distinctChunks
        var index: [Digest256: Int] = [:]
        for (i, c) in distinct.enumerated() { index[c.digest] = i }
        self.index = index
        self.node = node
        self.candidates = candidates
        self.settings = settings
        self.logger = logger
        self.progress = progress
        let held = node.chunks.presence(distinct.map(\.digest))
        planner = Mutex(SwarmPlanner(sizes: distinct.map(\.size), held: held, settings: settings.swarm,
                                     seed: UInt64.random(in: 0...UInt64.max), now: Self.now()))
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Runs until every chunk is in the store (or `cancel()`).
    func run() async throws {
        if planner.withLock({ $0.isComplete }) { return }
        let loop = node.group.next()
        let promise = loop.makePromise(of: Void.self)
        done.withLock { $0 = promise }
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(50)) { [self] _ in step() }
        timer.withLock { $0 = task }
        defer { stop() }
        try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            finish(.failure(CancellationError()))
        }
        logStats()
    }

    /// One line per download: what its slowest request waited for, how often peers refused,
    /// and how many late requests endgame moved (why a node finished late, in the log).
    private func logStats() {
        let stats = planner.withLock { $0.stats }
        var metadata: Logger.Metadata = ["manifest": "\(digest.short)", "refused": "\(stats.refusals)", "endgame": "\(stats.endgame)"]
        if let slowest = stats.slowest {
            metadata["slowest_ms"] = "\(slowest.nanoseconds / 1_000_000)"
            metadata["slowest_chunk"] = "\(distinct[slowest.chunk].digest.short)"
            metadata["slowest_peer"] = "\(slowest.peer.short)"
        }
        logger.info("fetched every chunk from peers", metadata: metadata)
    }

    /// Completes `run()` once; later calls do nothing.
    private func finish(_ result: Result<Void, any Error>) {
        guard let promise = done.withLock({ p -> EventLoopPromise<Void>? in
            defer { p = nil }
            return p
        }) else { return }
        promise.completeWith(result)
    }

    private func stop() {
        timer.withLock { $0 }?.cancel()
        let held = planner.withLock { $0.isComplete }
        for id in peers.withLock({ Array($0.keys) }) where !held {
            for chunk in planner.withLock({ $0.inFlight(to: id) }) { node.send(.cancel(distinct[chunk].digest), to: id) }
        }
    }

    private func step() {
        let now = Self.now()
        let due = lastRefresh.withLock { last -> Bool in
            guard now >= last + settings.refresh else { return false }
            last = now
            return true
        }
        if due { refresh(now: now) }
        apply { $0.nextDeadline <= now ? $0.tick(now: now) : [] }
    }

    /// Dials new candidates (up to the limit) and re-asks every peer what it holds.
    private func refresh(now: UInt64) {
        let known = peers.withLock { $0 }
        var dial: [TransferCandidate] = []
        // Dials in progress count too, or slow candidates would be dialled every refresh.
        var connectedCount = known.count
        var holders = known.values.filter(\.complete).count
        // Same zone first, then in a random order, so a fleet does not all dial the same peers.
        let fresh = candidates().filter { known[$0.id] == nil && !node.isBanned($0.id) && $0.id != node.id }.shuffled()
        for candidate in fresh.filter(\.sameZone) + fresh.filter({ !$0.sameZone }) {
            if connectedCount < settings.maxPeers {
                connectedCount += 1
            } else if !(candidate.complete && holders < settings.extraHolders) {
                continue
            }
            if candidate.complete { holders += 1 }
            dial.append(candidate)
        }
        for candidate in dial {
            peers.withLock { $0[candidate.id] = PeerState(complete: candidate.complete) }
            let started = now
            node.link(to: candidate.id, at: candidate.address).whenComplete { [self] result in
                switch result {
                case .success:
                    peers.withLock { $0[candidate.id]?.connected = true }
                    planner.withLock { $0.peerRTT(candidate.id, nanoseconds: Self.now() - started) }
                    apply { $0.addPeer(candidate.id, sameZone: candidate.sameZone, now: Self.now()) }
                    query(candidate.id, now: Self.now())
                case .failure(let error):
                    logger.debug("cannot reach peer \(candidate.id.short) at \(candidate.address): \(error)")
                    // Forget it so a later refresh may try again.
                    peers.withLock { _ = $0.removeValue(forKey: candidate.id) }
                }
            }
        }
        // Chunks that reached the store another way (seeded through the admin API, or
        // fetched by another app's download) need no peer.
        let missing = planner.withLock { $0.missing }
        let arrived = zip(missing, node.chunks.presence(missing.map { distinct[$0].digest })).filter(\.1).map(\.0)
        for chunk in arrived { apply { $0.storedElsewhere(chunk: chunk, now: now) } }
        // Complete peers too: one that refused a chunk (super-seeding, or it dropped it) must
        // be asked again, or that chunk would stay unknown there for good.
        for (id, state) in known where state.connected && now >= state.lastQuery + settings.requery {
            query(id, now: now)
        }
    }

    private func query(_ peer: NodeID, now: UInt64) {
        peers.withLock {
            $0[peer]?.lastQuery = now
            $0[peer]?.awaitingHave = true
        }
        node.send(.haveQuery(digest), to: peer)
    }

    /// A frame from a peer that answers one of our requests; false if it is not ours.
    func handle(_ frame: TransferFrame, from peer: NodeID) -> Bool {
        switch frame {
        case .have(let d, let count, let bits) where d == digest:
            // The count is the peer's word: checked against the manifest before any bit is read.
            guard Int(count) == distinct.count else {
                node.count { $0.badHaveSets? += 1 }
                drop(peer, reason: "have-set of \(count) chunks for a manifest of \(distinct.count)")
                return true
            }
            let presence = TransferFrame.presence(bits, count: distinct.count)
            let now = Self.now()
            let complete = presence.allSatisfy { $0 }
            // The answer to a have-query times the round trip, also to peers that dialled us; a
            // peer found to hold everything counts toward `extraHolders`, however it was found.
            let asked = peers.withLock { peers -> UInt64? in
                if complete { peers[peer]?.complete = true }
                guard peers[peer]?.awaitingHave == true else { return nil }
                peers[peer]!.awaitingHave = false
                return peers[peer]!.lastQuery
            }
            apply {
                if let asked, now > asked { $0.peerRTT(peer, nanoseconds: now - asked) }
                return complete ? $0.peerHasAll(peer, now: now) : $0.peerHas(peer, bitfield: presence, now: now)
            }
            return true
        case .missing(let d) where d == digest:
            // The peer holds nothing of it (yet); a later refresh asks again.
            return true
        case .haveQuery(let d) where d == digest:
            // A peer fetching the same manifest connected to us: it is a source too.
            let now = Self.now()
            let fresh = peers.withLock { peers -> Bool in
                guard peers[peer] == nil else { return false }
                peers[peer] = PeerState(connected: true)
                return true
            }
            if fresh {
                apply { $0.addPeer(peer, sameZone: false, now: now) }
                query(peer, now: now)
            }
            return true
        case .missing(let d):
            guard let i = index[d] else { return false }
            apply { $0.refused(chunk: i, by: peer, now: Self.now()) }
            return true
        case .chunk(let d, let bytes):
            guard let i = index[d] else { return false }
            planner.withLock { $0.arriving(chunk: i, from: peer) }
            writes.async { [self] in
                let valid = bytes.count == Int(distinct[i].size) && Blake2b.digest256(bytes) == d
                if valid {
                    do {
                        try node.chunks.putVerified(d, bytes)
                        node.announce(chunk: d, of: digest)
                        stored?(d, bytes)
                    } catch {
                        logger.error("cannot store chunk \(d.short): \(error)")
                        finish(.failure(error))
                        return
                    }
                }
                node.count {
                    if valid {
                        $0.bytesIn += UInt64(bytes.count)
                        $0.chunksIn += 1
                    } else {
                        $0.badChunks += 1
                    }
                }
                if !valid { logger.warning("chunk \(d.short) from peer \(peer.short) does not match its digest") }
                apply { $0.received(chunk: i, from: peer, valid: valid, now: Self.now()) }
            }
            return true
        default:
            return false
        }
    }

    /// A peer now holds these chunks (its `has` frames of one read): one planner event.
    func peerHas(_ chunks: [Digest256], from peer: NodeID) {
        let held = chunks.compactMap { index[$0] }
        guard !held.isEmpty else { return }
        let now = Self.now()
        apply { p in held.flatMap { p.peerHas(peer, chunk: $0, now: now) } }
    }

    private func drop(_ peer: NodeID, reason: String) {
        logger.info("dropping peer \(peer.short) from download \(digest.short): \(reason)")
        _ = peers.withLock { $0.removeValue(forKey: peer) }
        apply { $0.removePeer(peer, now: Self.now()) }
    }

    /// What one planner event left to do, read under the same lock.
    /// (A struct, not a tuple: a generic over a tuple looks its metadata up on every call.)
    private struct Outcome {
        let directives: [SwarmPlanner.Directive]
        let held: UInt64
        let total: UInt64
    }

    /// Runs one event on the planner (one lock) and performs its directives outside the lock.
    private func apply(_ event: (inout SwarmPlanner) -> [SwarmPlanner.Directive]) {
        let outcome = planner.withLock { p in Outcome(directives: event(&p), held: p.heldBytes, total: p.totalBytes) }
        perform(outcome.directives)
        // Progress moves only when a chunk arrives: most events (a peer's `has`) leave it alone.
        if reported.exchange(outcome.held, ordering: .relaxed) != outcome.held { progress(outcome.held, outcome.total) }
    }

    /// The shell side of the planner's decisions.
    private func perform(_ directives: [SwarmPlanner.Directive]) {
        // Requests and cancels go out together per peer, in the planner's order.
        struct Outgoing {
            let peer: NodeID
            var frames: [TransferFrame]
        }
        var outgoing: [Outgoing] = []
        func queue(_ frame: TransferFrame, to peer: NodeID) {
            if let i = outgoing.firstIndex(where: { $0.peer == peer }) {
                outgoing[i].frames.append(frame)
            } else {
                outgoing.append(Outgoing(peer: peer, frames: [frame]))
            }
        }
        for directive in directives {
            switch directive {
            case .request(let peer, let chunk): queue(.request(distinct[chunk].digest), to: peer)
            case .cancel(let peer, let chunk): queue(.cancel(distinct[chunk].digest), to: peer)
            case .ban(let peer): node.ban(peer, reason: "sent chunks that do not match their digests")
            case .complete:
                finish(.success(()))
            }
        }
        for batch in outgoing { node.send(batch.frames, to: batch.peer) }
    }

    /// A peer's connection closed.
    func peerGone(_ peer: NodeID) {
        guard peers.withLock({ $0.removeValue(forKey: peer) }) != nil else { return }
        apply { $0.removePeer(peer, now: Self.now()) }
    }
}
