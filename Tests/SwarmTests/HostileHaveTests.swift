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

    /// A peer that offers everything and answers nothing: its requests time out, its window
    /// halves, and after `timeoutsToDrop` passes with no chunk between them it leaves the
    /// download for good; the chunks go to a peer that answers.
    @Test func aPeerThatAnswersNothingIsDroppedAfterItsTimeOutsAndStaysOut() {
        var p = planner(chunks: 8) {
            $0.requestTimeout = 10 * second; $0.timeoutsToDrop = 3
            $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 2
        }
        let silent = peer(1), honest = peer(2)
        _ = p.addPeer(silent, sameZone: true, now: 0)
        #expect(p.peerHasAll(silent, now: 0).chunks(to: silent).count == 2)
        var now: UInt64 = 0
        for pass in 1...3 {
            now += 10 * second
            let out = p.tick(now: now)
            if pass < 3 {
                #expect(!out.chunks(to: silent).isEmpty, "pass \(pass): asked again, window halved")
                #expect(p.peers.contains(silent))
            }
        }
        #expect(!p.peers.contains(silent) && p.isShunned(silent, now: now) && !p.isBanned(silent))
        #expect(p.inFlight(to: silent).isEmpty)
        _ = p.addPeer(silent, sameZone: true, now: now)
        #expect(!p.peers.contains(silent), "it does not come back for a while")
        _ = p.addPeer(honest, sameZone: false, now: now)
        #expect(p.peerHasAll(honest, now: now).chunks(to: honest).count == 2)
        // After `dropFor` it may: a swamped holder may be the only source.
        _ = p.addPeer(silent, sameZone: true, now: now + 60 * second)
        #expect(p.peers.contains(silent))
    }

    /// A peer that is slow but delivers between its time-outs stays.
    @Test func aSlowPeerThatDeliversIsNotDropped() {
        var p = planner(chunks: 8) {
            $0.requestTimeout = 10 * second; $0.timeoutsToDrop = 2
            $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 2
        }
        let slow = peer(1)
        _ = p.addPeer(slow, sameZone: true, now: 0)
        var asked = p.peerHasAll(slow, now: 0).chunks(to: slow)
        var now: UInt64 = 0
        for _ in 0..<4 {
            now += 10 * second
            asked += p.tick(now: now).chunks(to: slow)
            // One chunk arrives before the next time-out: the count starts over.
            let chunk = p.inFlight(to: slow).first ?? asked.last!
            _ = p.arriving(chunk: chunk, from: slow)
            asked += p.received(chunk: chunk, from: slow, valid: true, now: now + 1).chunks(to: slow)
            #expect(p.peers.contains(slow))
        }
        #expect(!p.isShunned(slow, now: now))
    }

    @Test func keptOutPeersAreBoundedOldestFirst() {
        var set = BoundedPeerSet(capacity: 3)
        let added = (1...3).map { set.insert(peer(UInt64($0))) }
        let again = set.insert(peer(2))
        #expect(added == [true, true, true] && !again, "already in")
        let fourth = set.insert(peer(4))
        #expect(fourth && !set.contains(peer(1)) && set.contains(peer(2)) && set.contains(peer(4)) && set.count == 3)
        let fifth = set.insert(peer(5))
        #expect(fifth && !set.contains(peer(2)) && set.contains(peer(3)))
        let back = set.insert(peer(1))
        #expect(back, "a forgotten peer may come back")
        #expect(BoundedPeerSet(capacity: 0).capacity == 1)
    }

    /// `missing` for a chunk not asked of the peer costs no planning, whoever sends it and
    /// however often; it only forgets that the peer has it.
    @Test func aRefusalOfNothingAskedPlansNothing() {
        var p = planner(chunks: 8) { $0.initialWindow = 1; $0.minWindow = 1; $0.maxWindow = 1; $0.requestTimeout = second }
        let a = peer(1), b = peer(2)
        _ = p.addPeer(a, sameZone: false, now: 0)
        let asked = p.peerHasAll(a, now: 0).chunks(to: a)
        #expect(asked.count == 1)
        let other = (0..<8).first { !asked.contains($0) }!
        // Past the request's time-out: a step would re-issue it; a refusal of nothing does not step.
        #expect(p.refused(chunk: other, by: a, now: 2 * second).isEmpty)
        #expect(p.refused(chunk: other, by: b, now: 2 * second).isEmpty, "not a peer of the download")
        #expect(p.refused(chunk: 99, by: a, now: 2 * second).isEmpty)
        #expect(p.inFlight(to: a) == asked, "its time-out waits for the next event or tick")
        #expect(!p.tick(now: 2 * second).isEmpty)
        // A refusal of what was asked re-plans: the chunk goes to whoever else has it.
        let again = p.inFlight(to: a)
        _ = p.addPeer(b, sameZone: false, now: 2 * second)
        let onlyThat = (0..<8).map { again.contains($0) }
        #expect(p.peerHas(b, bitfield: onlyThat, now: 2 * second).chunks(to: b).isEmpty, "in flight at A")
        #expect(p.refused(chunk: again[0], by: a, now: 2 * second + 1).chunks(to: b) == again)
    }
}
