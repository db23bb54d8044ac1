import Gossip
import Testing
@testable import Swarm

/// The mirror fallback's rules, event by event, with the clock in the test's hands.
struct MirrorPlannerTests {
    static func settings(requests: Int = 4) -> FetchSettings {
        var s = FetchSettings()
        s.mirrorAfter = 1500 * ms
        s.mirrorRequests = requests
        s.mirrorRetry = 1 * second
        s.mirrorRetryMax = 8 * second
        return s
    }

    static func mirrorPlanner(chunks: Int = 10, mirrors: Int = 2, refused: [Bool] = [], requests: Int = 4, seed: UInt64 = 1) -> MirrorPlanner {
        MirrorPlanner(chunkCount: chunks, mirrors: mirrors, refused: refused, settings: settings(requests: requests), seed: seed)
    }

    static let everyChunk: @Sendable (Int) -> Bool = { _ in true }

    @Test func aChunkGoesToAMirrorOnlyAfterNoPeerOfferedItForTheWait() {
        var m = Self.mirrorPlanner()
        let all = Array(0..<10)
        m.refresh(unoffered: all, now: 0)
        do {
            let r = m.pick(now: 0, isUnoffered: Self.everyChunk)
            #expect(r.isEmpty)
        }
        m.refresh(unoffered: all, now: 1499 * ms)
        do {
            let r = m.pick(now: 1499 * ms, isUnoffered: Self.everyChunk)
            #expect(r.isEmpty, "not before 1.5 s")
        }
        m.refresh(unoffered: all, now: 1500 * ms)
        let picks = m.pick(now: 1500 * ms, isUnoffered: Self.everyChunk)
        #expect(picks.count == 4, "at most mirrorRequests in flight")
        #expect(picks.allSatisfy { if case .fetch(_, 0) = $0 { true } else { false } }, "the first mirror in the operator's order")
        #expect(Set(picks.map(\.chunk)).count == 4, "one request per chunk")
        do {
            let r = m.pick(now: 1600 * ms, isUnoffered: Self.everyChunk)
            #expect(r.isEmpty, "no room until one is answered")
        }
    }

    @Test func aPeersOfferRestartsTheWait() {
        var m = Self.mirrorPlanner(chunks: 3)
        m.refresh(unoffered: [0, 1, 2], now: 0)
        // A peer offers chunk 1 for a moment, then leaves.
        m.refresh(unoffered: [0, 2], now: 1000 * ms)
        m.refresh(unoffered: [0, 1, 2], now: 1200 * ms)
        m.refresh(unoffered: [0, 1, 2], now: 1500 * ms)
        do {
            let r = m.pick(now: 1500 * ms, isUnoffered: Self.everyChunk)
            #expect(Set(r.map(\.chunk)) == [0, 2])
        }
        m.refresh(unoffered: [1], now: 2700 * ms)
        do {
            let r = m.pick(now: 2700 * ms, isUnoffered: Self.everyChunk)
            #expect(r.map(\.chunk) == [1], "1.5 s after its offer went away")
        }
    }

    @Test func aChunkOfferedSinceTheRefreshIsNotAskedOfAMirror() {
        var m = Self.mirrorPlanner(chunks: 4)
        m.refresh(unoffered: [0, 1, 2, 3], now: 0)
        m.refresh(unoffered: [0, 1, 2, 3], now: 2 * second)
        let picks = m.pick(now: 2 * second) { $0 != 2 }
        #expect(Set(picks.map(\.chunk)) == [0, 1, 3])
    }

    @Test func wrongBytesRefuseTheMirrorOnceAndTheChunkGoesToTheNext() {
        var m = Self.mirrorPlanner(chunks: 1)
        m.refresh(unoffered: [0], now: 0)
        m.refresh(unoffered: [0], now: 2 * second)
        do {
            let r = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
            #expect(r == [.fetch(chunk: 0, mirror: 0)])
        }
        do {
            let r = m.answered(chunk: 0, mirror: 0, outcome: .refused, now: 2 * second)
            #expect(r == [.refused(mirror: 0)])
        }
        do {
            let r = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
            #expect(r == [.fetch(chunk: 0, mirror: 1)], "at once, from the next mirror")
        }
        #expect(m.health.isRefused(0))
        // An answer for a request that is not in flight changes nothing.
        do {
            let r = m.answered(chunk: 0, mirror: 0, outcome: .refused, now: 2 * second)
            #expect(r.isEmpty)
        }
        do {
            let r = m.answered(chunk: 0, mirror: 1, outcome: .served, now: 2 * second)
            #expect(r.isEmpty)
        }
        #expect(m.served == 1)
        m.refresh(unoffered: [], now: 3 * second)
        do {
            let r = m.pick(now: 3 * second, isUnoffered: Self.everyChunk)
            #expect(r.isEmpty)
        }
    }

