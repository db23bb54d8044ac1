import Gossip
import Testing

@Suite struct MembershipTests {
    let a = NodeID(high: 1, low: 1)
    let b = NodeID(high: 2, low: 2)
    let c = NodeID(high: 3, low: 3)
    let addrA = PeerAddress(host: "10.0.0.1", port: 1)
    let addrB = PeerAddress(host: "10.0.0.2", port: 1)
    let addrC = PeerAddress(host: "10.0.0.3", port: 1)

    func node(_ id: NodeID, _ address: PeerAddress, settings: SWIMSettings = SWIMSettings()) -> SWIMMembership {
        SWIMMembership(id: id, address: address, incarnation: 5, settings: settings, seed: 1, now: 0)
    }

    func sends(_ directives: [SWIMMembership.Directive]) -> [(Message, PeerAddress)] {
        directives.compactMap { if case .send(let m, let to) = $0 { return (m, to) }; return nil }
    }

    @Test func aPingIsAckedWithTheSameSequence() {
        var n = node(a, addrA)
        let out = sends(n.receive(.ping(seq: 42, from: b, updates: []), from: addrB, now: 0))
        #expect(out.count == 1)
        guard case .ack(let seq, let from, _) = out[0].0 else { Issue.record("not an ack"); return }
        #expect(seq == 42 && from == a && out[0].1 == addrB)
    }

