@testable import Node
import Testing

/// When a waiting manifest fetch looks at gossip's members again before its back-off, and how
/// often it wakes meanwhile.
@Suite struct ManifestEarlyLookTests {
    @Test func looksAgainWhenMembersChangeEarlyInTheFetch() {
        #expect(PeerDownloads.looksEarly(askedNone: true, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(10)))
    }

    @Test func waitsForItsBackOffOtherwise() {
        // Someone was asked: its answer is awaited.
        #expect(!PeerDownloads.looksEarly(askedNone: false, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(20)))
        // Nothing changed among the members.
        #expect(!PeerDownloads.looksEarly(askedNone: true, changed: false, fetching: .milliseconds(30), sinceLook: .milliseconds(20)))
        // Looked less than 10 ms ago.
        #expect(!PeerDownloads.looksEarly(askedNone: true, changed: true, fetching: .milliseconds(30), sinceLook: .milliseconds(9)))
        // A fetch past its first second, when in a large fleet members change all the time.
        #expect(!PeerDownloads.looksEarly(askedNone: true, changed: true, fetching: .seconds(1), sinceLook: .milliseconds(40)))
    }

    @Test func sleepsThroughARoundWithNoOneToAsk() {
        // Asked someone: their answer is polled for.
        #expect(PeerDownloads.pollStep(askedNone: false, earlyLooks: false) == .milliseconds(5))
        // No one to ask yet, early in the fetch: members may turn up any moment.
        #expect(PeerDownloads.pollStep(askedNone: true, earlyLooks: true) == .milliseconds(5))
        // No one to ask, later: nothing is awaited before the round's next look.
        #expect(PeerDownloads.pollStep(askedNone: true, earlyLooks: false) >= .seconds(1))
    }
}
