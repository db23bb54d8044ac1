import Logging

/// When a download passed its milestones (monotonic nanoseconds), for its log line: a
/// delta release spends most of its time before its first chunk arrives, and the log
/// says where (``Fetch``; `scripts/bench-swarm.sh` prints the fleet's breakdown from it).
struct FetchTimeline: Sendable {
    let started: UInt64
    /// The first peer of the download said hello (dialled, or it asked us).
    var firstPeer: UInt64?
    /// The first request went out.
    var firstRequest: UInt64?
    /// The first chunk was checked and stored.
    var firstChunk: UInt64?

    init(started: UInt64) { self.started = started }

    /// Notes what one planner event reached: a peer, a request, a chunk.
    mutating func note(peers: Bool, requested: Bool, held: Bool, now: UInt64) {
        if peers, firstPeer == nil { firstPeer = now }
        if requested, firstRequest == nil { firstRequest = now }
        if held, firstChunk == nil { firstChunk = now }
    }

    /// Milliseconds from the start to each milestone reached, as log metadata.
    func metadata(now: UInt64) -> Logger.Metadata {
        func ms(_ t: UInt64?) -> Logger.MetadataValue? {
            t.map { "\(($0 >= started ? $0 - started : 0) / 1_000_000)" }
        }
        var out: Logger.Metadata = ["total_ms": ms(now)!]
        out["peer_ms"] = ms(firstPeer)
        out["request_ms"] = ms(firstRequest)
        out["chunk_ms"] = ms(firstChunk)
        return out
    }
}
