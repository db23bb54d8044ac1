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

    /// Eight chunks, 10 s time-outs, windows of one or two requests, and a peer benched for
    /// 60 s after `timeouts` time-outs with nothing delivered.
    static func benching(after timeouts: Int) -> SwarmPlanner {
        planner(chunks: 8) {
            $0.requestTimeout = 10 * second; $0.timeoutsToBench = timeouts; $0.benchFor = 60 * second
            $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 2
        }
    }

    /// A peer that offers everything and answers nothing: its requests time out, its window
    /// halves, and after `timeoutsToBench` time-outs with no chunk between them it is asked
    /// for nothing for `benchFor`; the chunks go to a peer that answers.
    @Test func aPeerThatAnswersNothingIsBenchedAfterItsTimeOuts() {
        var p = Self.benching(after: 3)
        let silent = peer(1), honest = peer(2)
        _ = p.addPeer(silent, sameZone: true, now: 0)
        _ = p.addPeer(honest, sameZone: false, now: 0)
        // The honest peer holds one chunk; the silent one claims them all (so it is no chunk's
        // only source once the honest one is counted, and it is preferred: same zone).
        #expect(p.peerHasAll(silent, now: 0).chunks(to: silent).count == 2)
        _ = p.peerHas(honest, bitfield: (0..<8).map { _ in true }, now: 0)
        var now: UInt64 = 0
        for pass in 1...3 {
            now += 10 * second
            let out = p.tick(now: now)
            if pass < 3 { #expect(!out.chunks(to: silent).isEmpty, "pass \(pass): asked again, window halved") }
        }
        #expect(p.isBenched(silent, now: now) && !p.isBanned(silent) && p.peers.contains(silent))
        #expect(p.inFlight(to: silent).isEmpty)
        #expect(p.tick(now: now + 1).chunks(to: silent).isEmpty, "benched: asked for nothing")
        #expect(!p.isBenched(silent, now: now + 60 * second), "then it may be asked again")
    }

    /// Requests issued a moment apart time out in passes a moment apart: they count as one
    /// time-out, not three.
    @Test func timeOutsAMomentApartCountOnce() {
        var p = Self.benching(after: 2)
        let a = peer(1), b = peer(2)
        _ = p.addPeer(a, sameZone: true, now: 0)
        // A offers chunk 7, then 6 a moment later: asked for each as it comes.
        #expect(p.peerHas(a, bitfield: (0..<8).map { $0 == 7 }, now: 0).chunks(to: a) == [7])
        #expect(p.peerHas(a, chunk: 6, now: 300 * ms).chunks(to: a) == [6])
        // B offers everything: A is no chunk's only source.
        _ = p.addPeer(b, sameZone: false, now: 300 * ms)
        _ = p.peerHas(b, bitfield: (0..<8).map { _ in true }, now: 300 * ms)
        _ = p.tick(now: 10 * second)
        _ = p.tick(now: 10 * second + 300 * ms)
        #expect(p.misses(of: a) == 2)
        #expect(!p.isBenched(a, now: 10 * second + 300 * ms), "two passes 300 ms apart are one time-out")
    }

    /// The only peer offering a chunk is never benched, however slow: it may be the seed.
    @Test func theOnlySourceIsNeverBenched() {
        var p = planner(chunks: 1) { $0.requestTimeout = second; $0.timeoutsToBench = 2; $0.initialWindow = 1; $0.minWindow = 1 }
        let seed = peer(1)
        _ = p.addPeer(seed, sameZone: false, now: 0)
        _ = p.peerHasAll(seed, now: 0)
        for n in 1...5 { #expect(p.tick(now: UInt64(n) * second) == [.request(peer: seed, chunk: 0)]) }
        #expect(!p.isBenched(seed, now: 5 * second))
    }

    /// A peer that is slow but delivers between its time-outs, late chunks included, is not benched.
    @Test func aSlowPeerThatDeliversIsNotBenched() {
        var p = Self.benching(after: 2)
        let slow = peer(1), other = peer(2)
        _ = p.addPeer(slow, sameZone: true, now: 0)
        _ = p.addPeer(other, sameZone: false, now: 0)
        var asked = p.peerHasAll(slow, now: 0).chunks(to: slow)
        _ = p.peerHas(other, bitfield: (0..<8).map { _ in true }, now: 0)
        var now: UInt64 = 0
        for _ in 0..<4 {
            now += 10 * second
            asked += p.tick(now: now).chunks(to: slow)
            // A chunk arrives after its request timed out: late, but it counts.
            let chunk = asked.first { !p.held[$0] }!
            _ = p.arriving(chunk: chunk, from: slow)
            _ = p.received(chunk: chunk, from: slow, valid: true, now: now + 1)
            #expect(!p.isBenched(slow, now: now + 1))
        }
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
