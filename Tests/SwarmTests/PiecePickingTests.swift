import Gossip
import Testing
@testable import Swarm

/// Random first, rarest first, and who gets asked.
struct PiecePickingTests {
    /// Chunks 0...5 are under test; chunks 6...10 keep five helper peers busy.
    /// Extra holders per test chunk make the rarest-first order 3, 0, 5, 1, 4, 2:
    /// neither index order nor its reverse.
    static let extraHolders = [1, 3, 5, 0, 4, 2]
    static let rarestOrder = [3, 0, 5, 1, 4, 2]
    static let count = 11

    /// Sets up the helpers, then adds seeder A (peer 100, has chunks 0...5,
    /// window 1) and delivers each request at once; returns A's picks in order.
    static func picksOfA(randomFirst: Int, seed: UInt64) -> [Int] {
        var p = planner(chunks: count, seed: seed) {
            $0.initialWindow = 1; $0.minWindow = 1; $0.maxWindow = 1; $0.randomFirst = randomFirst
        }
        for i in 1...5 {
            let helper = peer(UInt64(i))
            _ = p.addPeer(helper, sameZone: false, now: 0)
            // Only its busy chunk first: it is asked for that and stays busy.
            #expect(p.peerHas(helper, bitfield: bits(count, [5 + i]), now: 0) == [.request(peer: helper, chunk: 5 + i)])
            let extra = (0..<6).filter { extraHolders[$0] >= i }
            #expect(p.peerHas(helper, bitfield: bits(count, [5 + i] + extra), now: 0).isEmpty)
        }
        let a = peer(100)
        _ = p.addPeer(a, sameZone: false, now: 0)
        var next = p.peerHas(a, bitfield: bits(count, Array(0...5)), now: 0).chunks(to: a)
        var picks: [Int] = []
        while let chunk = next.first {
            picks.append(chunk)
            next = p.received(chunk: chunk, from: a, valid: true, now: UInt64(picks.count) * ms).chunks(to: a)
        }
        return picks
    }

    @Test func rarestFirstAfterTheRandomPicks() {
        // The five helper requests used up the random-first picks.
        for seed: UInt64 in 1...5 {
            #expect(Self.picksOfA(randomFirst: 5, seed: seed) == Self.rarestOrder)
        }
    }

    @Test func firstPicksAreRandomThenRarest() {
        var firsts = Set<Int>()
        for seed: UInt64 in 1...40 {
            let picks = Self.picksOfA(randomFirst: 7, seed: seed)  // A's first two picks are random
            #expect(picks.count == 6)
            #expect(picks.dropFirst(2).elementsEqual(Self.rarestOrder.filter { !picks.prefix(2).contains($0) }))
            firsts.insert(picks[0])
        }
        // Rarest first would always start with chunk 3; random first spreads out.
        #expect(firsts.count >= 4)
    }

    @Test func rarestTiesAreBrokenBySeedNotIndex() {
        var firsts = Set<Int>()
        for seed: UInt64 in 1...20 {
            var p = planner(chunks: 8, seed: seed) { $0.randomFirst = 0; $0.initialWindow = 1; $0.minWindow = 1 }
            _ = p.addPeer(peer(1), sameZone: false, now: 0)
            firsts.formUnion(p.peerHasAll(peer(1), now: 0).requestedChunks)
        }
        #expect(firsts.count >= 3)
    }

    @Test func asksOnlyPeersThatHaveTheChunk() {
        var p = planner(chunks: 6) { $0.initialWindow = 8 }
        _ = p.addPeer(peer(1), sameZone: true, now: 0)
        _ = p.addPeer(peer(2), sameZone: false, now: 0)
        let first = p.peerHas(peer(1), bitfield: bits(6, [1, 3]), now: 0)
        #expect(Set(first.chunks(to: peer(1))) == [1, 3])
        #expect(first.count == 2)
        #expect(p.peerHas(peer(2), chunk: 4, now: 0) == [.request(peer: peer(2), chunk: 4)])
        #expect(p.peerHas(peer(1), chunk: 4, now: 0).isEmpty)  // already in flight elsewhere
        #expect(p.peerHas(peer(1), chunk: 5, now: 0) == [.request(peer: peer(1), chunk: 5)])
        #expect(p.inFlight(to: peer(1)) == [1, 3, 5])
        #expect(p.inFlight(to: peer(2)) == [4])
        // A refusal drops the chunk from that peer: nobody else has 1, so it waits.
        #expect(p.refused(chunk: 1, by: peer(1), now: 0).isEmpty)
        #expect(p.peerHas(peer(2), chunk: 1, now: 0) == [.request(peer: peer(2), chunk: 1)])
    }

