@testable import Gossip
import Testing

@Suite struct ExpiryQueueTests {
    let a = NodeID(high: 0, low: 1), b = NodeID(high: 0, low: 2), c = NodeID(high: 0, low: 3)

    @Test func theEarliestAndTheDueComeFromTheFrontSkippingWhatNoLongerCounts() {
        var q = ExpiryQueue()
        #expect(q.earliest == nil && q.due(atOrBefore: .max).isEmpty)
        q.set(a, at: 10)
        q.set(b, at: 20)
        q.set(c, at: 30)
        #expect(q.earliest == 10 && q.count == 3)
        #expect(q.due(atOrBefore: 20) == [a, b])
        q.remove(a)
        #expect(q.earliest == 20 && q[a] == nil)
        // b enters the state again later: its first entry no longer counts.
        q.set(b, at: 40)
        #expect(q.earliest == 30 && q[b] == 40)
        #expect(q.due(atOrBefore: 35) == [c])
        #expect(q.due(atOrBefore: 40) == [c, b])
        q.prune()
        #expect(q.earliest == 30 && q.count == 2)
        q.remove(c)
        q.remove(b)
        q.prune()
        #expect(q.earliest == nil && q.count == 0 && q.due(atOrBefore: .max).isEmpty)
    }

    /// Many entries in and out: the queue answers as a plain dictionary walked in full would.
    @Test func itAgreesWithAWalkOfEveryEntry() {
        var q = ExpiryQueue()
        var plain: [NodeID: UInt64] = [:]
        var rng = SplitMix64(seed: 3)
        for now in UInt64(1)...5_000 {
            let id = NodeID(high: 0, low: rng.next() % 500)
            if rng.next() % 3 == 0 {
                q.remove(id)
                plain[id] = nil
            } else {
                q.set(id, at: now)
                plain[id] = now
            }
            if now % 7 == 0 { q.prune() }
            #expect(q.earliest == plain.values.min())
            let cutoff = now > 300 ? now - 300 : 0
            #expect(Set(q.due(atOrBefore: cutoff)) == Set(plain.filter { $0.value <= cutoff }.keys))
        }
    }

    /// A member that keeps leaving and re-entering behind one that waits: the queue keeps
    /// about as many entries as members, not one per change.
    @Test func churnBehindAWaitingEntryDoesNotGrowTheQueue() {
        var q = ExpiryQueue()
        q.set(a, at: 1)
        for now in UInt64(2)...100_000 {
            q.set(b, at: now)
            q.remove(b)
            q.prune()
        }
        #expect(q.earliest == 1 && q.count == 1 && q.entries <= 2 * q.count + 64 + 1)
        // Entered twice at the same time: listed as due, and gone once removed.
        q.set(c, at: 5)
        q.set(c, at: 5)
        #expect(q.due(atOrBefore: 5).contains(c))
        q.remove(c)
        #expect(!q.due(atOrBefore: 5).contains(c))
    }
}