    @Test func aFailedMirrorWaitsOutItsBackOffAndIsPreferredAgainAfter() {
        var m = Self.mirrorPlanner(chunks: 3, requests: 1)
        m.refresh(unoffered: [0, 1, 2], now: 0)
        m.refresh(unoffered: [0, 1, 2], now: 2 * second)
        let first = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
        #expect(first.map(\.mirror) == [0])
        do {
            let r = m.answered(chunk: first[0].chunk, mirror: 0, outcome: .failed, now: 2 * second)
            #expect(r.isEmpty, "a failure refuses nothing")
        }
        let second_ = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
        #expect(second_.map(\.mirror) == [1], "the next mirror while the first waits")
        _ = m.answered(chunk: second_[0].chunk, mirror: 1, outcome: .served, now: 2100 * ms)
        do {
            let r = m.pick(now: 3 * second, isUnoffered: Self.everyChunk)
            #expect(r.map(\.mirror) == [0], "back to the first after 1 s")
        }
    }

    @Test func theBackOffDoublesUpToItsCapWithoutOverflow() {
        var h = MirrorHealth(count: 1, retry: 1 * second, retryMax: 8 * second)
        var now: UInt64 = 0
        var waits: [UInt64] = []
        for _ in 0..<6 {
            h.record(.failed, mirror: 0, now: now)
            let next = h.nextRetry(after: now)!
            waits.append(next - now)
            now = next
        }
        #expect(waits == [1, 2, 4, 8, 8, 8].map { $0 * second })
        var huge = MirrorHealth(count: 1, retry: .max / 2 + 1, retryMax: .max)
        for _ in 0..<40 { huge.record(.failed, mirror: 0, now: .max - 1) }
        #expect(huge.usable(now: .max) == 0, "saturates instead of trapping")
        do {
            let r = huge.record(.failed, mirror: 7, now: 0)
            #expect(!r, "a mirror out of range is ignored")
        }
    }

    @Test func mirrorsRefusedBeforeAreSkippedAndNoneLeftMeansNoRoom() {
        var m = Self.mirrorPlanner(chunks: 2, mirrors: 2, refused: [true])
        m.refresh(unoffered: [0, 1], now: 0)
        m.refresh(unoffered: [0, 1], now: 2 * second)
        let picks = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
        #expect(picks.map(\.mirror) == [1, 1])
        for pick in picks { _ = m.answered(chunk: pick.chunk, mirror: 1, outcome: .refused, now: 2 * second) }
        #expect(m.health.allRefused)
        do {
            let r = m.pick(now: 3 * second, isUnoffered: Self.everyChunk)
            #expect(r.isEmpty)
        }
    }

    @Test func picksAreRandomPerSeedSoAFleetSpreadsItsMirrorFetches() {
        func firstPicks(seed: UInt64) -> [Int] {
            var m = Self.mirrorPlanner(chunks: 100, seed: seed)
            m.refresh(unoffered: Array(0..<100), now: 0)
            m.refresh(unoffered: Array(0..<100), now: 2 * second)
            return m.pick(now: 2 * second, isUnoffered: Self.everyChunk).map(\.chunk)
        }
        #expect(firstPicks(seed: 5) == firstPicks(seed: 5))
        #expect(firstPicks(seed: 5) != firstPicks(seed: 6))
    }

    @Test func chunksOutOfRangeAreIgnored() {
        var m = Self.mirrorPlanner(chunks: 2)
        m.refresh(unoffered: [-1, 0, 2, 99, 0], now: 0)
        m.refresh(unoffered: [-1, 0, 2, 99, 0], now: 2 * second)
        do {
            let r = m.pick(now: 2 * second, isUnoffered: Self.everyChunk)
            #expect(r.map(\.chunk) == [0])
        }
    }

    @Test func theSwarmPlannerListsTheChunksNoPeerOffers() {
        var p = planner(chunks: 6)
        #expect(p.unoffered == [0, 1, 2, 3, 4, 5])
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        _ = p.peerHas(peer(1), bitfield: bits(6, [1, 4]), now: 0)
        #expect(p.unoffered == [0, 2, 3, 5], "what a peer has is offered (and requested)")
        _ = p.storedElsewhere(chunk: 0, now: 0)
        #expect(p.unoffered == [2, 3, 5], "what is held is not wanted")
        #expect(p.isUnoffered(2) && !p.isUnoffered(1) && !p.isUnoffered(0) && !p.isUnoffered(6) && !p.isUnoffered(-1))
    }
}

extension MirrorPlanner.Directive {
    var chunk: Int { if case .fetch(let chunk, _) = self { chunk } else { -1 } }
    var mirror: Int {
        switch self {
        case .fetch(_, let mirror), .refused(let mirror): mirror
        }
    }
}
