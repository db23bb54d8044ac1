import Gossip

/// What a ``SwarmPlanner`` knows about one connected, not banned peer.
struct SwarmPeer: Sendable {
    /// How much of a peer's measured throughput the window keeps in flight: at least
    /// this long, and at least two of its least round trips (so a long link stays full;
    /// the least, because a busy peer answers have-queries late, and its smoothed round
    /// trip then measures its queue, not the path).
    /// More than that only queues at the uploader: a chunk asked for waits behind the
    /// whole window, and the chunks a fleet lacks most (the ones just announced, which
    /// rarest first asks for at once) take that long longer at every hop. An uploader
    /// serving many requesters gives each a small share of its link, and a long target with
    /// a floor of two requests kept about two of every requester's requests queued there;
    /// with this target and `minWindow` 1 a request waits behind about one per requester
    /// (the link still has one of each other requester's queued while the next request is on
    /// its way). A peer alone on its uploader's link measures the whole link and keeps
    /// several chunks in flight, so a lone transfer is still pipelined. The simulated
    /// fleets before and after are in docs/benchmarks.md, *Swarm simulation*.
    static let targetInFlightNanoseconds = 20_000_000.0
    /// Weight of a new throughput sample in the moving average.
    static let throughputGain = 0.25

    var sameZone: Bool
    /// A seeded random key of this planner's for the peer: how ties between peers break, so
    /// the requesters of a fleet do not all prefer the same (lowest-id) uploader.
    var tieKey: UInt64 = 0
    /// Smoothed round trip; `nil` until measured (and then ranked last).
    var rtt: UInt64?
    /// The least round trip measured: the path's own delay, without queues.
    var minRTT: UInt64?
    /// Which chunks it said it has, each at its rarest-first position
    /// (``RarityIndex/position``, not its chunk number), so a pick reads it a word at a time
    /// in rank order.
    private(set) var hasRanked: ChunkBitset
    /// Requests it may have in flight.
    var window: Int
    /// Requested chunk -> when (ns). Iterated only after sorting its keys.
    var inFlight: [Int: UInt64] = [:]
    /// Chunks that timed out or came back bad from this peer: asked elsewhere
    /// while anyone else has them.
    var avoid: Set<Int> = []
    /// Time-outs so far.
    var misses = 0
    /// Time-outs of this peer since it last delivered a chunk, counted at most once per
    /// request time-out (``SwarmSettings/timeoutsToBench``), and when the last was counted.
    var missesSinceDelivery = 0
    var lastMissCounted: UInt64 = 0
    /// Until then (nanoseconds) the peer is asked for nothing: it answered nothing for
    /// ``SwarmSettings/timeoutsToBench`` time-outs running. 0: not benched (cleared when the
    /// bench ends, so that ``SwarmPlanner/nextDeadline`` does not keep naming a past time).
    var benchedUntil: UInt64 = 0
    /// The last scan found nothing this peer has that is still to request, not even a chunk
    /// that failed here before (the slow path asks for those when no one else has them);
    /// scans skip it until it announces a chunk or a chunk becomes
    /// requestable again (which is what keeps a pick cheap with many peers).
    var exhausted = false
    /// Moving average of delivered bytes per second; `nil` until measured.
    var throughput: Double?
    /// When the last throughput sample ended.
    var lastDelivery: UInt64 = 0
    /// Bytes delivered in no measurable time, added to the next sample.
    var pendingBytes: UInt64 = 0

    init(sameZone: Bool, chunkCount: Int, window: Int) {
        self.sameZone = sameZone
        hasRanked = ChunkBitset(count: chunkCount)
        self.window = window
    }

    /// Records whether it has the chunk at rarest-first `position`; returns whether that
    /// changed anything. A chunk it has now may be one to offer: it is no longer exhausted.
    mutating func setHas(at position: Int, _ value: Bool) -> Bool {
        guard hasRanked[position] != value else { return false }
        hasRanked[position] = value
        if value { exhausted = false }
        return true
    }

    /// Replaces its have-set (ranked) and clears `exhausted`.
    mutating func replaceHas(_ ranked: ChunkBitset) {
        hasRanked = ranked
        exhausted = false
    }

    var hasFreeSlot: Bool { inFlight.count < window }

    /// Folds a round-trip sample into a smoothed value with TCP's SRTT gain
    /// (1/8): steady against one slow reply.
    static func smoothedRTT(_ previous: UInt64?, _ sample: UInt64) -> UInt64 {
        previous.map { $0 - $0 / 8 + sample / 8 } ?? sample
    }

    /// Round trips that differ by less than half or by under a millisecond rank
    /// the same: on one network they differ by the peers' momentary load, and
    /// ranking by that noise would send every request to whichever peer
    /// happened to answer first, leaving the others' uploads idle.
    static func clearlyNearer(_ a: UInt64, than b: UInt64) -> Bool {
        a < b / 2 && b - a >= 1_000_000
    }

    /// A requested chunk of `bytes` issued at `issuedAt` arrived at `now`.
    /// The sample runs from the later of the previous arrival and the request,
    /// so a pipelined peer is measured by its delivery rate, not its latency.
    mutating func recordDelivery(bytes: UInt64, issuedAt: UInt64, now: UInt64,
                                 meanChunkSize: Double, windows: ClosedRange<Int>) {
        let start = max(lastDelivery, issuedAt)
        pendingBytes += bytes
        guard now > start else { return }
        let sample = Double(pendingBytes) * 1e9 / Double(now - start)
        let average = throughput.map { $0 + Self.throughputGain * (sample - $0) } ?? sample
        throughput = average
        pendingBytes = 0
        lastDelivery = now
        let keep = max(Self.targetInFlightNanoseconds, 2 * Double(minRTT ?? 0))
        let target = (average * keep / 1e9 / meanChunkSize).rounded(.up)
        window = target >= Double(windows.upperBound) ? windows.upperBound : max(windows.lowerBound, Int(target))
    }

    /// One or more requests timed out in one pass: halve once (they are one
    /// congestion event, not several), count each as a miss.
    /// Requests issued a moment apart time out in passes a moment apart: a pass is counted
    /// toward ``missesSinceDelivery`` only a time-out (`spacing`) after the last counted one.
    mutating func recordTimeouts(_ count: Int, minWindow: Int, now: UInt64, spacing: UInt64) {
        misses += count
        if lastMissCounted == 0 || (now >= lastMissCounted && now - lastMissCounted >= spacing) {
            missesSinceDelivery += 1
            lastMissCounted = now
        }
        window = max(minWindow, window / 2)
    }

    /// Whether this peer ranks before `other` for a chunk both have: same zone,
    /// then a clearly lower RTT (see ``clearlyNearer(_:than:)``), then a known
    /// RTT, then fewer in flight; ties go to the lower ``tieKey`` (random per planner).
    func isPreferred(_ id: NodeID, over other: SwarmPeer, _ otherID: NodeID) -> Bool {
        if sameZone != other.sameZone { return sameZone }
        switch (rtt, other.rtt) {
        case let (a?, b?) where Self.clearlyNearer(a, than: b): return true
        case let (a?, b?) where Self.clearlyNearer(b, than: a): return false
        case (.some, .none): return true
        case (.none, .some): return false
        default: break
        }
        if inFlight.count != other.inFlight.count { return inFlight.count < other.inFlight.count }
        if tieKey != other.tieKey { return tieKey < other.tieKey }
        return id < otherID
    }
}
