import Gossip

/// Which chunk to ask which peer for, for one manifest's distinct chunk list.
///
/// A pure value type in the style of the gossip state machine: events and the
/// current time (monotonic nanoseconds) go in, directives come out. No I/O, no
/// clock, no global randomness (a seeded ``SplitMix64`` lives in the state),
/// and nothing whose order matters comes from iterating a `Dictionary` or
/// `Set`, so the transfer shell and the simulator get the same answers from
/// the same seed and events.
///
/// Policy:
/// - a chunk is requested only from a peer that said it has it, never when it
///   is held, and never from two peers at once except in endgame;
/// - the first `randomFirst` picks are uniformly random among requestable
///   chunks, later ones rarest first (fewest peers have it), ties broken by a
///   seeded random key per chunk rather than by index;
/// - among the peers that have a chunk and a free window slot: same zone
///   first, then a clearly lower measured RTT (half or less, and at least
///   1 ms less), then measured before unmeasured, then fewer in flight, then
///   a seeded random key per peer (so the downloaders of a fleet do not all
///   prefer the lowest id); a peer whose request for the chunk timed out or came back
///   bad is asked again only when no one else has it;
/// - each peer's window keeps 20 ms of its measured throughput in flight,
///   and at least two of its round trips (`minWindow...maxWindow`); a pass
///   with time-outs halves it;
/// - at most `maxBytesInFlight` bytes requested and not received (one request
///   is always allowed when nothing is in flight), and, with a download rate,
///   each request spends its size from a ``TokenBucket``;
/// - endgame (every missing chunk is in flight): a late request (older than the download's
///   smoothed answer time plus four deviations, as TCP's time-out) is also asked of a peer
///   with a free slot, up to `endgameDuplicates` peers, the first valid copy cancelling the
///   others; one `endgameAfter` old is moved instead (with `endgameMoves`: the late peer
///   gets a cancel); either way within the `endgameBudget`;
/// - `strikesToBan` bad chunks ban a peer for the life of the planner.
public struct SwarmPlanner: Sendable {
    /// What the shell should do next.
    public enum Directive: Equatable, Sendable {
        /// Ask `peer` for chunk number `chunk`.
        case request(peer: NodeID, chunk: Int)
        /// Withdraw a request: its chunk arrived from elsewhere, or endgame moved it.
        case cancel(peer: NodeID, chunk: Int)
        /// The peer reached `strikesToBan` bad chunks: close its connection and log.
        case ban(peer: NodeID)
        /// Every chunk is held (emitted once).
        case complete
    }

    let settings: SwarmSettings
    /// `settings.minWindow...settings.maxWindow`, made sane (at least 1, not inverted).
    let windows: ClosedRange<Int>
    let sizes: [UInt32]
    /// Mean chunk size, to turn a byte rate into a request count.
    let meanChunkSize: Double
    /// A seeded random key per chunk: how rarest-first breaks ties.
    let tieKey: [UInt64]
    var rng: SplitMix64

    var held: [Bool]
    /// The chunks not held: what endgame looks through.
    var wanted: ChunkBitset
    /// The chunks not held and not requested from anyone: what a fresh pick looks through.
    /// Changed only through ``setOpen(_:_:)``, which keeps `rarity` in step.
    private(set) var open: ChunkBitset
    /// Known, not banned peers that have each chunk. Changed only through
    /// ``setHas(_:_:_:)``, ``setHave(_:_:)`` and ``forget(_:)``, which keep `rarity` in step.
    private(set) var availability: [Int]
    /// The open chunks by availability, in rarest-first order (``RarityIndex``).
    private(set) var rarity: RarityIndex
    /// The peers each chunk is in flight to, in request order.
    var requestedFrom: [[NodeID]]
    /// Chunks whose bytes arrived and are being checked (``arriving(chunk:from:)``): not late.
    var arriving: Set<Int> = []

    var table: [NodeID: SwarmPeer] = [:]
    /// The keys of `table` in ascending order: every iteration goes through this.
    var ids: [NodeID] = []
    var strikes: [NodeID: Int] = [:]
    /// Smoothed round trips, also of peers not added yet (the shell may
    /// measure while connecting) or gone for now; only looked up, never iterated.
    var rtts: [NodeID: UInt64] = [:]
    /// The least round trip seen per peer (the path, without the queues of a busy moment).
    var minRTTs: [NodeID: UInt64] = [:]
    /// Peers banned for bad chunks: kept out of this download.
    var banned = BoundedPeerSet(capacity: SwarmPlanner.keptOut)

