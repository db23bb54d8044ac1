import BundlecastCore
import Dispatch
import Gossip
import Logging
import NIOCore
import Swarm
import Synchronization
import TransferWire

/// Downloads one manifest's chunks from peers into the store: the shell around
/// ``SwarmPlanner`` (which chunk from whom) and ``FetchPolicy`` (which peers). It dials the
/// peers the policy picks, asks each for its have-set (again every `requery`, a backstop to
/// the pushed `has` frames), sends the requests the planner decides, and checks every chunk
/// against its digest before storing it; a bad one is a strike against its sender.
///
/// With mirrors (`--mirror`), a chunk no peer has offered for ``FetchSettings/mirrorAfter``
/// is fetched from one by an HTTP range request (``MirrorPlanner``, ``Fetch/runMirrors()``),
/// checked the same way, stored, and announced to peers like any other.
///
/// The pure cores sit in one state struct under one lock: each event (a frame, a dial's
/// outcome, a tick) is one lock, and the frames it asks for are sent after the lock is released.
final class Fetch: Sendable {
    typealias Settings = FetchSettings

    /// Where a download is in its life.
    enum Lifecycle {
        /// Made; `run()` not called yet.
        case idle
        /// `run()` waits for `done`; `timer` drives the planner's clock.
        case running(done: EventLoopPromise<Void>, timer: RepeatedTask)
        /// `done` was completed (every chunk held, a store error, or cancelled); the timer
        /// runs until `run()` returns.
        case finished(timer: RepeatedTask)
        /// `run()` returned, or never had anything to do.
        case stopped
    }

    struct State {
        var planner: SwarmPlanner
        var policy: FetchPolicy
        /// With mirrors: which chunks to ask them for.
        var mirror: MirrorPlanner?
        var lifecycle = Lifecycle.idle
        /// Held bytes last passed to `progress` (it is called only when they change).
        var reported: UInt64 = .max
        /// When the download reached its first peer, request and chunk (for its log line).
        var timeline: FetchTimeline
    }

    let digest: Digest256
    let distinct: [ChunkRef]
    let index: [Digest256: Int]
    let node: TransferNode
    private let candidates: @Sendable () -> [TransferCandidate]
    let logger: Logger
    let progress: @Sendable (_ held: UInt64, _ total: UInt64) -> Void
    /// Called with each chunk stored, checked and still in memory (the tree staged for install).
    let stored: (@Sendable (Digest256, [UInt8]) -> Void)?
    let state: Mutex<State>
    let writes = DispatchQueue(label: "bundlecast.fetch.writes")
    /// The app's mirrors and the requests for them, if it has any.
    let mirrors: MirrorWork?

