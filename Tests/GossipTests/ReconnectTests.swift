import Gossip
import Testing

/// Healing a partition: members declared dead or gone are retried, and old news in a push-pull only
/// raises a suspicion.
@Suite struct ReconnectTests {
    let a = NodeID(high: 1, low: 1)
    let b = NodeID(high: 2, low: 2)
    let c = NodeID(high: 3, low: 3)
    let addrA = PeerAddress(host: "10.0.0.1", port: 1)
    let addrB = PeerAddress(host: "10.0.0.2", port: 1)
    let addrC = PeerAddress(host: "10.0.0.3", port: 1)
    let s: UInt64 = 1_000_000_000

    func node() -> SWIMMembership {
        var n = SWIMMembership(id: a, address: addrA, incarnation: 5, settings: SWIMSettings(), seed: 1, now: 0)
        _ = n.receive(.gossip(from: b, updates: [
            .alive(id: b, incarnation: 1, address: addrB, metadata: []),
            .alive(id: c, incarnation: 1, address: addrC, metadata: []),
        ]), from: addrB, now: 0)
        return n
    }

    func pushPullTargets(_ directives: [SWIMMembership.Directive]) -> [PeerAddress] {
        directives.compactMap { if case .send(.pushPull(_, true, _), let to) = $0 { return to }; return nil }
    }

    @Test func deadAndLeftMembersAreRetriedUntilReconnectFor() {
        var n = node()
        #expect(n.reconnectTarget(now: s).isEmpty, "no one is dead")
        _ = n.receive(.gossip(from: c, updates: [.dead(id: b, incarnation: 1, by: c), .left(id: c, incarnation: 1)]), from: addrC, now: 2 * s)
        #expect(n.member(b)?.status == .dead && n.member(c)?.status == .left)
        // Both: without a fleet key anyone can say a member left, so a departure is retried as a death is.
        #expect(n.reconnectTargets == 2)
        let tried = Set((0..<32).flatMap { _ in pushPullTargets(n.reconnectTarget(now: 3 * s)) })
        #expect(tried == [addrB, addrC])
        // Still retried after their entries are forgotten from the table...
        _ = n.tick(now: 2 * s + SWIMSettings().deadRetention + s)
        #expect(n.member(b) == nil && n.member(c) == nil)
        #expect(n.reconnectTargets == 2)
        #expect(pushPullTargets(n.reconnectTarget(now: 2 * s + SWIMSettings().deadRetention + 2 * s)).count == 1)
        // ...until reconnectFor has passed.
        #expect(n.reconnectTarget(now: 2 * s + SWIMSettings().reconnectFor).isEmpty)
    }

    @Test func aMemberAliveAgainIsNoLongerRetried() {
        var n = node()
        _ = n.receive(.gossip(from: c, updates: [.dead(id: b, incarnation: 1, by: c)]), from: addrC, now: s)
        _ = n.receive(.gossip(from: b, updates: [.alive(id: b, incarnation: 2, address: addrB, metadata: [])]), from: addrB, now: 2 * s)
        #expect(n.member(b)?.status == .alive)
        #expect(n.reconnectTarget(now: 3 * s).isEmpty)
    }

    @Test func aDeadClaimInAPushPullOnlyMakesALiveMemberSuspect() {
        var n = node()
        _ = n.receive(.pushPull(from: c, isRequest: false, state: [.dead(id: b, incarnation: 1, by: c)]), from: addrC, now: s)
        #expect(n.member(b)?.status == .suspect, "old news from across a partition: suspected, with time to refute")
        // The same claim as a rumour is taken as it is.
        var m = node()
        _ = m.receive(.gossip(from: c, updates: [.dead(id: b, incarnation: 1, by: c)]), from: addrC, now: s)
        #expect(m.member(b)?.status == .dead)
    }
}
