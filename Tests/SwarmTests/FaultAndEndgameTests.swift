import Gossip
import Testing
@testable import Swarm

/// Bad peers, departures, endgame and completion.
struct FaultAndEndgameTests {
    @Test func badChunksStrikeThenBanAndReplanElsewhere() {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 4) { $0.initialWindow = 8; $0.endgameDuplicates = 1 }
        _ = p.addPeer(a, sameZone: true, now: 0)
        _ = p.addPeer(b, sameZone: false, now: 0)
        #expect(p.peerHasAll(a, now: 0).chunks(to: a).sorted() == [0, 1, 2, 3])
        #expect(p.peerHasAll(b, now: 0).isEmpty)

        // Each bad chunk is a strike and is asked for again, from B (A still has slots).
        #expect(p.received(chunk: 0, from: a, valid: false, now: ms) == [.request(peer: b, chunk: 0)])
        #expect(!p.isBanned(a))
        #expect(p.received(chunk: 1, from: a, valid: false, now: 2 * ms) == [.request(peer: b, chunk: 1)])
        #expect(!p.isBanned(a))
        #expect(p.inFlight(to: a) == [2, 3])

        let out = p.received(chunk: 2, from: a, valid: false, now: 3 * ms)
        #expect(out.first == .ban(peer: a))
        #expect(Array(out.dropFirst()).chunks(to: b).sorted() == [2, 3] && out.count == 3)
        #expect(p.isBanned(a))
        #expect(p.peers == [b])
        #expect(p.inFlight(to: a).isEmpty)
        #expect(p.inFlight(to: b) == [0, 1, 2, 3])
        #expect(p.bytesInFlight == 4000)

