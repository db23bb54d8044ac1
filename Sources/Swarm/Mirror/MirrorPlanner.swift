import Gossip

/// Which chunks of one download to fetch from the app's HTTP mirrors, and from which: the
/// fallback for a release no peer holds yet.
///
/// Pure, like ``SwarmPlanner`` beside it: time is passed in (monotonic nanoseconds), picks
/// are seeded, and nothing whose order matters comes from a `Dictionary`. The shell passes
/// in, every few hundred milliseconds, the chunks the swarm planner has no offer for
/// (``SwarmPlanner/unoffered``), asks for picks at each tick and after each answer, fetches
/// what the directives say, checks the bytes against the chunk's digest, and reports each
/// outcome.
///
/// Rules:
/// - a chunk goes to a mirror only once no peer has offered it for `mirrorAfter`: missing,
///   in no connected peer's have-set and requested from none, at every refresh since; a
///   peer's offer restarts the wait;
/// - at most `mirrorRequests` requests in flight, one per chunk;
/// - picks are random among the chunks that waited long enough, so the nodes of a fleet
///   fetch different chunks from the mirror and trade the rest among themselves;
/// - every request goes to the first usable mirror in the operator's order
///   (``MirrorHealth``): one that served wrong bytes is refused for the rest of the
///   download, one that failed is skipped for a back-off;
/// - a chunk whose request failed or was refused may be picked again at once (for the next
///   mirror): it has waited long enough already.
public struct MirrorPlanner: Sendable {
    public enum Directive: Sendable, Equatable {
        /// Fetch chunk number `chunk` from mirror number `mirror`.
        case fetch(chunk: Int, mirror: Int)
        /// The mirror served wrong bytes: it is not asked again by this download (said once).
        case refused(mirror: Int)
    }

    let after: UInt64
    let limit: Int
    let chunkCount: Int
    public private(set) var health: MirrorHealth
    /// Since when each chunk has had no offer, as of the last refresh; `.max`: it has one, or is held.
    private var since: [UInt64]
    /// Chunks that waited `after` without an offer at the last refresh, not asked of a mirror.
    private var ready: [Int] = []
    /// Chunk → the mirror it was asked of.
    private var inFlight: [Int: Int] = [:]
    private var rng: SplitMix64
    /// Chunks served by a mirror so far.
    public private(set) var served = 0

    /// - Parameters:
    ///   - chunkCount: distinct chunks of the manifest (the swarm planner's index space).
    ///   - mirrors: how many mirrors the app has.
    ///   - refused: mirrors already refused for this release (an earlier download of it).
    public init(chunkCount: Int, mirrors: Int, refused: [Bool] = [], settings: FetchSettings, seed: UInt64) {
        after = settings.mirrorAfter
        limit = max(1, settings.mirrorRequests)
        self.chunkCount = max(0, chunkCount)
        since = Array(repeating: .max, count: self.chunkCount)
        health = MirrorHealth(count: mirrors, refused: refused, retry: settings.mirrorRetry, retryMax: settings.mirrorRetryMax)
        rng = SplitMix64(seed: seed)
    }

    /// Requests in flight.
    public var inFlightCount: Int { inFlight.count }

    /// Whether `chunk` is being fetched from a mirror.
    public func isFetching(_ chunk: Int) -> Bool { inFlight[chunk] != nil }

    /// Brings the waits up to date: `unoffered` are the chunks no peer offers now (the swarm
    /// planner's ``SwarmPlanner/unoffered``; chunks out of range are ignored). A walk over
    /// every missing chunk, so the shell calls it every few hundred milliseconds, not per event.
    public mutating func refresh(unoffered: [Int], now: UInt64) {
        var fresh = [UInt64](repeating: .max, count: chunkCount)
        ready.removeAll(keepingCapacity: true)
        for chunk in unoffered where chunk >= 0 && chunk < chunkCount && fresh[chunk] == .max {
            let start = since[chunk] == .max ? now : since[chunk]
            fresh[chunk] = start
            if inFlight[chunk] == nil, now >= SwarmPlanner.adding(start, after) { ready.append(chunk) }
        }
        since = fresh
    }

    /// The requests to make now, as many as there is room for; `isUnoffered` tells whether a
    /// chunk still has no offer (one may have come since the last refresh).
    public mutating func pick(now: UInt64, isUnoffered: (Int) -> Bool) -> [Directive] {
        var out: [Directive] = []
        while inFlight.count < limit, !ready.isEmpty, let mirror = health.usable(now: now) {
            let i = Int.random(in: ready.indices, using: &rng)
            ready.swapAt(i, ready.count - 1)
            let chunk = ready.removeLast()
            guard inFlight[chunk] == nil, isUnoffered(chunk) else { continue }
            inFlight[chunk] = mirror
            out.append(.fetch(chunk: chunk, mirror: mirror))
        }
        return out
    }

    /// How the request for `chunk` ended. Directives: `.refused` the first time a mirror is.
    /// A chunk that was not served is ready again at once, for the next usable mirror.
    public mutating func answered(chunk: Int, mirror: Int, outcome: MirrorHealth.Outcome, now: UInt64) -> [Directive] {
        guard inFlight[chunk] == mirror else { return [] }
        inFlight[chunk] = nil
        if outcome == .served {
            served += 1
            since[chunk] = .max
        } else if since[chunk] != .max {
            ready.append(chunk)
        }
        return health.record(outcome, mirror: mirror, now: now) ? [.refused(mirror: mirror)] : []
    }
}
