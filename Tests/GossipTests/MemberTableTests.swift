@testable import Gossip
import Testing

@Suite struct MemberTableTests {
    func member(_ n: UInt64, incarnation: UInt64 = 1, status: Member.Status = .alive) -> Member {
        Member(id: NodeID(high: 0, low: n), address: PeerAddress(host: "10.0.0.\(n)", port: 1), incarnation: incarnation, status: status, metadata: [])
    }

    @Test func changesOverASharedBaseReadLikeOneTable() {
        let shared = SharedMembers([member(1), member(3), member(5), member(7)])
        var t = MemberTable(base: shared, excluding: NodeID(high: 0, low: 3))
        #expect(t.count == 3 && t.ids.map(\.low) == [1, 5, 7] && t[NodeID(high: 0, low: 3)] == nil, "this node is not its own member")
        t.set(member(4))
        t.set(member(9))
        t.set(member(5, incarnation: 2, status: .suspect))
        #expect(t.count == 5 && t.ids.map(\.low) == [1, 4, 5, 7, 9])
        #expect(t[NodeID(high: 0, low: 5)]?.status == .suspect && t[NodeID(high: 0, low: 5)]?.incarnation == 2)
        t.remove(NodeID(high: 0, low: 1))
        t.remove(NodeID(high: 0, low: 4))
        t.remove(NodeID(high: 0, low: 4))
        t.remove(NodeID(high: 0, low: 42))
        #expect(t.count == 3 && t.ids.map(\.low) == [5, 7, 9])
        t.set(member(1, incarnation: 3))
        #expect(t.count == 4 && t.ids.map(\.low) == [1, 5, 7, 9] && t[NodeID(high: 0, low: 1)]?.incarnation == 3)
        // Slots: the base's ids, then additions; forgotten base members are empty slots.
        let inSlots = (0..<t.slots).compactMap { t.id(atSlot: $0)?.low }
        #expect(Set(inSlots) == [1, 5, 7, 9] && inSlots.count == 4)
        // Another node over the same base is untouched.
        let other = MemberTable(base: shared, excluding: NodeID(high: 0, low: 1))
        #expect(other.ids.map(\.low) == [3, 5, 7] && other[NodeID(high: 0, low: 5)]?.status == .alive)
    }

    @Test func aRealNodesTableHasNoBase() {
        var t = MemberTable()
        for n: UInt64 in [5, 2, 8, 1] { t.set(member(n)) }
        #expect(t.ids.map(\.low) == [1, 2, 5, 8] && t.slots == 4)
        t.remove(NodeID(high: 0, low: 2))
        #expect(t.ids.map(\.low) == [1, 5, 8] && t.slots == 3 && t.count == 3)
    }
}

extension MemberTableTests {
    /// Additions and removals in any order keep every id once, in a slot and in `ids`, ascending.
    @Test func additionsAndRemovalsInAnyOrderKeepEachIdOnce() {
        var t = MemberTable()
        var rng = SplitMix64(seed: 7)
        var held = Set<UInt64>()
        for _ in 0..<2_000 {
            let n = rng.next() % 300
            if rng.next() % 3 == 0 {
                t.remove(NodeID(high: 0, low: n))
                held.remove(n)
            } else {
                t.set(member(n))
                held.insert(n)
            }
        }
        #expect(t.count == held.count && t.slots == held.count)
        #expect(t.ids.map(\.low) == held.sorted())
        let inSlots = (0..<t.slots).compactMap { t.id(atSlot: $0)?.low }
        #expect(inSlots.count == held.count && Set(inSlots) == held)
    }
}
