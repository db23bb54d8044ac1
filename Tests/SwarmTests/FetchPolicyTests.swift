import Gossip
import Testing
@testable import Swarm

struct FetchPolicyTests {
    static func policy(maxPeers: Int = 3, extraHolders: Int = 2, seed: UInt64 = 1) -> FetchPolicy {
        var s = FetchSettings()
        s.maxPeers = maxPeers
        s.extraHolders = extraHolders
        s.refresh = 250 * ms
        s.requery = 2 * second
        return FetchPolicy(settings: s, seed: seed)
    }

    static func candidate(_ n: UInt64, sameZone: Bool = false, complete: Bool = false) -> FetchPolicy.Candidate {
        .init(id: peer(n), sameZone: sameZone, complete: complete)
    }

    @Test func refreshesOncePerInterval() {
        var p = Self.policy()
        #expect(p.refreshDue(now: 300 * ms) == true)
        #expect(p.refreshDue(now: 400 * ms) == false)
        #expect(p.refreshDue(now: 550 * ms) == true)
    }

    @Test func refreshesSoonerWhileAChunkHasNoSource() {
        var p = Self.policy()
        #expect(p.refreshDue(now: 300 * ms, lacksSource: true) == true)
        #expect(p.refreshDue(now: 320 * ms, lacksSource: true) == false)
        #expect(p.refreshDue(now: 350 * ms, lacksSource: false) == false, "every source known: the long interval")
        #expect(p.refreshDue(now: 350 * ms, lacksSource: true) == true)
    }

    @Test func dialsUpToTheLimitSameZoneFirst() {
        var p = Self.policy(maxPeers: 3)
        let far = (1...4).map { Self.candidate($0) }
        let near = [Self.candidate(10, sameZone: true), Self.candidate(11, sameZone: true)]
        let dial = p.refresh(far + near, now: 0).dial.map(\.id)
        #expect(dial.count == 3)
        #expect(Set(dial.prefix(2)) == [peer(10), peer(11)], "the same zone first")
    }

    @Test func theShuffleIsSeeded() {
        let candidates = (1...20).map { Self.candidate($0) }
        var a = Self.policy(seed: 7), b = Self.policy(seed: 7), c = Self.policy(seed: 8)
        let first = a.refresh(candidates, now: 0).dial
        #expect(first == b.refresh(candidates, now: 0).dial)
        #expect(first != c.refresh(candidates, now: 0).dial, "another seed, another order (so a fleet spreads its dials)")
    }

    @Test func aDialInProgressCountsAndAFailedOneIsTriedAgain() {
        var p = Self.policy(maxPeers: 1)
        #expect(p.refresh([Self.candidate(1)], now: 0).dial.map(\.id) == [peer(1)])
        // Still dialling: neither dialled again nor replaced.
        #expect(p.refresh([Self.candidate(1), Self.candidate(2)], now: 300 * ms).dial.isEmpty)
        p.dialFailed(peer(1))
        #expect(p.refresh([Self.candidate(1)], now: 600 * ms).dial.map(\.id) == [peer(1)])
    }

    @Test func holdersAreDialledBeyondTheLimitUntilEnoughHoldTheRelease() {
        var p = Self.policy(maxPeers: 2, extraHolders: 2)
        let downloading = (1...3).map { Self.candidate($0) }
        let holders = (10...13).map { Self.candidate($0, complete: true) }
        let first = p.refresh(downloading, now: 0).dial
        #expect(first.count == 2)
        let second = p.refresh(downloading + holders, now: 300 * ms).dial
        #expect(second.count == 2 && second.allSatisfy(\.complete), "two holders past the limit, the third downloader not")
        #expect(p.refresh(holders, now: 600 * ms).dial.isEmpty, "two of the download's peers hold it: enough")
    }

    /// At scale the few nodes that finish first were dialled by every download at once while
    /// none needed them: a holder is dialled past the limit only for a chunk no peer offers.
    @Test func holdersAreDialledBeyondTheLimitOnlyWhileAChunkLacksASource() {
        var p = Self.policy(maxPeers: 2, extraHolders: 2)
        _ = p.refresh((1...2).map { Self.candidate($0) }, now: 0)
        let holders = (10...13).map { Self.candidate($0, complete: true) }
        #expect(p.refresh(holders, lacksSource: false, now: 300 * ms).dial.isEmpty, "every chunk has a source: no holder")
        let dial = p.refresh(holders, lacksSource: true, now: 600 * ms).dial
        #expect(dial.count == 2 && dial.allSatisfy(\.complete), "a chunk without a source: two holders")
    }

    @Test func connectedPeersAreAskedAgainAfterTheRequeryInterval() {
        var p = Self.policy()
        _ = p.refresh([Self.candidate(1), Self.candidate(2)], now: 0)
        p.connected(peer(1), now: 10 * ms)
        #expect(p.refresh([], now: 1 * second).query.isEmpty, "asked when it connected, not yet due")
        #expect(p.refresh([], now: 2 * second + 10 * ms).query == [peer(1)], "only the connected one")
        #expect(p.refresh([], now: 3 * second).query.isEmpty)
    }

