/// When members entered a state that ends after a fixed time (suspected, gone), kept by
/// member and in the order they entered it.
///
/// The earliest to end, and every one due, are found from the front without walking or
/// sorting them all: made-up members can put tens of thousands here, and the next deadline
/// is asked for after every datagram. Time only moves on, so the order they entered is the
/// order they end; an entry whose member has since left the state, or entered it again, is
/// skipped where it stands and dropped once it reaches the front.
struct ExpiryQueue: Sendable {
    private var since: [NodeID: UInt64] = [:]
    private var order: [Entry] = []
    private var head = 0

    private struct Entry: Sendable {
        let id: NodeID
        let since: UInt64
    }

    subscript(id: NodeID) -> UInt64? { since[id] }

    var count: Int { since.count }
    /// Entries kept, those that no longer count included.
    var entries: Int { order.count - head }

    mutating func set(_ id: NodeID, at time: UInt64) {
        since[id] = time
        order.append(Entry(id: id, since: time))
    }

    mutating func remove(_ id: NodeID) {
        since[id] = nil
    }

    private func isCurrent(_ entry: Entry) -> Bool { since[entry.id] == entry.since }

    /// The earliest time a member still here entered the state.
    var earliest: UInt64? {
        var i = head
        while i < order.count {
            if isCurrent(order[i]) { return order[i].since }
            i += 1
        }
        return nil
    }

    /// The members that entered the state at or before `cutoff`, earliest first.
    func due(atOrBefore cutoff: UInt64) -> [NodeID] {
        var out: [NodeID] = []
        var i = head
        while i < order.count {
            let entry = order[i]
            i += 1
            guard isCurrent(entry) else { continue }
            guard entry.since <= cutoff else { break }
            out.append(entry.id)
        }
        return out
    }

    /// Drops the entries at the front that no longer count, and the dead space behind the
    /// front once it is half the queue; and, once entries that no longer count outnumber
    /// the members here (a member that keeps leaving and re-entering the state behind one
    /// that waits), keeps only the current ones (amortized O(1) per entry).
    mutating func prune() {
        while head < order.count, !isCurrent(order[head]) { head += 1 }
        if order.count - head > 2 * since.count + 64 {
            order = order[head...].filter(isCurrent)
            head = 0
        }
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
