import Gossip
import Testing

/// Rumours a forger sends to push a node's counters to their limits: none may trap.
@Suite struct HostileRumourTests {
    let a = NodeID(high: 1, low: 1)
    let b = NodeID(high: 2, low: 2)
    let addrA = PeerAddress(host: "10.0.0.1", port: 1)
    let addrB = PeerAddress(host: "10.0.0.2", port: 1)

    func node() -> SWIMMembership {
        var n = SWIMMembership(id: a, address: addrA, incarnation: 5, seed: 1, now: 0)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        return n
    }

    @Test(arguments: [UInt64.max, UInt64.max - 1, Update.maxIncarnation, Update.maxIncarnation + 1])
    func aSuspicionAtTheTopIncarnationIsLeftAloneNotOverflowed(_ incarnation: UInt64) {
        var n = node()
        for update in [Update.suspect(id: a, incarnation: incarnation, by: b), .dead(id: a, incarnation: incarnation, by: b),
                       .alive(id: a, incarnation: incarnation, address: addrB, metadata: [])] {
            _ = n.receive(.gossip(from: b, updates: [update]), from: addrB, now: 1)
        }
        #expect(n.me.incarnation == 5)
        #expect(n.me.status == .alive)
    }

    @Test func aSuspicionJustBelowTheTopIsRefutedAtTheTop() {
        var n = node()
        _ = n.receive(.gossip(from: b, updates: [.suspect(id: a, incarnation: Update.maxIncarnation - 1, by: b)]), from: addrB, now: 1)
        #expect(n.me.incarnation == Update.maxIncarnation)
        // Metadata changes saturate there instead of overflowing.
        _ = n.setMetadata([1])
        _ = n.setMetadata([2])
        #expect(n.me.incarnation == Update.maxIncarnation)
        #expect(n.me.metadata == [2])
    }

    @Test func theCodecRefusesAnIncarnationAboveTheTop() throws {
        let ok = GossipCodec.encodeDatagram(.gossip(from: b, updates: [.suspect(id: a, incarnation: Update.maxIncarnation, by: b)]))
        #expect(try GossipCodec.decodeDatagram(ok).updates.count == 1)
        let over = GossipCodec.encodeDatagram(.gossip(from: b, updates: [.suspect(id: a, incarnation: UInt64.max, by: b)]))
        #expect(throws: GossipWireError.self) { try GossipCodec.decodeDatagram(over) }
    }
}

extension HostileRumourTests {
    @Test func forgedAliveRumoursCannotGrowTheTablePastItsLimit() {
        var settings = SWIMSettings()
        settings.maxMembers = 100
        var n = SWIMMembership(id: a, address: addrA, incarnation: 5, settings: settings, seed: 1, now: 0)
        for i in 0..<1_000 {
            let fake = NodeID(high: 0xFA4E, low: UInt64(i))
            _ = n.receive(.gossip(from: b, updates: [.alive(id: fake, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 1)
        }
        #expect(n.members.count == 100)
        // A known member still changes: only new ones are refused.
        let known = NodeID(high: 0xFA4E, low: 0)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: known, incarnation: 2, address: addrB, metadata: [7])]), from: addrB, now: 2)
        #expect(n.member(known)?.metadata == [7])
    }
}

extension HostileRumourTests {
    /// Each made-up member is a rumour; the queue keeps at most ``SWIMMembership/maxRumours``,
    /// and this node's own refutation still goes out.
    @Test func aFloodOfMadeUpMembersLeavesTheRumourQueueBounded() {
        var n = node()
        let count = SWIMMembership.maxRumours * 3
        let updates = (0..<count).map { i in Update.alive(id: NodeID(high: 0xF00D, low: UInt64(i)), incarnation: 1, address: addrB, metadata: []) }
        _ = n.receive(.pushPull(from: b, isRequest: false, state: updates), from: addrB, now: 1)
        #expect(n.members.count == count + 1)
        #expect(n.pendingRumours <= SWIMMembership.maxRumours)
        // A suspicion of this node, refuted: the refutation is among the next rumours sent.
        _ = n.receive(.gossip(from: b, updates: [.suspect(id: a, incarnation: 5, by: b)]), from: addrB, now: 2)
        #expect(n.pendingRumours <= SWIMMembership.maxRumours)
        let sent = n.receive(.ping(seq: 9, from: b, updates: []), from: addrB, now: 3)
        let piggybacked = sent.flatMap { directive -> [Update] in
            if case .send(let message, _) = directive { return message.updates } else { return [] }
        }
        #expect(piggybacked.contains { if case .alive(let id, let incarnation, _, _) = $0 { id == a && incarnation == 6 } else { false } })
        // Sent once, it has been sent more than any other; a second flood still leaves it queued.
        let more = (0..<(2 * SWIMMembership.maxRumours)).map { i in
            Update.alive(id: NodeID(high: 0xBEEF, low: UInt64(i)), incarnation: 1, address: addrB, metadata: [])
        }
        _ = n.receive(.pushPull(from: b, isRequest: false, state: more), from: addrB, now: 4)
        let again = n.receive(.ping(seq: 10, from: b, updates: []), from: addrB, now: 5).flatMap { directive -> [Update] in
            if case .send(let message, _) = directive { return message.updates } else { return [] }
        }
        #expect(again.contains { if case .alive(let id, let incarnation, _, _) = $0 { id == a && incarnation == 6 } else { false } })
    }

    /// Made-up members declared dead are remembered for reconnects only up to a bound.
    @Test func deadMadeUpMembersAreRememberedForReconnectsUpToABound() {
        var n = node()
        let count = SWIMMembership.maxReconnectTargets + 500
        let ids = (0..<count).map { NodeID(high: 0xDEAD, low: UInt64($0)) }
        _ = n.receive(.pushPull(from: b, isRequest: false, state: ids.map { .alive(id: $0, incarnation: 1, address: addrB, metadata: []) }),
                      from: addrB, now: 1)
        _ = n.receive(.pushPull(from: b, isRequest: false, state: ids.map { .dead(id: $0, incarnation: 1, by: b) }), from: addrB, now: 2)
        #expect(n.reconnectTargets <= SWIMMembership.maxReconnectTargets)
    }
}

extension HostileRumourTests {
    /// Ping-reqs forwarded for others are bounded: past the bound one goes unanswered.
    @Test func pingRequestsForwardedForOthersAreBounded() {
        var n = node()
        var forwarded = 0
        for seq in 0..<(SWIMMembership.maxForwards + 50) {
            let out = n.receive(.pingReq(seq: UInt32(seq), from: b, target: PeerAddress(host: "10.9.9.9", port: 1), updates: []), from: addrB, now: 1)
            forwarded += out.filter { if case .send(.ping, _) = $0 { true } else { false } }.count
        }
        #expect(forwarded == SWIMMembership.maxForwards)
    }
}
