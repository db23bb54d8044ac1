import Gossip
import Testing
@testable import Swarm

/// Windows, the byte cap, the rate limit and time-outs.
struct FlowControlTests {
    @Test func aNewPeerGetsTheInitialWindow() {
        var p = planner(chunks: 10) { $0.initialWindow = 3 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0).count == 3)
        #expect(p.inFlight(to: peer(1)).count == 3)
        #expect(p.tick(now: ms).isEmpty)
        #expect(p.peerHasAll(peer(1), now: ms).isEmpty)
        #expect(p.window(of: peer(1)) == 3)
    }

    @Test func windowGrowsForAFastPeerUpToMax() {
        // 64 KiB chunks answered in 1 ms: ~65 MB/s, 50 ms of it is far above 10 requests.
        var p = planner(chunks: 100, size: 65536) { $0.maxWindow = 10 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        let first = p.peerHasAll(peer(1), now: 0).requestedChunks
        #expect(first.count == 4)
        let more = p.received(chunk: first[0], from: peer(1), valid: true, now: ms)
        #expect(p.window(of: peer(1)) == 10)
        #expect(more.count == 7)  // 3 still in flight + 7 = 10
        #expect(p.inFlight(to: peer(1)).count == 10)
    }

    @Test func aFarPeersWindowCoversTwoRoundTrips() {
        // 64 KiB in 100 ms is 655 KB/s: 20 ms of it is a fifth of a chunk (the minimum window, 1),
        // but a peer 200 ms away needs two round trips of it in flight, 4 chunks.
        // A round trip grown by a busy moment (here 2 s) does not count: the least one does.
        for (rtt, window) in [(ms, 1), (200 * ms, 4)] {
            var p = planner(chunks: 100, size: 65536)
            _ = p.addPeer(peer(1), sameZone: false, now: 0)
            p.peerRTT(peer(1), nanoseconds: rtt)
            p.peerRTT(peer(1), nanoseconds: 2 * second)
            let first = p.peerHasAll(peer(1), now: 0).requestedChunks
            _ = p.received(chunk: first[0], from: peer(1), valid: true, now: 100 * ms)
            #expect(p.window(of: peer(1)) == window, "round trip \(rtt / ms) ms")
        }
    }

    /// A requester that gets a sixteenth of a 20 MiB/s uploader (64 KiB every 50 ms) keeps one
    /// request queued there: with 50 ms and at least two, every request waited behind ~32
    /// others at the uploader, and a fresh chunk that long at every hop. One that has the
    /// whole link (64 KiB every 3.125 ms) keeps 20 ms of it, 7 chunks: still pipelined.
    @Test func aSmallShareOfABusyUploaderKeepsOneRequestQueued() {
        for (gap, window) in [(50 * ms, 1), (3_125_000 as UInt64, 7)] {
            var p = planner(chunks: 100, size: 65536)
            _ = p.addPeer(peer(1), sameZone: false, now: 0)
            p.peerRTT(peer(1), nanoseconds: 2 * ms)
            let first = p.peerHasAll(peer(1), now: 0).requestedChunks
            _ = p.received(chunk: first[0], from: peer(1), valid: true, now: gap)
            #expect(p.window(of: peer(1)) == window, "a chunk every \(gap) ns")
        }
    }

    @Test func windowShrinksForASlowPeerDownToMin() {
        // One 64 KiB chunk per second: 50 ms of that is a twentieth of a chunk.
        var p = planner(chunks: 100, size: 65536) { $0.initialWindow = 8; $0.minWindow = 3 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        let first = p.peerHasAll(peer(1), now: 0).requestedChunks
        #expect(first.count == 8)
        #expect(p.received(chunk: first[0], from: peer(1), valid: true, now: second).isEmpty)
        #expect(p.window(of: peer(1)) == 3)
        // 7 still in flight: no new request until fewer than 3 are.
        for (i, chunk) in first.dropFirst().prefix(4).enumerated() {
            #expect(p.received(chunk: chunk, from: peer(1), valid: true, now: UInt64(i + 2) * second).isEmpty)
        }
        #expect(p.received(chunk: first[5], from: peer(1), valid: true, now: 6 * second).count == 1)
    }

    @Test func bytesInFlightStayUnderTheCap() {
        var p = planner(chunks: 20, size: 1000) { $0.maxBytesInFlight = 3500; $0.initialWindow = 8 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        _ = p.addPeer(peer(2), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0).count == 3)
        #expect(p.peerHasAll(peer(2), now: 0).isEmpty)
        #expect(p.bytesInFlight == 3000)
        let chunk = p.inFlight(to: peer(1))[0]
        #expect(p.received(chunk: chunk, from: peer(1), valid: true, now: ms).count == 1)
        #expect(p.bytesInFlight == 3000)
    }

    @Test func oneRequestIsAllowedWhenNothingIsInFlight() {
        let sizes: [UInt32] = [5000, 5000, 100]
        var p = SwarmPlanner(sizes: sizes, held: [false, false, false],
                             settings: makeSettings { $0.maxBytesInFlight = 1000; $0.randomFirst = 0 }, seed: 1, now: 0)
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHas(peer(1), bitfield: [true, true, false], now: 0).count == 1)
        #expect(p.bytesInFlight == 5000)
        #expect(p.peerHas(peer(1), chunk: 2, now: 0).isEmpty)  // even a small one waits
    }

    @Test func rateLimitSpacesRequestsAndSetsTheDeadline() {
        // 1000 B/s, 1000-byte chunks: the burst is one chunk, then one per second.
        var p = planner(chunks: 5, size: 1000) { $0.downloadBytesPerSecond = 1000; $0.initialWindow = 8 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0).count == 1)
        #expect(p.nextDeadline == second)
        #expect(p.tick(now: second - 1).isEmpty)
        #expect(p.nextDeadline == second)
        #expect(p.tick(now: second).count == 1)
        #expect(p.nextDeadline == 2 * second)
        #expect(p.tick(now: 2 * second + 500 * ms).count == 1)
        #expect(p.nextDeadline == 3 * second + 500 * ms)
        #expect(p.inFlight(to: peer(1)).count == 3)
    }

    @Test func withoutRateLimitTheDeadlineIsTheFirstTimeout() {
        var p = planner(chunks: 2) { $0.requestTimeout = 7 * second }
        #expect(p.nextDeadline == .max)
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        _ = p.peerHas(peer(1), chunk: 0, now: 3 * second)
        _ = p.peerHas(peer(1), chunk: 1, now: 5 * second)
        #expect(p.nextDeadline == 10 * second)
    }

    @Test func timeoutReissuesElsewhereAndHalvesTheWindow() {
        let a = peer(1), b = peer(2)
        var p = planner(chunks: 20) { $0.initialWindow = 8; $0.endgameDuplicates = 1; $0.requestTimeout = 10 * second }
        _ = p.addPeer(a, sameZone: true, now: 0)
        let toA = p.peerHasAll(a, now: 0).chunks(to: a)
        #expect(toA.count == 8)
        _ = p.addPeer(b, sameZone: false, now: ms)
        let toB = p.peerHasAll(b, now: ms).chunks(to: b)
        #expect(toB.count == 8)
        // B answers fast, its window opens and it takes the last 4.
        var rest: [Int] = []
        for chunk in toB { rest += p.received(chunk: chunk, from: b, valid: true, now: 2 * ms).chunks(to: b) }
        #expect(rest.count == 4)
        for chunk in rest { #expect(p.received(chunk: chunk, from: b, valid: true, now: 3 * ms).isEmpty) }
        #expect(p.nextDeadline == 10 * second)

        #expect(p.tick(now: 10 * second - 1).isEmpty)
        let out = p.tick(now: 10 * second)
        #expect(out.chunks(to: b).sorted() == toA.sorted())
        #expect(out.chunks(to: a).isEmpty)
        #expect(p.window(of: a) == 4)
        #expect(p.misses(of: a) == 8)
        #expect(p.inFlight(to: a).isEmpty)

        // A late answer from A is still good data: it cancels nothing (no
        // endgame duplicate), and B's copy becomes a duplicate arrival.
        let late = toA[0]
        #expect(p.received(chunk: late, from: a, valid: true, now: 11 * second) == [.cancel(peer: b, chunk: late)])
        #expect(p.received(chunk: late, from: b, valid: true, now: 11 * second).isEmpty)
    }

    @Test func timeoutFallsBackToTheSamePeerWhenNoOneElseHasIt() {
        var p = planner(chunks: 1) { $0.requestTimeout = second; $0.initialWindow = 8; $0.minWindow = 2 }
        _ = p.addPeer(peer(1), sameZone: false, now: 0)
        #expect(p.peerHasAll(peer(1), now: 0) == [.request(peer: peer(1), chunk: 0)])
        #expect(p.tick(now: second) == [.request(peer: peer(1), chunk: 0)])
        #expect(p.window(of: peer(1)) == 4)
        #expect(p.tick(now: 2 * second) == [.request(peer: peer(1), chunk: 0)])
        #expect(p.tick(now: 3 * second) == [.request(peer: peer(1), chunk: 0)])
        #expect(p.window(of: peer(1)) == 2)  // not below minWindow
    }
}
