import Gossip
import Swarm

/// The node's bans: who is kept out, which bans are still to be written to `node.sqlite`,
/// and how many ban lines the log took this minute.
///
/// Ids cost nothing to make, and a peer that sends garbage for the chunks it was asked for is
/// banned at its third: an attacker can be banned as often as it likes. So each part is
/// bounded: the set forgets its oldest ban past ``capacity`` (that peer may come back and be
/// judged again), the bans waiting to be written stop at ``pendingLimit`` (past it a ban
/// holds for this run only), one writer writes what waits in one transaction, and the log
/// takes ``linesPerMinute`` ban lines a minute, then says how many it left out.
struct BanBook: Sendable {
    static let capacity = 65_536
    static let pendingLimit = 1_024
    static let linesPerMinute = 10
    static let minute: UInt64 = 60_000_000_000

    var peers = BoundedPeerSet(capacity: capacity)
    private(set) var toRecord: [(peer: NodeID, reason: String)] = []
    /// A writer is taking ``toRecord`` (``TransferNode/recordBans()``).
    private(set) var recording = false
    /// Bans not written because too many waited.
    private(set) var unrecorded = 0
    private var window: UInt64 = 0
    private var lines = 0
    private var quiet = 0

    /// Queues a new ban for writing; true when the caller must start the writer.
    mutating func queue(_ peer: NodeID, reason: String) -> Bool {
        guard toRecord.count < Self.pendingLimit else {
            unrecorded += 1
            return false
        }
        toRecord.append((peer, reason))
        defer { recording = true }
        return !recording
    }

    /// What waits to be written, taken; the writer stops when it gets nothing.
    mutating func takeRecords() -> [(peer: NodeID, reason: String)] {
        defer { toRecord = [] }
        if toRecord.isEmpty { recording = false }
        return toRecord
    }

    /// Whether a ban at `now` gets a log line, and how many bans went unlogged before it
    /// (in this window or the last).
    mutating func logLine(now: UInt64) -> (log: Bool, quietBefore: Int) {
        if now < window || now - window >= Self.minute {
            window = now
            lines = 0
        }
        guard lines < Self.linesPerMinute else {
            quiet += 1
            return (false, 0)
        }
        lines += 1
        defer { quiet = 0 }
        return (true, quiet)
    }
}
