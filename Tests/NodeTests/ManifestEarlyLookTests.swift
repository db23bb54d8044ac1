@testable import Node
import Testing

/// When a waiting manifest fetch looks at gossip's members again before its round ends, and
/// how often it wakes meanwhile.
@Suite struct ManifestEarlyLookTests {
    @Test func looksAgainWhenMembersChange() {
        // Early in the fetch, at most every 10 ms.
        #expect(PeerDownloads.looksAgain(askedNone: true, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(10)))
        #expect(!PeerDownloads.looksAgain(askedNone: true, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(9)))
        // Past the first second, at most every 250 ms: in a large fleet members change all the time.
        #expect(PeerDownloads.looksAgain(askedNone: true, changed: true, fetching: .seconds(5), sinceLook: .milliseconds(250)))
        #expect(!PeerDownloads.looksAgain(askedNone: true, changed: true, fetching: .seconds(5), sinceLook: .milliseconds(240)))
    }

    @Test func waitsForItsRoundOtherwise() {
        // Someone was asked: its answer is awaited.
        #expect(!PeerDownloads.looksAgain(askedNone: false, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(20)))
        // Nothing changed among the members.
        #expect(!PeerDownloads.looksAgain(askedNone: true, changed: false, fetching: .milliseconds(30), sinceLook: .milliseconds(20)))
        #expect(!PeerDownloads.looksAgain(askedNone: true, changed: false, fetching: .seconds(5), sinceLook: .seconds(1)))
    }

    @Test func sleepsLongerOnceNoOneHoldsItForASecond() {
        // Asked someone: their answer is polled for.
        #expect(PeerDownloads.pollStep(askedNone: false, fetching: .seconds(5)) == .milliseconds(5))
        // No one to ask yet, early in the fetch: a holder may turn up any moment.
        #expect(PeerDownloads.pollStep(askedNone: true, fetching: .milliseconds(500)) == .milliseconds(5))
        // No one to ask, later: only a member change can end the wait, and not that soon.
        #expect(PeerDownloads.pollStep(askedNone: true, fetching: .seconds(1)) == .milliseconds(250))
        #expect(PeerDownloads.lateLook >= PeerDownloads.lateSoonest)
    }
}
