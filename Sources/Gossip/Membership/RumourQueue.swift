/// Rumours that are not membership updates (release notices), spread the
/// same way: every gossip interval each queued rumour goes to `fanout`
/// random members, until it has gone out `limit` times; a rumour just added
/// goes out `freshDelay` after the last round at the earliest, not at the next
/// regular one (as ``SWIMSettings/freshRumourDelay``). Pure, so the node and
/// the simulator share it.
public struct RumourQueue<Payload: Equatable & Sendable>: Sendable {
    private var queue: [(payload: Payload, rounds: Int)] = []
    private var rounds: GossipRounds
    public var interval: UInt64 { rounds.interval }
    public var freshDelay: UInt64 { rounds.freshDelay }

    public init(interval: UInt64, freshDelay: UInt64 = SWIMSettings().freshRumourDelay) {
        rounds = GossipRounds(interval: interval, freshDelay: freshDelay, firstAt: 0)
    }

    public var isEmpty: Bool { queue.isEmpty }

    /// Queues a rumour; false if it is already queued.
    @discardableResult
    public mutating func add(_ payload: Payload) -> Bool {
        guard !queue.contains(where: { $0.payload == payload }) else { return false }
        queue.append((payload, 0))
        rounds.markFresh()
        return true
    }

    /// The rumours to send now (each to every one of this round's targets),
    /// or none when no round is due.
    public mutating func round(now: UInt64, limit: Int) -> [Payload] {
        guard rounds.take(now: now) else { return [] }
        let payloads = queue.map(\.payload)
        for i in queue.indices { queue[i].rounds += 1 }
        queue.removeAll { $0.rounds >= limit }
        return payloads
    }

    /// Lets a due round pass without sending or counting it (no one to send it to): the
    /// rumours keep every send they have left, and the next round is an interval away.
    public mutating func postpone(now: UInt64) {
        _ = rounds.take(now: now)
    }

    /// When `round` next has work.
    public var nextDeadline: UInt64 { queue.isEmpty ? .max : rounds.deadline }
}