    init(manifest: Manifest, digest: Digest256, node: TransferNode, settings: Settings, logger: Logger,
         candidates: @escaping @Sendable () -> [TransferCandidate],
         mirrors source: MirrorSource? = nil,
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
        self.logger = logger
        self.progress = progress
        let held = node.chunks.presence(distinct.map(\.digest))
        let planner = SwarmPlanner(sizes: distinct.map(\.size), held: held, settings: settings.swarm,
                                   seed: UInt64.random(in: 0...UInt64.max), now: Self.now())
        var state = State(planner: planner, policy: FetchPolicy(settings: settings, seed: UInt64.random(in: 0...UInt64.max)),
                          timeline: FetchTimeline(started: Self.now()))
        if let source, !source.mirrors.isEmpty {
            mirrors = MirrorWork(source: source, locations: manifest.chunkLocations)
            state.mirror = MirrorPlanner(chunkCount: distinct.count, mirrors: source.mirrors.count,
                                         refused: source.refused(release: digest, now: Self.now()),
                                         settings: settings, seed: UInt64.random(in: 0...UInt64.max))
        } else {
            mirrors = nil
        }
        self.state = Mutex(state)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Runs until every chunk is in the store (or the task is cancelled).
    func run() async throws {
        let loop = node.group.next()
        let done = state.withLock { s -> EventLoopPromise<Void>? in
            guard case .idle = s.lifecycle, !s.planner.isComplete else {
                s.lifecycle = .stopped
                return nil
            }
            let promise = loop.makePromise(of: Void.self)
            let timer = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(50)) { [self] _ in step() }
            s.lifecycle = .running(done: promise, timer: timer)
            return promise
        }
        guard let done else { return }
        let outcome: Result<Void, any Error>
        do {
            try await withTaskCancellationHandler {
                try await withMirrors { try await done.futureResult.get() }
            } onCancel: {
                finish(.failure(CancellationError()))
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        stop()
        // Chunks already checked and queued for the store are written before the download ends.
        await writes.drained()
        try outcome.get()
        logStats()
    }

    /// Completes `run()` once; later calls do nothing.
    func finish(_ result: Result<Void, any Error>) {
        let done = state.withLock { s -> EventLoopPromise<Void>? in
            guard case .running(let done, let timer) = s.lifecycle else { return nil }
            s.lifecycle = .finished(timer: timer)
            return done
        }
        done?.completeWith(result)
    }

    /// Stops the clock and withdraws the requests still in flight (a cancelled download).
    private func stop() {
        let (timer, cancels) = state.withLock { s -> (RepeatedTask?, [(NodeID, [TransferFrame])]) in
            var timer: RepeatedTask?
            switch s.lifecycle {
            case .running(_, let t), .finished(let t): timer = t
            case .idle, .stopped: timer = nil
            }
            s.lifecycle = .stopped
            guard !s.planner.isComplete else { return (timer, []) }
            let cancels = s.policy.known.map { id in (id, s.planner.inFlight(to: id).map { TransferFrame.cancel(distinct[$0].digest) }) }
            return (timer, cancels)
        }
        timer?.cancel()
        for (peer, frames) in cancels { node.send(frames, to: peer) }
    }

    /// One line per download: what its slowest request waited for, how often peers refused,
    /// and how many late requests endgame moved (why a node finished late, in the log).
    private func logStats() {
        let (stats, fromMirrors, timeline) = state.withLock { ($0.planner.stats, $0.mirror?.served, $0.timeline) }
        var metadata: Logger.Metadata = ["manifest": "\(digest.short)", "refused": "\(stats.refusals)", "endgame": "\(stats.endgame)"]
        metadata.merge(timeline.metadata(now: Self.now())) { a, _ in a }
        if let fromMirrors { metadata["from_mirrors"] = "\(fromMirrors)" }
        if let slowest = stats.slowest {
            metadata["slowest_ms"] = "\(slowest.nanoseconds / 1_000_000)"
            metadata["slowest_chunk"] = "\(distinct[slowest.chunk].digest.short)"
            metadata["slowest_peer"] = "\(slowest.peer.short)"
        }
        logger.info("fetched every chunk from peers\(fromMirrors.map { $0 > 0 ? " and mirrors" : "" } ?? "")", metadata: metadata)
    }

    private func step() {
        let now = Self.now()
        let due = state.withLock { s -> Bool in
            // `lacksSource` scans the chunks still wanted: only when it can matter.
            let lacks = now >= s.policy.earliestRefresh && s.planner.lacksSource
            return s.policy.refreshDue(now: now, lacksSource: lacks)
        }
        if due { refresh(now: now) }
        apply { $0.planner.nextDeadline <= now ? $0.planner.tick(now: now) : [] }
        if mirrors != nil { pickMirrorRequests(now: now) }
    }

    /// Dials the candidates the policy picks and re-asks the peers it says are due.
    private func refresh(now: UInt64) {
        let fresh = candidates().filter { !node.isBanned($0.id) && $0.id != node.id }
        let (plan, missing) = state.withLock { s in
            (s.policy.refresh(fresh.map(\.policyCandidate), lacksSource: s.planner.lacksSource, now: now), s.planner.missing)
        }
        for picked in plan.dial {
            if let candidate = fresh.first(where: { $0.id == picked.id }) { dial(candidate, now: now) }
        }
        // Chunks that reached the store another way (seeded through the admin API, or
        // fetched by another app's download) need no peer.
        let arrived = zip(missing, node.chunks.presence(missing.map { distinct[$0].digest })).filter(\.1).map(\.0)
        for chunk in arrived { apply { $0.planner.storedElsewhere(chunk: chunk, now: now) } }
        for peer in plan.query { node.send(.haveQuery(digest), to: peer) }
        if mirrors != nil { refreshMirrorWaits(now: now) }
    }

    private func dial(_ candidate: TransferCandidate, now started: UInt64) {
        node.link(to: candidate.id, at: candidate.address).whenComplete { [self] result in
            switch result {
            case .success:
                let now = Self.now()
                var still = true
                apply { s in
                    // Gone already (its link closed first): not added, or nothing would remove it.
                    guard s.policy.connected(candidate.id, now: now) else {
                        still = false
                        return []
                    }
                    s.planner.peerRTT(candidate.id, nanoseconds: now - started)
                    return s.planner.addPeer(candidate.id, sameZone: candidate.sameZone, now: now)
                }
                if still { node.send(.haveQuery(digest), to: candidate.id) }
            case .failure(let error):
                logger.debug("cannot reach peer \(candidate.id.short) at \(candidate.address): \(error)")
                state.withLock { $0.policy.dialFailed(candidate.id) }
            }
        }
    }
}