        // Never asked again, even when it comes back.
        #expect(p.addPeer(a, sameZone: true, now: 4 * ms).isEmpty)
        #expect(p.peerHasAll(a, now: 4 * ms).isEmpty)
        #expect(p.peers == [b])
        #expect(p.received(chunk: 3, from: a, valid: false, now: 5 * ms).isEmpty)  // no second ban
    }

    /// Identities cost nothing: bad bytes a peer was never asked for (or whose request was
    /// cancelled) are dropped without a strike, so throwaway peers cannot fill the ban list.
    @Test func badBytesNobodyAskedForAreNoStrike() {
        let a = peer(1)
        var p = planner(chunks: 2) { $0.strikesToBan = 1 }
        _ = p.addPeer(a, sameZone: false, now: 0)
        for t in 1...5 { #expect(!p.received(chunk: 0, from: a, valid: false, now: UInt64(t) * ms).contains(.ban(peer: a))) }
        #expect(!p.isBanned(a))
        let unasked = p.arriving(chunk: 0, from: a)
        #expect(!unasked)
        // Asked of it, then bad: a strike, a ban at the first here.
        #expect(p.peerHasAll(a, now: 10 * ms).chunks(to: a).contains(0))
        let asked = p.arriving(chunk: 0, from: a)
        #expect(asked)
        #expect(p.received(chunk: 0, from: a, valid: false, now: 11 * ms).contains(.ban(peer: a)))
        #expect(p.isBanned(a))
    }

    @Test func aStrikeAloneDoesNotBan() {
        var p = planner(chunks: 1) { $0.strikesToBan = 2 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0) == [.request(peer: peer(1), chunk: 0)])
        // Nobody else has it, so it is asked again.
        #expect(p.received(chunk: 0, from: peer(1), valid: false, now: ms) == [.request(peer: peer(1), chunk: 0)])
        #expect(p.received(chunk: 0, from: peer(1), valid: false, now: 2 * ms) == [.ban(peer: peer(1))])
        #expect(p.peers.isEmpty)
    }

    @Test func endgameDuplicatesThenCancels() {
        let a = peer(1), b = peer(2), c = peer(3)
        var p = planner(chunks: 3) { $0.initialWindow = 4; $0.endgameDuplicates = 2; $0.endgameAfter = 0; $0.endgameBudget = 1; $0.endgameMoves = false }
        _ = p.addPeer(a, sameZone: true, now: 0)
        #expect(p.peerHasAll(a, now: 0).chunks(to: a).sorted() == [0, 1, 2])
        _ = p.addPeer(b, sameZone: false, now: 0)
        #expect(p.peerHasAll(b, now: 0).chunks(to: b).sorted() == [0, 1, 2])
        _ = p.addPeer(c, sameZone: false, now: 0)
        #expect(p.peerHasAll(c, now: 0).isEmpty)  // two peers per chunk already
        #expect(p.bytesInFlight == 6000)

        #expect(p.received(chunk: 0, from: b, valid: true, now: ms) == [.cancel(peer: a, chunk: 0)])
        #expect(p.received(chunk: 0, from: a, valid: true, now: ms).isEmpty)  // late copy: nothing, no strike
        #expect(p.received(chunk: 1, from: a, valid: true, now: 2 * ms) == [.cancel(peer: b, chunk: 1)])
        #expect(p.received(chunk: 2, from: b, valid: true, now: 3 * ms) == [.cancel(peer: a, chunk: 2), .complete])
        #expect(p.bytesInFlight == 0)
        #expect(!p.isBanned(a) && !p.isBanned(b))
    }

    @Test func endgameDuplicatesStayWithinTheBudget() {
        let a = peer(1), b = peer(2)
        // 8 chunks of 1000 bytes: a quarter is two duplicates.
        var p = planner(chunks: 8) { $0.initialWindow = 8; $0.endgameDuplicates = 2; $0.endgameAfter = 0; $0.endgameBudget = 0.25; $0.endgameMoves = false }
        _ = p.addPeer(a, sameZone: true, now: 0)
        #expect(p.peerHasAll(a, now: 0).chunks(to: a).count == 8)
        _ = p.addPeer(b, sameZone: false, now: 0)
        #expect(p.peerHasAll(b, now: 0).chunks(to: b).count == 2)
        #expect(p.duplicateBytes == 2000)
        // Later chances do not add more: the budget is spent for this download.
        #expect(p.tick(now: second).chunks(to: b).isEmpty)
        #expect(p.bytesInFlight == 10_000)
    }

    @Test func anEndgameDuplicateWaitsUntilTheFirstRequestIsLate() {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 1) { $0.endgameDuplicates = 2; $0.endgameAfter = 500 * ms; $0.requestTimeout = 10 * second; $0.endgameMoves = false }
        _ = p.addPeer(a, sameZone: true, now: 0)
        #expect(p.peerHasAll(a, now: 0) == [.request(peer: a, chunk: 0)])
        _ = p.addPeer(b, sameZone: false, now: ms)
        // B has it too, but A was asked only a moment ago: no second copy yet.
        #expect(p.peerHasAll(b, now: ms).isEmpty)
        #expect(p.nextDeadline == 500 * ms)
        #expect(p.tick(now: 500 * ms - 1).isEmpty)
        #expect(p.tick(now: 500 * ms) == [.request(peer: b, chunk: 0)])
        #expect(p.received(chunk: 0, from: a, valid: true, now: 600 * ms) == [.cancel(peer: b, chunk: 0), .complete])
    }

    /// One chunk, asked of A (peer 1) at 0; B (peer 2) has it too from 1 ms. Endgame after 500 ms.
    func askedOfAHeldByB(_ edit: (inout SwarmSettings) -> Void = { _ in }) -> SwarmPlanner {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 1) {
            $0.endgameAfter = 500 * ms
            $0.requestTimeout = 10 * second
            edit(&$0)
        }
        _ = p.addPeer(a, sameZone: true, now: 0)
        #expect(p.peerHasAll(a, now: 0) == [.request(peer: a, chunk: 0)])
        _ = p.addPeer(b, sameZone: false, now: ms)
        #expect(p.peerHasAll(b, now: ms).isEmpty)
        return p
    }

    @Test func aLateEndgameRequestIsMovedNotRaced() {
        let a = peer(1), b = peer(2)
        var p = askedOfAHeldByB()
        // Late at A: A is told to drop it (still queued there, it costs nothing) and B is asked.
        #expect(p.tick(now: 500 * ms) == [.cancel(peer: a, chunk: 0), .request(peer: b, chunk: 0)])
        #expect(p.inFlight(to: a).isEmpty && p.inFlight(to: b) == [0])
        #expect(p.stats.endgame == 1 && p.duplicateBytes == 1000)
        // B's request is young: nothing moves. Once it is late too, it stays: A was too slow
        // for this chunk and B has it (and the budget is spent).
        #expect(p.tick(now: 600 * ms).isEmpty)
        #expect(p.tick(now: 1_100 * ms).isEmpty)
        #expect(p.received(chunk: 0, from: b, valid: true, now: 700 * ms) == [.complete])
        #expect(p.stats.slowest?.nanoseconds == 200 * ms && p.stats.slowest?.peer == b)
    }

    /// Where requests are answered in 10 ms, one that waited 30 ms (the smoothed time plus
    /// four deviations) is late, long before `endgameAfter`: it is raced, not moved (the
    /// late peer may be sending it), and the first copy cancels the other.
    @Test func aRequestIsLateOnceItWaitedFarLongerThanTheDownloadsRequestsTake() throws {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 2) {
            $0.endgameAfter = 500 * ms; $0.requestTimeout = 10 * second
            $0.initialWindow = 1; $0.minWindow = 1; $0.maxWindow = 1
        }
        _ = p.addPeer(a, sameZone: false, now: 0)
        let atA = try #require(p.peerHasAll(a, now: 0).requestedChunks.first)
        _ = p.addPeer(b, sameZone: false, now: 0)
        #expect(p.peerHasAll(b, now: 0) == [.request(peer: b, chunk: 1 - atA)])
        #expect(p.received(chunk: 1 - atA, from: b, valid: true, now: 10 * ms).isEmpty, "A's request is 10 ms old: not late")
        #expect(p.nextDeadline == 30 * ms)
        #expect(p.tick(now: 30 * ms - 1).isEmpty)
        #expect(p.tick(now: 30 * ms) == [.request(peer: b, chunk: atA)])
        #expect(p.inFlight(to: a) == [atA] && p.stats.endgame == 1)
        #expect(p.received(chunk: atA, from: b, valid: true, now: 35 * ms) == [.cancel(peer: a, chunk: atA), .complete])
    }

    @Test func requestTimeSmoothsAsTCPDoesAndIsNeverLateAtOnce() {
        var t = RequestTime(80 * ms)
        #expect(t.late == 80 * ms + 4 * 40 * ms)
        for _ in 0..<50 { t.add(80 * ms) }
        #expect(t.late < 90 * ms, "steady answers: late soon after the usual time")
        t.add(400 * ms)
        #expect(t.late > 400 * ms, "one slow answer widens it at once")
        #expect(RequestTime(0).late == RequestTime.minimumLate)
    }

    @Test func aChunkBeingCheckedIsNotMoved() {
        let a = peer(1)
        var p = askedOfAHeldByB()
        // Its bytes came at 400 ms; the check is still queued at 500 ms: not late, not moved.
        p.arriving(chunk: 0, from: a)
        #expect(p.tick(now: 500 * ms).isEmpty)
        #expect(p.received(chunk: 0, from: a, valid: true, now: 700 * ms) == [.complete])
        #expect(p.stats.endgame == 0)
    }

    @Test func aChunkThatFailsItsCheckIsAskedElsewhere() {
        let a = peer(1), b = peer(2)
        var p = askedOfAHeldByB { $0.strikesToBan = 3 }
        p.arriving(chunk: 0, from: a)
        // A bad copy: a strike, and the chunk is asked again (of B, since A failed it).
        #expect(p.received(chunk: 0, from: a, valid: false, now: 600 * ms) == [.request(peer: b, chunk: 0)])
    }

    /// Found by the swarmEvents fuzz target: chunks that timed out at the only peer that has
    /// them are asked of it again one after another (the slow path), not just the first.
    @Test func chunksThatTimedOutAtTheOnlyHolderAreAllAskedAgain() {
        let a = peer(1)
        var p = planner(chunks: 4) { $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 2; $0.randomFirst = 0; $0.requestTimeout = second }
        _ = p.addPeer(a, sameZone: false, now: 0)
        let first = p.peerHasAll(a, now: 0).chunks(to: a)
        #expect(first.count == 2)
        // Both time out: A is the only holder, so they must be asked of A again later.
        var now = second
        _ = p.tick(now: now)
        var answered: [Int] = []
        for _ in 0..<8 where !p.isComplete {
            guard let chunk = p.inFlight(to: a).first else { break }
            now += ms
            answered.append(chunk)
            _ = p.received(chunk: chunk, from: a, valid: true, now: now)
        }
        #expect(p.isComplete, "stopped with \(p.missing) missing, nothing in flight, after \(answered)")
        #expect(Set(answered.suffix(2)) == Set(first))
    }

    @Test func noEndgameWhileAMissingChunkIsNotInFlight() throws {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 3) { $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 2; $0.endgameAfter = 0; $0.endgameBudget = 1; $0.endgameMoves = false }
        _ = p.addPeer(a, sameZone: false, now: 0)
        #expect(p.peerHasAll(a, now: 0).count == 2)
        // B has only what A is already asked for; the third chunk still waits
        // for A: that is not endgame, so no duplicates.
        _ = p.addPeer(b, sameZone: false, now: 0)
        let asked = p.inFlight(to: a)
        try #require(asked.count == 2)
        #expect(p.peerHas(b, bitfield: (0..<3).map { asked.contains($0) }, now: 0).isEmpty)
        // Once the last one is in flight too, B duplicates what it has.
        let last = try #require((0..<3).first { !asked.contains($0) })
        let out = p.received(chunk: asked[0], from: a, valid: true, now: ms)
        #expect(out == [.request(peer: a, chunk: last), .request(peer: b, chunk: asked[1])])
        #expect(p.peerHas(b, bitfield: [true, true, true], now: ms) == [.request(peer: b, chunk: last)])
    }

    @Test func removingAPeerReplansItsChunks() {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 6) { $0.initialWindow = 4; $0.endgameDuplicates = 1 }
        _ = p.addPeer(a, sameZone: true, now: 0)
        let toA = p.peerHasAll(a, now: 0).chunks(to: a)
        _ = p.addPeer(b, sameZone: false, now: 0)
        let toB = p.peerHasAll(b, now: 0).chunks(to: b)
        #expect(toA.count == 4 && toB.count == 2)
        // B answers fast and would take more, but everything is in flight.
        for chunk in toB { #expect(p.received(chunk: chunk, from: b, valid: true, now: ms).isEmpty) }
        let out = p.removePeer(a, now: 2 * ms)
        #expect(out.chunks(to: b).sorted() == toA.sorted())
        #expect(p.peers == [b])
        #expect(p.inFlight(to: a).isEmpty)
        #expect(p.bytesInFlight == 4000)
        #expect(!p.isBanned(a))
    }

    @Test func aChunkStoredElsewhereIsHeldAndItsRequestCancelled() {
        let a = peer(1)
        var p = planner(chunks: 4, size: 700) { $0.initialWindow = 2 }
        _ = p.addPeer(a, sameZone: true, now: 0)
        let asked = p.peerHasAll(a, now: 0).chunks(to: a)
        #expect(asked.count == 2)
        let chunk = asked[0]
        #expect(p.missing.contains(chunk))
        let out = p.storedElsewhere(chunk: chunk, now: ms)
        #expect(out.contains(.cancel(peer: a, chunk: chunk)), "the request to the peer is cancelled")
        #expect(!p.missing.contains(chunk) && p.heldCount == 1 && p.heldBytes == 700)
        #expect(p.inFlight(to: a).count == 2 && !p.inFlight(to: a).contains(chunk), "the window goes to another chunk")
        // Twice, or for a chunk index out of range: nothing changes.
        _ = p.storedElsewhere(chunk: chunk, now: ms)
        _ = p.storedElsewhere(chunk: 99, now: ms)
        #expect(p.heldCount == 1)
        let rest = p.missing
        for (i, c) in rest.enumerated() {
            let directives = p.storedElsewhere(chunk: c, now: 2 * ms)
            #expect(directives.contains(.complete) == (i == rest.count - 1))
        }
        #expect(p.isComplete)
    }

    @Test func completeIsEmittedOnce() {
        var p = planner(chunks: 2, size: 700)
        #expect(!p.isComplete)
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0).count == 2)
        #expect(p.received(chunk: 0, from: peer(1), valid: true, now: ms).isEmpty)
        #expect(p.received(chunk: 1, from: peer(1), valid: true, now: ms) == [.complete])
        #expect(p.isComplete && p.heldCount == 2 && p.heldBytes == 1400 && p.totalBytes == 1400)
        #expect(p.tick(now: 2 * ms).isEmpty)
        #expect(p.received(chunk: 1, from: peer(1), valid: true, now: 3 * ms).isEmpty)
        #expect(p.peerHasAll(peer(1), now: 3 * ms).isEmpty)
        #expect(p.nextDeadline == .max)
    }

    @Test func alreadyCompleteAtInitReportsOnTheFirstEvent() {
        var p = SwarmPlanner(sizes: [10, 20], held: [true, true], settings: SwarmSettings(), seed: 1, now: 0)
        #expect(p.isComplete && p.heldBytes == 30)
        #expect(p.addPeer(peer(1), sameZone: false, now: 0) == [.complete])
        #expect(p.peerHasAll(peer(1), now: 0).isEmpty)

        var empty = SwarmPlanner(sizes: [], held: [], settings: SwarmSettings(), seed: 1, now: 0)
        #expect(empty.tick(now: 0) == [.complete])
        #expect(empty.tick(now: 1).isEmpty)
    }

    @Test func heldChunksAreNeverRequested() {
        var p = SwarmPlanner(sizes: [10, 20, 30], held: [true, false, true], settings: SwarmSettings(), seed: 1, now: 0)
        #expect(p.heldCount == 2 && p.heldBytes == 40 && p.chunkCount == 3)
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0) == [.request(peer: peer(1), chunk: 1)])
    }
}