    /// Fresh (non-endgame) picks so far, for random-first.
    var picks = 0
    var bucket: TokenBucket?
    /// When the rate limiter will allow the request it last refused.
    var rateWakeup: UInt64?
    /// When an in-flight chunk becomes old enough for an endgame duplicate.
    var endgameWakeup: UInt64?
    /// How long requests take to be answered, once one was (``RequestTime``).
    var requestTime: RequestTime?
    var completeEmitted = false
    /// No request can have timed out before this (so most events skip the time-out scan).
    var expiryCheckAt: UInt64 = .max

    /// Chunks held so far.
    public internal(set) var heldCount: Int
    /// Bytes of the chunks held so far.
    public internal(set) var heldBytes: UInt64
    /// Bytes of all distinct chunks.
    public let totalBytes: UInt64
    /// Bytes requested and not yet received, endgame duplicates included.
    public internal(set) var bytesInFlight: UInt64 = 0
    /// Bytes of endgame duplicates requested so far, and how many there may be
    /// (``SwarmSettings/endgameBudget``).
    public internal(set) var duplicateBytes: UInt64 = 0
    let duplicateBudget: UInt64
    /// How the download went, for its log line (``Stats``).
    public internal(set) var stats = Stats()

    /// What a download's requests met: how long the slowest took, and how many came back
    /// refused. The shell logs it when the download ends, so a slow node says why.
    public struct Stats: Sendable {
        /// The longest a requested chunk took to arrive, the chunk and the peer, if any arrived.
        public var slowest: (nanoseconds: UInt64, chunk: Int, peer: NodeID)?
        /// Requests answered "missing" (the peer dropped the chunk, or a seed super-seeds).
        public var refusals = 0
        /// Endgame picks: late requests moved to another peer (or, with `endgameMoves` off,
        /// asked of a second peer at once).
        public var endgame = 0
    }

    /// - Parameters:
    ///   - sizes: size in bytes of each distinct chunk (index = chunk number).
    ///   - held: which chunks are already in the local store (missing entries count as not held).
    ///   - seed: for random-first picks and rarest-first tie breaks.
    ///   - now: monotonic nanoseconds (starts the rate limiter).
    public init(sizes: [UInt32], held: [Bool], settings: SwarmSettings, seed: UInt64, now: UInt64) {
        self.settings = settings
        let low = max(1, settings.minWindow)
        windows = low...max(low, settings.maxWindow)
        self.sizes = sizes
        let count = sizes.count
        let total = sizes.reduce(UInt64(0)) { $0 + UInt64($1) }
        totalBytes = total
        meanChunkSize = count == 0 ? 1 : max(1, Double(total) / Double(count))
        var rng = SplitMix64(seed: seed)
        tieKey = (0..<count).map { _ in rng.next() }
        self.rng = rng
        self.held = (0..<count).map { $0 < held.count && held[$0] }
        heldCount = self.held.lazy.filter { $0 }.count
        heldBytes = zip(sizes, self.held).reduce(UInt64(0)) { $0 + ($1.1 ? UInt64($1.0) : 0) }
        var wanted = ChunkBitset(count: count)
        for chunk in 0..<count where !self.held[chunk] { wanted[chunk] = true }
        self.wanted = wanted
        open = wanted
        availability = Array(repeating: 0, count: count)
        rarity = RarityIndex(tieKey: tieKey, open: wanted)
        requestedFrom = Array(repeating: [], count: count)
        let missingBytes = total - heldBytes
        // At least the largest chunk it lacks (not the manifest's largest: a small delta would get
        // a budget of a 256 KiB chunk whatever it lacks).
        let largestMissing = zip(sizes, self.held).reduce(UInt32(0)) { $1.1 ? $0 : max($0, $1.0) }
        duplicateBudget = max(UInt64(largestMissing), UInt64(Double(missingBytes) * max(0, settings.endgameBudget)))
        bucket = settings.downloadBytesPerSecond.map {
            TokenBucket(bytesPerSecond: $0, burst: UInt64(sizes.max() ?? 0), now: now)
        }
    }

    // MARK: - Queries

    /// Number of distinct chunks.
    public var chunkCount: Int { sizes.count }

    /// Whether every chunk is held.
    public var isComplete: Bool { heldCount == sizes.count }

    /// The chunks not held yet, in index order.
    public var missing: [Int] { held.indices.filter { !held[$0] } }

    /// The chunks not held that no known peer has said it has and none is asked for, in
    /// index order: what only a mirror can give now (``MirrorPlanner``).
    public var unoffered: [Int] {
        var out: [Int] = []
        wanted.forEach { if availability[$0] == 0 && requestedFrom[$0].isEmpty { out.append($0) } }
        return out
    }

    /// Whether some chunk is ``unoffered``: a peer that holds the whole release would be a
    /// source no known peer is (``FetchPolicy``'s `extraHolders`).
    public var lacksSource: Bool {
        var lacks = false
        for w in wanted.words.indices where wanted.words[w] != 0 && !lacks {
            var bits = wanted.words[w]
            while bits != 0, !lacks {
                let chunk = w << 6 | bits.trailingZeroBitCount
                lacks = availability[chunk] == 0 && requestedFrom[chunk].isEmpty
                bits &= bits - 1
            }
        }
        return lacks
    }

