/// A node's member table: a shared, read-only base plus this node's own changes on top.
///
/// A real node starts from an empty base and keeps everything in its changes. The simulator
/// gives every node the same converged fleet as the base (``SharedMembers``), so 10,000 nodes
/// share one table of 10,000 members instead of holding 10^8 entries, and each keeps only
/// what it learnt since. Ids iterate in ascending order; random picks go through "slots" (the
/// base's ids, then the additions), a few of which may be empty (a forgotten base member).
struct MemberTable: Sendable {
    private var base: SharedMembers
    /// Base members as this node now knows them, and members the base does not have.
    private var overrides: [NodeID: Member] = [:]
    /// Ids of members not in the base, in the order they came (a removal moves the last into
    /// its place), and where each sits: adding or removing one is O(1), so a flood of
    /// made-up members costs the lock no walk of the table per member.
    private var added: [NodeID] = []
    private var addedAt: [NodeID: Int] = [:]
    /// Base members this node forgot (or is).
    private var removed: Set<NodeID> = []
    private(set) var count: Int

    init(base: SharedMembers = .empty, excluding me: NodeID? = nil) {
        self.base = base
        if let me, base.members[me] != nil { removed.insert(me) }
        count = base.ids.count - removed.count
    }

    subscript(id: NodeID) -> Member? {
        if let m = overrides[id] { return m }
        return removed.contains(id) ? nil : base.members[id]
    }

    mutating func set(_ member: Member) {
        let id = member.id
        if base.members[id] != nil {
            if removed.remove(id) != nil { count += 1 }
        } else if overrides[id] == nil {
            addedAt[id] = added.count
            added.append(id)
            count += 1
        }
        overrides[id] = member
    }

    mutating func remove(_ id: NodeID) {
        if base.members[id] != nil {
            guard removed.insert(id).inserted else { return }
            overrides[id] = nil
            count -= 1
        } else if overrides.removeValue(forKey: id) != nil, let at = addedAt.removeValue(forKey: id) {
            let last = added.removeLast()
            if at < added.count {
                added[at] = last
                addedAt[last] = at
            }
            count -= 1
        }
    }

    /// Every member id, ascending (walks and sorts the additions).
    var ids: [NodeID] {
        let sorted = added.sorted()
        var out: [NodeID] = []
        out.reserveCapacity(count)
        var j = 0
        for id in base.ids where !removed.contains(id) {
            while j < sorted.count, sorted[j] < id { out.append(sorted[j]); j += 1 }
            out.append(id)
        }
        out.append(contentsOf: sorted[j...])
        return out
    }

    var slots: Int { base.ids.count + added.count }

    /// The member id in a slot, or nil for a forgotten base member.
    func id(atSlot k: Int) -> NodeID? {
        if k < base.ids.count {
            let id = base.ids[k]
            return removed.contains(id) ? nil : id
        }
        return added[k - base.ids.count]
    }

}

/// Members several simulated nodes start from, held once (see ``MemberTable``).
public final class SharedMembers: Sendable {
    let members: [NodeID: Member]
    let ids: [NodeID]

    public init(_ list: [Member]) {
        var members: [NodeID: Member] = [:]
        for m in list { members[m.id] = m }
        self.members = members
        ids = members.keys.sorted()
    }

    static let empty = SharedMembers([])
}