    @Test func aDialAnsweredAfterItsLinkClosedIsNotAConnection() {
        var p = Self.policy()
        _ = p.refresh([Self.candidate(1)], now: 0)
        let removed = p.remove(peer(1))  // its link closed first
        let late = p.connected(peer(1), now: 10 * ms)
        let stranger = p.connected(peer(2), now: 10 * ms)
        #expect(removed)
        #expect(!late, "the shell must not add it to the planner")
        #expect(!stranger, "never dialled")
        _ = p.refresh([Self.candidate(1)], now: 20 * ms)
        let again = p.connected(peer(1), now: 30 * ms)
        #expect(again, "dialled again, connected")
    }

    @Test func anAnswerTimesTheRoundTripOnce() {
        var p = Self.policy()
        _ = p.refresh([Self.candidate(1)], now: 0)
        p.connected(peer(1), now: 100 * ms)
        #expect(p.answered(peer(1), complete: false, now: 130 * ms) == 30 * ms)
        #expect(p.answered(peer(1), complete: false, now: 140 * ms) == nil, "a pushed have-set answers no query")
        #expect(p.answered(peer(9), complete: true, now: 140 * ms) == nil, "not a peer of this download")
    }

    @Test func aPeerFoundCompleteCountsAsAHolder() {
        var p = Self.policy(maxPeers: 1, extraHolders: 1)
        _ = p.refresh([Self.candidate(1)], now: 0)
        p.connected(peer(1), now: 0)
        _ = p.answered(peer(1), complete: true, now: 5 * ms)
        #expect(p.refresh([Self.candidate(2, complete: true)], now: 300 * ms).dial.isEmpty, "the one peer holds it: enough")
    }

    /// Anyone can make an id and ask: at most `maxAskers` askers are sources at once, and one
    /// that leaves makes room for the next.
    @Test func askersAreSourcesUpToTheirBound() {
        var s = FetchSettings()
        s.maxAskers = 2
        var p = FetchPolicy(settings: s, seed: 1)
        let first = p.peerAsked(peer(1), now: 0), second = p.peerAsked(peer(2), now: 0), third = p.peerAsked(peer(3), now: 0)
        #expect(first && second && !third)
        // Dialled peers are not askers: one is still dialled, and one asker leaving makes room.
        let dialled = p.refresh([Self.candidate(7)], now: 0).dial.map(\.id)
        let stillFull = p.peerAsked(peer(3), now: 0)
        #expect(dialled == [peer(7)] && !stillFull)
        let removed = p.remove(peer(1)), taken = p.peerAsked(peer(3), now: 0)
        #expect(removed && taken)
        #expect(p.known == [peer(2), peer(3), peer(7)])
    }

    @Test func aPeerThatAsksUsIsASourceOnce() {
        var p = Self.policy()
        #expect(p.peerAsked(peer(5), now: 0) == true)
        #expect(p.peerAsked(peer(5), now: 10 * ms) == false)
        #expect(p.known == [peer(5)])
        #expect(p.answered(peer(5), complete: false, now: 20 * ms) == 20 * ms)
        #expect(p.remove(peer(5)) == true)
        #expect(p.remove(peer(5)) == false)
        #expect(p.known.isEmpty)
    }
}

struct ManifestRoundsTests {
    static func candidates(near: [UInt64], far: [UInt64]) -> [FetchPolicy.Candidate] {
        near.map { .init(id: peer($0), sameZone: true) } + far.map { .init(id: peer($0), sameZone: false) }
    }

    @Test func asksAFewAtATimeSameZoneFirstThenTheRest() {
        var rounds = ManifestRounds(seed: 1, perRound: 3, patience: 5 * second, lookAgain: 50 * ms)
        let all = Self.candidates(near: [1, 2], far: [10, 11, 12, 13])
        let first = rounds.next(all)
        #expect(first.wait == 5 * second)
        #expect(first.ask.count == 3 && Set(first.ask.prefix(2)) == [peer(1), peer(2)])
        let second = rounds.next(all)
        #expect(second.ask.count == 3 && Set(first.ask).isDisjoint(with: second.ask), "then those not asked yet")
    }

    @Test func startsOverOnceEveryoneWasAskedAndLooksAgainSoonWithNoOne() {
        var rounds = ManifestRounds(seed: 1, perRound: 3, patience: 5 * second, lookAgain: 50 * ms, firstLook: 50 * ms)
        let two = Self.candidates(near: [1, 2], far: [])
        #expect(rounds.next(two).ask.count == 2)
        let empty = rounds.next(two)
        #expect(empty.ask.isEmpty && empty.wait == 50 * ms, "everyone asked: a short wait, then again from the start")
        #expect(Set(rounds.next(two).ask) == [peer(1), peer(2)])
        #expect(rounds.next([]).wait == 50 * ms)
    }

    @Test func looksAgainSoonAtFirstThenBacksOffAndStartsSoonAgainAfterARound() {
        var rounds = ManifestRounds(seed: 1, perRound: 3, patience: 5 * second, lookAgain: 50 * ms, firstLook: 10 * ms)
        #expect([rounds.next([]), rounds.next([]), rounds.next([]), rounds.next([])].map(\.wait) == [10 * ms, 20 * ms, 40 * ms, 50 * ms],
                "no one holds it yet: 10 ms, doubled up to 50 ms")
        let one = Self.candidates(near: [], far: [7])
        #expect(rounds.next(one) == ([peer(7)], 5 * second))
        #expect(rounds.next(one).wait == 10 * ms, "after a round the next empty look is soon again")
    }
}