    @Test func anUnansweredProbeGoesIndirectThenSuspectsThenDeclaresDead() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [
            .alive(id: b, incarnation: 1, address: addrB, metadata: []),
            .alive(id: c, incarnation: 1, address: addrC, metadata: []),
        ]), from: addrB, now: 0)
        // Probe at 1 s: a ping to one of them.
        let first = sends(n.tick(now: second))
        let pings = first.filter { if case .ping = $0.0 { return true }; return false }
        #expect(pings.count == 1)
        let target = pings[0].1
        // Probe time-out: a ping-req to the other member.
        let indirect = sends(n.tick(now: second + 500_000_000))
        #expect(indirect.contains { if case .pingReq(_, _, let t, _) = $0.0 { return t == target }; return false })
        // End of the interval, no ack: suspected, and local health grows.
        _ = n.tick(now: 2 * second)
        let suspect = target == addrB ? b : c
        #expect(n.member(suspect)?.status == .suspect)
        #expect(n.localHealth == 1)
        // Not refuted within the suspicion time-out: dead.
        _ = n.tick(now: 2 * second + n.suspicionTimeout)
        #expect(n.member(suspect)?.status == .dead)
    }

    @Test func anAckClearsTheProbeAndHealsLocalHealth() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        _ = n.tick(now: second)  // ping b
        _ = n.tick(now: second + 600_000_000)  // ping-req: nobody else to ask
        _ = n.tick(now: 2 * second)  // failed: suspect b, health 1, ping again
        #expect(n.localHealth == 1)
        let ping = sends(n.tick(now: 2 * second)).first
        _ = ping
        // The probe started at 2 s has sequence 2; ack it.
        _ = n.receive(.ack(seq: 2, from: b, updates: [.alive(id: b, incarnation: 2, address: addrB, metadata: [])]), from: addrB, now: 2 * second + 1)
        #expect(n.localHealth == 0)
        #expect(n.member(b)?.status == .alive, "a higher incarnation overrides the suspicion")
    }

    @Test func aSuspicionOfItselfIsRefutedWithAHigherIncarnation() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        _ = n.receive(.gossip(from: b, updates: [.suspect(id: a, incarnation: 5, by: b)]), from: addrB, now: 1)
        #expect(n.me.incarnation == 6)
        #expect(n.localHealth == 1)
        let reply = sends(n.receive(.ping(seq: 1, from: b, updates: []), from: addrB, now: 2))
        #expect(reply.first?.0.updates.contains(.alive(id: a, incarnation: 6, address: addrA, metadata: [])) == true)
        // An older suspicion does nothing.
        _ = n.receive(.gossip(from: b, updates: [.suspect(id: a, incarnation: 3, by: b)]), from: addrB, now: 3)
        #expect(n.me.incarnation == 6)
    }

    @Test func onlyAHigherIncarnationOverrides() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 4, address: addrB, metadata: [1])]), from: addrB, now: 0)
        _ = n.receive(.gossip(from: c, updates: [.suspect(id: b, incarnation: 4, by: c)]), from: addrC, now: 1)
        #expect(n.member(b)?.status == .suspect)
        // Same incarnation alive: still suspect. Stale alive: ignored.
        _ = n.receive(.gossip(from: c, updates: [.alive(id: b, incarnation: 4, address: addrB, metadata: [2])]), from: addrC, now: 2)
        _ = n.receive(.gossip(from: c, updates: [.alive(id: b, incarnation: 3, address: addrB, metadata: [3])]), from: addrC, now: 2)
        #expect(n.member(b)?.status == .suspect)
        #expect(n.member(b)?.metadata == [1])
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 5, address: addrB, metadata: [4])]), from: addrB, now: 3)
        #expect(n.member(b)?.status == .alive)
        #expect(n.member(b)?.metadata == [4])
        // Dead with an older incarnation is ignored; a restarted member (higher incarnation) comes back.
        _ = n.receive(.gossip(from: c, updates: [.dead(id: b, incarnation: 4, by: c)]), from: addrC, now: 4)
        #expect(n.member(b)?.status == .alive)
        _ = n.receive(.gossip(from: c, updates: [.dead(id: b, incarnation: 5, by: c)]), from: addrC, now: 5)
        #expect(n.member(b)?.status == .dead)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1_000, address: addrB, metadata: [])]), from: addrB, now: 6)
        #expect(n.member(b)?.status == .alive)
    }

    @Test func rumoursStopAfterTheRetransmitLimit() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        let limit = n.retransmitLimit
        var carried = 0
        for seq in 1...UInt32(limit + 10) {
            let out = sends(n.receive(.ping(seq: seq, from: b, updates: []), from: addrB, now: UInt64(seq)))
            carried += out[0].0.updates.count
        }
        #expect(carried == limit)
        #expect(n.pendingRumours == 0)
    }

    @Test func metadataChangesRaiseTheIncarnation() {
        var n = node(a, addrA)
        _ = n.setMetadata([9, 9])
        #expect(n.me.incarnation == 6)
        #expect(n.fullState().first == .alive(id: a, incarnation: 6, address: addrA, metadata: [9, 9]))
    }

    @Test func aNewRumourGoesOutWithoutWaitingForTheNextRound() {
        var n = node(a, addrA)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        // The first regular round (at the gossip interval) carries b's alive rumour.
        let interval = n.settings.gossipInterval
        let gossips = { (out: [(Message, PeerAddress)]) in out.filter { if case .gossip = $0.0 { return true }; return false } }
        #expect(!gossips(sends(n.tick(now: interval))).isEmpty)
        // Metadata changes 50 ms later: its rumour is due after `freshRumourDelay`, not at the next round.
        let changed = interval + 50_000_000
        _ = n.setMetadata([7])
        #expect(n.nextDeadline == interval + n.settings.freshRumourDelay)
        #expect(gossips(sends(n.tick(now: interval + 10_000_000))).isEmpty)
        let out = gossips(sends(n.tick(now: changed)))
        #expect(out.count == 1 && out[0].1 == addrB)
        #expect(out.first?.0.updates.contains(.alive(id: a, incarnation: 6, address: addrA, metadata: [7])) == true)
        // Nothing new since: the next round is the regular one.
        #expect(n.nextDeadline == 2 * interval)
    }

    @Test func aNewNoticeGoesOutWithoutWaitingForTheNextRound() {
        var q = RumourQueue<Int>(interval: 200, freshDelay: 20)
        q.add(1)
        #expect(q.round(now: 0, limit: 5) == [1])
        #expect(q.round(now: 10, limit: 5).isEmpty)
        q.add(2)
        // Fresh: due 20 after the last round, not at 200.
        #expect(q.nextDeadline == 20)
        #expect(q.round(now: 19, limit: 5).isEmpty)
        #expect(q.round(now: 25, limit: 5) == [1, 2])
        // Nothing fresh: the regular round.
        #expect(q.nextDeadline == 200)
        #expect(q.round(now: 150, limit: 5).isEmpty)
        #expect(q.round(now: 200, limit: 5) == [1, 2])
    }

    @Test func aRoundPostponedForWantOfMembersKeepsEverySend() {
        var q = RumourQueue<Int>(interval: 50, freshDelay: 20)
        q.add(1)
        // Alone at 0: the round passes unsent, and the next is an interval away (not due at once again).
        q.postpone(now: 0)
        #expect(q.nextDeadline == 50)
        q.postpone(now: 50)
        q.postpone(now: 100)
        // The rumour still goes out `limit` times once someone is there.
        for t in [150, 200] { #expect(q.round(now: UInt64(t), limit: 2) == [1]) }
        #expect(q.isEmpty)
    }

    @Test func pushPullIsAnsweredWithFullState() {
        var n = node(a, addrA)
        let out = sends(n.receive(.pushPull(from: b, isRequest: true, state: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]),
                                  from: addrB, now: 0))
        guard case .pushPull(_, false, let state) = out.first?.0 else { Issue.record("no push-pull answer"); return }
        #expect(state.map(\.id) == [a, b])
    }
}

