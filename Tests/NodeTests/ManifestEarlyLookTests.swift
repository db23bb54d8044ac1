@testable import Node
import Testing

/// When a manifest fetch with no one to ask looks at gossip's members again before its back-off.
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
}
