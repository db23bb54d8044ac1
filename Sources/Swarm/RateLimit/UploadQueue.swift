import Gossip

/// Fair uploads under a byte rate: requests wait in a queue per requester, and
/// the link takes the requesters in turn, one chunk each.
///
/// Served in arrival order, a requester's share of an uploader followed how
/// much it had asked for, and a requester keeps in flight what it received in
/// the last moments: the node that got more asked for more, and kept getting
/// more. From a seed that meant one node received 177 of 1,024 fresh chunks and
/// another 8, and the first then had to upload its share to everyone, alone. In
/// turns, every requester with something queued gets the same share.
///
/// Pure, like ``TokenBucket``: time is passed in (monotonic nanoseconds), and
/// nothing is iterated in hash order, so the shell and the simulator book the
/// same slots from the same events. The link is booked at most `lookahead`
/// past `now` (plus the chunk that crosses it), so turns are decided late and
/// a cancelled request still queued costs no upload time.
public struct UploadQueue<Item: Sendable>: Sendable {
    /// A chunk given its turn: send it at `start`.
    public struct Booking: Sendable {
        public let item: Item
        public let requester: NodeID
        public let start: UInt64

        @usableFromInline init(item: Item, requester: NodeID, start: UInt64) {
            self.item = item
            self.requester = requester
            self.start = start
        }
    }

    @usableFromInline struct Waiting: Sendable {
        @usableFromInline let item: Item
        @usableFromInline let bytes: Int

        @usableFromInline init(item: Item, bytes: Int) {
            self.item = item
            self.bytes = bytes
        }
    }

    public let bytesPerSecond: UInt64
    public let lookahead: UInt64
    @usableFromInline var queues: [NodeID: [Waiting]] = [:]
    /// Requesters with something queued, in the order their turns come.
    @usableFromInline var order: [NodeID] = []
    /// Whose turn is next (an index into `order`).
    @usableFromInline var turn = 0
    /// When the link is free again.
    @usableFromInline var busyUntil: UInt64 = 0

    /// How far a late ``book(now:)`` may start turns in the past: a process waiting for a
    /// core calls late, and without this the link would lose that time for good; with it
    /// the long-run rate holds, in bursts of at most this much.
    public let catchUp: UInt64

    public init(bytesPerSecond: UInt64, lookahead: UInt64 = 50_000_000, catchUp: UInt64 = 20_000_000) {
        self.bytesPerSecond = max(1, bytesPerSecond)
        self.lookahead = lookahead
        self.catchUp = catchUp
    }

    /// Requests waiting for their turn.
    @inlinable public var waiting: Int { order.reduce(0) { $0 + queues[$1]!.count } }

    /// Nothing waits and nothing booked is still being sent at `now`.
    @inlinable public func isIdle(now: UInt64) -> Bool { order.isEmpty && busyUntil <= now }

    /// Queues a request of `bytes` from `requester`; ``book(now:)`` gives it its turn.
    @inlinable public mutating func enqueue(_ item: Item, bytes: Int, from requester: NodeID, now: UInt64) {
        // An idle link starts afresh: time it was not asked for is not owed.
        if order.isEmpty, busyUntil < now { busyUntil = now }
        if queues[requester] == nil {
            queues[requester] = []
            order.append(requester)
        }
        queues[requester]!.append(Waiting(item: item, bytes: bytes))
    }

    /// Drops the requester's waiting requests that `matches` says (a cancel); returns them.
    @inlinable @discardableResult
    public mutating func remove(from requester: NodeID, where matches: (Item) -> Bool) -> [Item] {
        guard let queue = queues[requester] else { return [] }
        var kept: [Waiting] = [], removed: [Item] = []
        for waiting in queue {
            if matches(waiting.item) { removed.append(waiting.item) } else { kept.append(waiting) }
        }
        if kept.isEmpty { forget(requester) } else { queues[requester] = kept }
        return removed
    }

    /// Gives turns until the link is booked past `now + lookahead`, and returns them in
    /// order, each with the time its chunk starts: when the one before ends, or up to
    /// `catchUp` in the past when this call comes late (send those at once).
    @inlinable public mutating func book(now: UInt64) -> [Booking] {
        var out: [Booking] = []
        while !order.isEmpty, busyUntil <= now + lookahead {
            if turn >= order.count { turn = 0 }
            let requester = order[turn]
            let next = queues[requester]!.removeFirst()
            if queues[requester]!.isEmpty {
                forget(requester)
            } else {
                turn += 1
            }
            let start = max(busyUntil, now > catchUp ? now - catchUp : 0)
            busyUntil = start + UInt64(next.bytes) * 1_000_000_000 / bytesPerSecond
            out.append(Booking(item: next.item, requester: requester, start: start))
        }
        return out
    }

    /// When ``book(now:)`` will give the next turn, or nil when nothing waits.
    @inlinable public var nextBooking: UInt64? {
        order.isEmpty ? nil : (busyUntil > lookahead ? busyUntil - lookahead : 0)
    }

    @usableFromInline mutating func forget(_ requester: NodeID) {
        queues[requester] = nil
        guard let i = order.firstIndex(of: requester) else { return }
        order.remove(at: i)
        if i < turn { turn -= 1 }
    }
}
