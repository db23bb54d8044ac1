import Gossip
import Testing
@testable import Swarm

/// Have-sets and chunk numbers come from peers: whatever their length or value, the
/// planner reads only the chunks the manifest has and never traps.
struct HostileHaveTests {
    @Test func aShortHaveSetCountsTheRestAsMissing() {
        var p = planner(chunks: 10) { $0.initialWindow = 16; $0.minWindow = 16; $0.maxWindow = 16 }
        let a = peer(1)
        _ = p.addPeer(a, sameZone: false, now: 0)
        let asked = p.peerHas(a, bitfield: [true, true, true], now: 0).chunks(to: a)
        #expect(Set(asked) == [0, 1, 2])
    }

    @Test func aLongHaveSetIsCutToTheChunkCount() {
        var p = planner(chunks: 4) { $0.initialWindow = 16; $0.minWindow = 16; $0.maxWindow = 16 }
        let a = peer(1)
        _ = p.addPeer(a, sameZone: false, now: 0)
        let asked = p.peerHas(a, bitfield: Array(repeating: true, count: 1000), now: 0).chunks(to: a)
        #expect(Set(asked) == [0, 1, 2, 3])
    }

    @Test func chunkNumbersOutsideTheManifestChangeNothing() {
        var p = planner(chunks: 4)
        let a = peer(1)
        _ = p.addPeer(a, sameZone: false, now: 0)
        for chunk in [-1, 4, Int.max, Int.min] {
            #expect(p.peerHas(a, chunk: chunk, now: 0).isEmpty)
            #expect(p.received(chunk: chunk, from: a, valid: true, now: 0).isEmpty)
            #expect(p.refused(chunk: chunk, by: a, now: 0).isEmpty)
            #expect(p.storedElsewhere(chunk: chunk, now: 0).isEmpty)
            p.arriving(chunk: chunk, from: a)
        }
        #expect(p.heldCount == 0)
    }
}
