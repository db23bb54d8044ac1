import Gossip
import Testing

/// Datagrams a stranger sends without a fleet key to shut a member out, keep a dead one
/// alive, or bounce traffic off the node: each is refused, refuted or answered with no more
/// than it brought.
@Suite struct HostileGossipTests {
    let a = NodeID(high: 1, low: 1)
    let b = NodeID(high: 2, low: 2)
    let stranger = NodeID(high: 0xBAD, low: 0xBAD)
    let addrA = PeerAddress(host: "10.0.0.1", port: 1)
    let addrB = PeerAddress(host: "10.0.0.2", port: 1)
    let victim = PeerAddress(host: "192.0.2.7", port: 53)

    /// Node a, knowing b, with b's alive rumour still queued to go out.
    func node() -> SWIMMembership {
        var n = SWIMMembership(id: a, address: addrA, incarnation: 5, seed: 1, now: 0)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: 0)
        return n
    }

    @Test func aForgedDepartureOfThisNodeIsRefuted() {
        var n = node()
        _ = n.receive(.gossip(from: stranger, updates: [.left(id: a, incarnation: 9)]), from: victim, now: 1)
        #expect(n.me.incarnation == 10)
        #expect(n.me.status == .alive)
    }

    @Test func aMemberSaidToHaveLeftIsRetriedAndComesBack() {
        var n = node()
        // At the top incarnation b cannot outbid it: only retrying b brings it back.
        _ = n.receive(.gossip(from: stranger, updates: [.left(id: b, incarnation: Update.maxIncarnation)]), from: victim, now: 1)
        #expect(n.member(b)?.status == .left)
        #expect(n.reconnectTargets == 1)
        let retry = n.reconnectTarget(now: 2)
        #expect(retry.count == 1)
        if case .send(.pushPull(_, true, _), let to) = retry.first { #expect(to == addrB) } else { Issue.record("no push-pull to b: \(retry)") }
        // Forgotten after the retention, then b's own state (its answer) adds it again.
        let later = n.settings.deadRetention + 2
        _ = n.tick(now: later)
        #expect(n.member(b) == nil)
        _ = n.receive(.pushPull(from: b, isRequest: false, state: [.alive(id: b, incarnation: 1, address: addrB, metadata: [])]), from: addrB, now: later + 1)
        #expect(n.member(b)?.status == .alive)
    }

    @Test func aPingFromAStrangerGetsNoMoreThanItBroughtAndAMemberGetsRumours() throws {
        var n = node()
        let toStranger = n.receive(.ping(seq: 7, from: stranger, updates: []), from: victim, now: 1)
        #expect(toStranger == [.send(.ack(seq: 7, from: a, updates: []), to: victim)])
        // b's id from another address is no member either.
        let spoofed = n.receive(.ping(seq: 8, from: b, updates: []), from: victim, now: 1)
        #expect(spoofed == [.send(.ack(seq: 8, from: a, updates: []), to: victim)])
        // A stranger that brings news gets at most as many bytes of news back.
        for brought in [[Update.left(id: stranger, incarnation: 1)],
                        [Update.alive(id: NodeID(high: 7, low: 7), incarnation: 1, address: PeerAddress(host: "192.0.2.9", port: 1), metadata: [UInt8](repeating: 1, count: 200))]] {
            let ping = Message.ping(seq: 10, from: stranger, updates: brought)
            let answer = n.receive(ping, from: victim, now: 1)
            let acks = answer.compactMap { d -> Message? in
                if case .send(let m, victim) = d, case .ack = m { return m }
                return nil
            }
            let ack = try #require(acks.first, "no ack to the stranger: \(answer)")
            #expect(GossipCodec.encodeDatagram(ack).count <= GossipCodec.encodeDatagram(ping).count)
        }
        let toMember = n.receive(.ping(seq: 9, from: b, updates: []), from: addrB, now: 1)
        guard case .send(.ack(9, _, let updates), addrB) = try #require(toMember.first) else {
            Issue.record("no ack to b: \(toMember)")
            return
        }
        #expect(!updates.isEmpty)
    }

    @Test func aPingRequestForwardsABarePing() {
        var n = node()
        let out = n.receive(.pingReq(seq: 3, from: stranger, target: victim, updates: []), from: victim, now: 1)
        #expect(out.count == 1)
        if case .send(.ping(_, let from, let updates), let to) = out.first {
            #expect(from == a && to == victim && updates.isEmpty)
        } else {
            Issue.record("no ping: \(out)")
        }
        // The nack at its deadline goes back bare too: the asker is no member.
        let later = n.tick(now: 1 + n.settings.probeTimeout + 1)
        let nacks = later.compactMap { d -> [Update]? in
            if case .send(.nack(3, _, let updates), victim) = d { return updates }
            return nil
        }
        #expect(nacks == [[]])
    }

    @Test func anAckFromSomeoneElseDoesNotKeepAProbedMemberAlive() {
        func probe(ackFrom: NodeID) -> Member.Status? {
            var n = node()
            let interval = n.settings.probeInterval
            let out = n.tick(now: interval)
            guard let seq = out.compactMap({ d -> UInt32? in
                if case .send(.ping(let seq, _, _), addrB) = d { return seq }
                return nil
            }).first else {
                Issue.record("b was not probed: \(out)")
                return nil
            }
            _ = n.receive(.ack(seq: seq, from: ackFrom, updates: []), from: addrB, now: interval + 1)
            _ = n.tick(now: 2 * interval + n.settings.probeInterval)
            return n.member(b)?.status
        }
        #expect(probe(ackFrom: b) == .alive)
        #expect(probe(ackFrom: stranger) == .suspect)
    }

    @Test func addressesNoDatagramCanReachAreRefusedByTheCodec() throws {
        for host in ["127.0.0.1", "::1", "[fe80::1%eth0]", "node-7.example"] {
            let bytes = GossipCodec.encodeDatagram(.pingReq(seq: 1, from: b, target: PeerAddress(host: host, port: 7946), updates: []))
            #expect(try GossipCodec.decodeDatagram(bytes) == .pingReq(seq: 1, from: b, target: PeerAddress(host: host, port: 7946), updates: []))
        }
        let port0 = GossipCodec.encodeDatagram(.pingReq(seq: 1, from: b, target: PeerAddress(host: "127.0.0.1", port: 0), updates: []))
        #expect(throws: GossipWireError.self) { try GossipCodec.decodeDatagram(port0) }
        for host in ["10.0.0.1\u{1B}[2K", "a b", "x\n", "é.example"] {
            let alive = GossipCodec.encodeDatagram(.gossip(from: b, updates: [.alive(id: b, incarnation: 1, address: PeerAddress(host: host, port: 1), metadata: [])]))
            #expect(throws: GossipWireError.self) { try GossipCodec.decodeDatagram(alive) }
        }
    }
}
