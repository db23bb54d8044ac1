import Gossip
import Testing
@testable import Swarm

struct SuperSeedingTests {
    @Test func aSeedRefusesAChunkQueuedForAnotherPeerUntilTheWindowPasses() {
        var books = SuperSeeding<String>(refuses: true, resendAfter: 5 * second)
        #expect(books.admit("c1", to: peer(1), now: 0) == .first)
        #expect(books.admit("c1", to: peer(2), now: 4 * second) == .refused)
        #expect(books.admit("c1", to: peer(1), now: 4 * second) == .resent(lastTo: peer(1)), "the same peer asking again is served")
        // The window runs from the first time it was queued for that peer: a peer that asks
        // again every few seconds does not hold the chunk from the others for good.
        #expect(books.admit("c1", to: peer(2), now: 5 * second) == .resent(lastTo: peer(1)))
        // Then from the resend to the other peer.
        #expect(books.admit("c1", to: peer(3), now: 9 * second) == .refused)
        #expect(books.admit("c1", to: peer(3), now: 10 * second) == .resent(lastTo: peer(2)))
    }

    /// At the end of a release every chunk went out less than `resendAfter` ago: a seed that
    /// refused them all sat idle while its last chunks spread hop by hop.
    @Test func aSeedWithNothingElseToSendServesAResend() {
        var books = SuperSeeding<String>(refuses: true, resendAfter: 5 * second)
        #expect(books.admit("c1", to: peer(1), now: 0) == .first)
        #expect(books.admit("c1", to: peer(2), linkIdle: false, now: second) == .refused)
        #expect(books.admit("c1", to: peer(2), linkIdle: true, now: second) == .resent(lastTo: peer(1)))
        #expect(books.admit("c1", to: peer(3), now: 2 * second) == .refused, "the window runs from the resend")
    }

    @Test func aDownloadingNodeServesEveryChunkAndCountsResends() {
        var books = SuperSeeding<String>(refuses: false)
        #expect(books.admit("c1", to: peer(1), now: 0) == .first)
        #expect(books.admit("c1", to: peer(2), now: 1) == .resent(lastTo: peer(1)))
    }

    @Test func aChunkNeverSentHoldsNoOneOff() {
        var books = SuperSeeding<String>(refuses: true)
        _ = books.admit("c1", to: peer(1), now: 0)
        books.unsent("c1", to: peer(2))
        #expect(books.admit("c1", to: peer(2), now: 1) == .refused, "only its own requester's cancel clears it")
        books.unsent("c1", to: peer(1))
        #expect(books.admit("c1", to: peer(2), now: 2) == .first)
    }

    @Test func theBooksAreBounded() {
        var books = SuperSeeding<Int>(refuses: true, capacity: 8)
        for chunk in 0..<9 { _ = books.admit(chunk, to: peer(1), now: 0) }
        #expect(books.count == 7, "over capacity: the oldest quarter is forgotten")
        #expect(books.admit(0, to: peer(2), now: 0) == .first)
        #expect(books.admit(8, to: peer(2), now: 0) == .refused)
    }
}
