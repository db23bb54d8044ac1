import Testing
@testable import Swarm

struct UploadQueueTests {
    /// 1000 bytes/s: a 100-byte chunk takes 100 ms of the link.
    static func link(lookahead: UInt64 = 0) -> UploadQueue<String> {
        UploadQueue(bytesPerSecond: 1000, lookahead: lookahead, catchUp: 50 * ms)
    }

    @Test func requestersTakeTurnsWhateverTheyAskedFor() {
        var q = Self.link()
        // A asks for four before B and C ask for one each: served A, B, C, A, A, A, not in arrival order.
        for i in 1...4 { q.enqueue("a\(i)", bytes: 100, from: peer(1), now: 0) }
        q.enqueue("b1", bytes: 100, from: peer(2), now: 0)
        q.enqueue("c1", bytes: 100, from: peer(3), now: 0)
        var served: [String] = []
        var starts: [UInt64] = []
        var now: UInt64 = 0
        while let next = q.nextBooking {
            now = max(now, next)
            for b in q.book(now: now) {
                served.append(b.item)
                starts.append(b.start)
            }
        }
        #expect(served == ["a1", "b1", "c1", "a2", "a3", "a4"])
        #expect(starts == [0, 100, 200, 300, 400, 500].map { $0 * ms }, "back to back at the link's rate")
        #expect(q.waiting == 0)
    }

    @Test func theLinkIsBookedOnlyAsFarAsTheLookahead() {
        var q = Self.link(lookahead: 150 * ms)
        for i in 1...5 { q.enqueue("a\(i)", bytes: 100, from: peer(1), now: 0) }
        // Booked while the link is free within 150 ms: the first two (the second ends at 200 ms).
        #expect(q.book(now: 0).map(\.start) == [0, 100].map { $0 * ms })
        #expect(q.nextBooking == 50 * ms)
        #expect(q.book(now: 40 * ms).isEmpty)
        #expect(q.book(now: 50 * ms).map(\.item) == ["a3"])
    }

    /// What a seed asks before it serves a resend (``SuperSeeding``): a booked chunk still
    /// being sent keeps the link busy.
    @Test func idleOnlyWhenNothingWaitsOrIsBeingSent() {
        var q = Self.link(lookahead: 150 * ms)
        #expect(q.isIdle(now: 0))
        q.enqueue("a1", bytes: 100, from: peer(1), now: 0)
        #expect(!q.isIdle(now: 0), "waiting")
        #expect(q.book(now: 0).map(\.item) == ["a1"])
        #expect(!q.isIdle(now: 50 * ms), "booked and being sent")
        #expect(q.isIdle(now: 100 * ms))
    }

    @Test func aCancelledRequestCostsNoLinkTime() {
        var q = Self.link()
        q.enqueue("a1", bytes: 100, from: peer(1), now: 0)
        q.enqueue("a2", bytes: 100, from: peer(1), now: 0)
        q.enqueue("b1", bytes: 100, from: peer(2), now: 0)
        #expect(q.book(now: 0).map(\.item) == ["a1"])
        #expect(q.remove(from: peer(1)) { $0 == "a2" } == ["a2"])
        #expect(q.remove(from: peer(1)) { $0 == "a2" }.isEmpty)
        let next = q.book(now: 100 * ms)
        #expect(next.map(\.item) == ["b1"] && next.map(\.start) == [100 * ms])
        #expect(q.nextBooking == nil)
    }

    @Test func aLateCallCatchesUpButAnIdleLinkOwesNothing() {
        var q = Self.link()
        q.enqueue("a1", bytes: 100, from: peer(1), now: 0)
        q.enqueue("a2", bytes: 100, from: peer(1), now: 0)
        #expect(q.book(now: 0).map(\.start) == [0])
        // Called 30 ms late: the turn starts when the last one ended, so the rate holds.
        #expect(q.book(now: 130 * ms).map(\.start) == [100 * ms])
        // Idle for a second: a new request starts now, not in the past.
        q.enqueue("a3", bytes: 100, from: peer(1), now: 1200 * ms)
        #expect(q.book(now: 1200 * ms).map(\.start) == [1200 * ms])
        // Never more than the catch-up in the past.
        q.enqueue("a4", bytes: 100, from: peer(1), now: 1200 * ms)
        #expect(q.book(now: 2000 * ms).map(\.start) == [1950 * ms])
    }
}