    /// Whether `chunk` is one of ``unoffered``.
    public func isUnoffered(_ chunk: Int) -> Bool {
        sizes.indices.contains(chunk) && !held[chunk] && availability[chunk] == 0 && requestedFrom[chunk].isEmpty
    }

    /// Whether the peer was banned for bad chunks.
    public func isBanned(_ peer: NodeID) -> Bool { banned.contains(peer) }

    /// Whether the peer is asked for nothing at `now`, for answering nothing
    /// (``SwarmSettings/timeoutsToBench``).
    public func isBenched(_ peer: NodeID, now: UInt64) -> Bool { table[peer].map { now < $0.benchedUntil } ?? false }

    /// Whether some chunk the download lacks is offered by this peer alone.
    func isSoleSource(_ id: NodeID) -> Bool {
        guard let peer = table[id] else { return false }
        return sizes.indices.contains { !held[$0] && availability[$0] == 1 && has(peer, $0) }
    }

    /// The most peers one download keeps books on that it did not choose (banned ones, their
    /// strikes, round trips): ids cost nothing to make.
    public static let keptOut = 4096

    /// Known, not banned peers, in id order.
    public var peers: [NodeID] { ids }

    /// Chunk numbers requested from `peer` and not answered, ascending.
    public func inFlight(to peer: NodeID) -> [Int] {
        table[peer]?.inFlight.keys.sorted() ?? []
    }

    /// Earliest time ``tick(now:)`` must be called: the first request time-out, the rate
    /// limiter's refill, or the end of a peer's bench, or `UInt64.max` when nothing waits.
    public var nextDeadline: UInt64 {
        var earliest = min(rateWakeup ?? .max, endgameWakeup ?? .max)
        for id in ids {
            if table[id]!.benchedUntil != 0 { earliest = min(earliest, table[id]!.benchedUntil) }
            for issued in table[id]!.inFlight.values {
                earliest = min(earliest, Self.adding(issued, settings.requestTimeout))
            }
        }
        return earliest
    }

    /// The peer's current window (for tests and diagnostics).
    func window(of peer: NodeID) -> Int? { table[peer]?.window }

    /// Time-outs counted against the peer (for tests and diagnostics).
    func misses(of peer: NodeID) -> Int? { table[peer]?.misses }

    // MARK: - The records rarest first reads

    /// Opens `chunk` to fresh picks or closes it.
    mutating func setOpen(_ chunk: Int, _ value: Bool) {
        guard open[chunk] != value else { return }
        open[chunk] = value
        if value { rarity.insert(chunk, availability: availability[chunk]) } else { rarity.remove(chunk, availability: availability[chunk]) }
    }

    /// Records whether the known `peer` has `chunk`: its have-sets and the chunk's
    /// availability. Returns whether that changed anything (false for an unknown peer).
    @discardableResult
    mutating func setHas(_ peer: NodeID, _ chunk: Int, _ value: Bool) -> Bool {
        // Changed in place: reading `table[peer]` first would copy the peer, and its sets.
        guard table[peer]?.setHas(at: Int(rarity.position[chunk]), value) == true else { return false }
        moveAvailability(of: chunk, by: value ? 1 : -1)
        return true
    }

    /// Replaces a known peer's have-set (`has` by chunk number).
    mutating func setHave(_ peer: NodeID, _ has: ChunkBitset) {
        guard let old = table[peer]?.hasRanked else { return }
        var ranked = ChunkBitset(count: chunkCount)
        has.forEach { ranked[Int(rarity.position[$0])] = true }
        for w in ranked.words.indices {
            var changed = ranked.words[w] ^ old.words[w]
            while changed != 0 {
                let spot = w << 6 | changed.trailingZeroBitCount
                moveAvailability(of: Int(rarity.chunkAt[spot]), by: ranked[spot] ? 1 : -1)
                changed &= changed - 1
            }
        }
        table[peer]!.replaceHas(ranked)
    }

    /// Whether the peer said it has `chunk`.
    func has(_ peer: SwarmPeer, _ chunk: Int) -> Bool {
        peer.hasRanked[Int(rarity.position[chunk])]
    }

    /// Takes a peer that is being removed out of the availability of every chunk it has.
    mutating func forget(_ peer: SwarmPeer) {
        peer.hasRanked.forEach { moveAvailability(of: Int(rarity.chunkAt[$0]), by: -1) }
    }

    private mutating func moveAvailability(of chunk: Int, by change: Int) {
        let old = availability[chunk]
        availability[chunk] = old + change
        if open[chunk] { rarity.move(chunk, from: old, to: old + change) }
    }

    static func adding(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
