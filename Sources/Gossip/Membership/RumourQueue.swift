/// Rumours that are not membership updates (release notices), spread the
/// same way: every gossip interval each queued rumour goes to `fanout`
/// random members, until it has gone out `limit` times; a rumour just added
/// goes out `freshDelay` after the last round at the earliest, not at the next
/// regular one (as ``SWIMSettings/freshRumourDelay``). Pure, so the node and
/// the simulator share it.
public struct RumourQueue<Payload: Equatable & Sendable>: Sendable {
    private var queue: [(payload: Payload, rounds: Int)] = []
    private var nextAt: UInt64 = 0
    private var lastAt: UInt64 = 0
    private var fresh = false
    public let interval: UInt64
    public let freshDelay: UInt64

    public init(interval: UInt64, freshDelay: UInt64 = SWIMSettings().freshRumourDelay) {
        self.interval = interval
        self.freshDelay = freshDelay
    }

    public var isEmpty: Bool { queue.isEmpty }

    /// Queues a rumour; false if it is already queued.
    @discardableResult
    public mutating func add(_ payload: Payload) -> Bool {
        guard !queue.contains(where: { $0.payload == payload }) else { return false }
        queue.append((payload, 0))
        fresh = true
        return true
    }

    /// The rumours to send now (each to every one of this round's targets),
    /// or none when no round is due.
    public mutating func round(now: UInt64, limit: Int) -> [Payload] {
        guard now >= nextAt || (fresh && now >= lastAt + freshDelay) else { return [] }
        // A regular round right after a fresh one would send the same rumours again.
        nextAt = now >= nextAt ? now + interval : max(nextAt, now + freshDelay)
        lastAt = now
        fresh = false
        let payloads = queue.map(\.payload)
        for i in queue.indices { queue[i].rounds += 1 }
        queue.removeAll { $0.rounds >= limit }
        return payloads
    }

    /// When `round` next has work.
    public var nextDeadline: UInt64 { queue.isEmpty ? .max : fresh ? min(nextAt, lastAt + freshDelay) : nextAt }
}