@Suite struct SimulatedFleetTests {
    @Test func tenNodesJoinedThroughOneSeedConverge() {
        var net = SimulatedNetwork(count: 10, seed: 7)
        net.joinAll()
        net.run(until: 10 * second)
        for i in 0..<10 {
            #expect(net.nodes[i].liveCount == 9, "node \(i) sees \(net.nodes[i].liveCount)")
        }
    }

    @Test func aCrashedNodeIsDeclaredDeadByAllAndNoOneElse() {
        var net = SimulatedNetwork(count: 12, seed: 11)
        net.joinAll()
        net.run(until: 10 * second)
        net.down.insert(5)
        net.run(until: 40 * second)
        for i in 0..<12 where i != 5 {
            #expect(net.status(of: 5, at: i) == .dead, "node \(i)")
            for j in 0..<12 where j != 5 && j != i { #expect(net.status(of: j, at: i) == .alive, "node \(i) about \(j)") }
        }
    }

    @Test func indirectProbesSaveAMemberBehindOneBrokenLink() {
        var net = SimulatedNetwork(count: 6, seed: 3)
        net.joinAll()
        net.run(until: 10 * second)
        net.broken = [[0, 1], [1, 0]]
        net.run(until: 60 * second)
        #expect(net.status(of: 1, at: 0) == .alive)
        #expect(net.status(of: 0, at: 1) == .alive)
    }

    @Test func aRestartedNodeIsAliveAgainWithAHigherIncarnation() {
        var net = SimulatedNetwork(count: 5, seed: 5)
        net.joinAll()
        net.run(until: 10 * second)
        net.down.insert(2)
        net.run(until: 40 * second)
        #expect(net.status(of: 2, at: 0) == .dead)
        let old = net.nodes[2].me
        net.nodes[2] = SWIMMembership(id: old.id, address: old.address, incarnation: old.incarnation + 100, seed: 99, now: net.now)
        net.down.remove(2)
        net.deliver(from: 2, net.nodes[2].join([net.address(0)]))
        net.run(until: 60 * second)
        for i in [0, 1, 3, 4] { #expect(net.status(of: 2, at: i) == .alive, "node \(i)") }
    }

    @Test func theSameSeedGivesTheSameRun() {
        func run() -> [UInt64] {
            var net = SimulatedNetwork(count: 20, seed: 42)
            net.loss = 0.05
            net.joinAll()
            net.run(until: 20 * second)
            return net.nodes.map(\.me.incarnation) + [UInt64(net.sent)]
        }
        #expect(run() == run())
    }
}