    /// What ``FetchPolicy`` dials holders for: a chunk neither offered nor asked for.
    @Test func aChunkLacksASourceUntilAPeerOffersIt() {
        var p = planner(chunks: 3) { $0.initialWindow = 1; $0.minWindow = 1 }
        #expect(p.lacksSource, "no peers yet")
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHas(peer(1), bitfield: bits(3, [0, 1]), now: 0).count == 1)
        #expect(p.lacksSource, "no one offers chunk 2")
        #expect(p.peerHas(peer(1), chunk: 2, now: ms).isEmpty, "its one slot is taken")
        #expect(!p.lacksSource)
        _ = p.refused(chunk: 2, by: peer(1), now: 2 * ms)
        #expect(p.lacksSource, "refused: chunk 2 has no source again")
    }

    /// A gate: peer 99 has only chunk 0, as large as the byte cap, so the
    /// peers added next are all known before chunk 0 arrives and planning resumes.
    static func gated(chunks: Int, cap: UInt64, seed: UInt64 = 1) -> SwarmPlanner {
        let sizes = [UInt32(cap)] + Array(repeating: 1000, count: chunks - 1)
        var p = SwarmPlanner(sizes: sizes, held: [], settings: makeSettings { $0.maxBytesInFlight = cap; $0.randomFirst = 0 },
                             seed: seed, now: 0)
        _ = p.addPeer(peer(99), sameZone: false, now: 0)
        #expect(p.peerHas(peer(99), bitfield: bits(chunks, [0]), now: 0) == [.request(peer: peer(99), chunk: 0)])
        return p
    }

    static func addSeeder(_ p: inout SwarmPlanner, _ id: NodeID, sameZone: Bool, rtt: UInt64? = nil) {
        #expect(p.addPeer(id, sameZone: sameZone, now: 0).isEmpty)
        if let rtt { p.peerRTT(id, nanoseconds: rtt) }
        #expect(p.peerHas(id, bitfield: bits(p.chunkCount, Array(1..<p.chunkCount)), now: 0).isEmpty)
    }

    @Test func sameZoneBeatsLowerRTTAndLowerID() {
        var p = Self.gated(chunks: 2, cap: 1000)
        Self.addSeeder(&p, peer(1), sameZone: false, rtt: 1 * ms)
        Self.addSeeder(&p, peer(2), sameZone: true)
        #expect(p.received(chunk: 0, from: peer(99), valid: true, now: ms) == [.request(peer: peer(2), chunk: 1)])
    }

    @Test func lowerRTTThenKnownRTTArePreferred() {
        var p = Self.gated(chunks: 2, cap: 1000)
        Self.addSeeder(&p, peer(1), sameZone: false)
        Self.addSeeder(&p, peer(2), sameZone: false, rtt: 50 * ms)
        Self.addSeeder(&p, peer(3), sameZone: false, rtt: 10 * ms)
        #expect(p.received(chunk: 0, from: peer(99), valid: true, now: ms) == [.request(peer: peer(3), chunk: 1)])

        var q = Self.gated(chunks: 2, cap: 1000)
        Self.addSeeder(&q, peer(1), sameZone: false)
        Self.addSeeder(&q, peer(2), sameZone: false, rtt: 50 * ms)
        #expect(q.received(chunk: 0, from: peer(99), valid: true, now: ms) == [.request(peer: peer(2), chunk: 1)])
    }

    @Test func rttMeasuredBeforeAddPeerCounts() {
        var p = Self.gated(chunks: 2, cap: 1000)
        p.peerRTT(peer(2), nanoseconds: 5 * ms)  // measured while connecting
        Self.addSeeder(&p, peer(1), sameZone: false, rtt: 50 * ms)
        Self.addSeeder(&p, peer(2), sameZone: false)
        #expect(p.received(chunk: 0, from: peer(99), valid: true, now: ms) == [.request(peer: peer(2), chunk: 1)])
    }

    @Test func fewerInFlightThenARandomKeyPerPlannerBreakTies() {
        var p = Self.gated(chunks: 4, cap: 3000)
        Self.addSeeder(&p, peer(2), sameZone: false)
        Self.addSeeder(&p, peer(1), sameZone: false)
        let out = p.received(chunk: 0, from: peer(99), valid: true, now: ms).requestedPeers
        // Fewer in flight first, so the two alternate; who goes first is the planner's own draw.
        #expect(out.count == 3 && out[0] != out[1] && out[2] == out[0] && Set(out) == [peer(1), peer(2)])
    }

    @Test func plannersDoNotAllPreferTheSamePeerOnATie() {
        // Requesters that all preferred the lowest id would all queue at one uploader.
        var firsts = Set<NodeID>()
        for seed in UInt64(1)...20 {
            var p = Self.gated(chunks: 2, cap: 1000, seed: seed)
            Self.addSeeder(&p, peer(1), sameZone: false)
            Self.addSeeder(&p, peer(2), sameZone: false)
            firsts.formUnion(p.received(chunk: 0, from: peer(99), valid: true, now: ms).requestedPeers)
        }
        #expect(firsts == [peer(1), peer(2)])
    }
}
