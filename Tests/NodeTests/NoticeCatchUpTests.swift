import Gossip
@testable import Node
import Testing

@Suite struct NoticeCatchUpTests {
    func member(_ n: UInt64, sequence: UInt64?, channel: String? = nil, status: Member.Status = .alive) -> Member {
        var meta = NodeMetadata(zone: nil, admin: nil)
        meta.channel = channel
        if let sequence { meta.apps["app"] = .init(sequence: sequence, version: "1.0.0") }
        return Member(id: NodeID(high: 0, low: n), address: PeerAddress(host: "127.0.0.1", port: UInt16(n)), incarnation: 1,
                      status: status, metadata: meta.encoded())
    }

    let second: UInt64 = 1_000_000_000
    let me = NodeID(high: 9, low: 9)
    let latest: [String: (sequence: UInt64, body: [UInt8])] = ["app": (5, [1, 2, 3])]

    @Test func onlyLiveMembersBehindOnTheSameChannelAreSentTheNotice() {
        var c = NoticeCatchUp()
        let members = [
            member(1, sequence: 4), member(2, sequence: 5), member(3, sequence: 9), member(4, sequence: 0),
            member(5, sequence: 1, channel: "beta"), member(6, sequence: 1, status: .dead), member(7, sequence: nil),
        ]
        let out = c.targets(latest: latest, channel: "stable", members: members, me: me, now: 0)
        #expect(out.map(\.address.port) == [1, 4], "behind: 1 and 4; 2 even, 3 ahead, 5 another channel, 6 dead, 7 does not trust the app")
        #expect(out.allSatisfy { $0.body == [1, 2, 3] })
    }

    @Test func aMemberIsSentTheSameNoticeAgainOnlyAfterTheResendDelay() {
        var c = NoticeCatchUp()
        let members = [member(1, sequence: 4)]
        #expect(c.targets(latest: latest, channel: "stable", members: members, me: me, now: 0).count == 1)
        #expect(c.targets(latest: latest, channel: "stable", members: members, me: me, now: 10 * second).isEmpty)
        #expect(c.targets(latest: latest, channel: "stable", members: members, me: me, now: 31 * second).count == 1)
        // A newer notice goes at once.
        let newer: [String: (sequence: UInt64, body: [UInt8])] = ["app": (6, [4])]
        #expect(c.targets(latest: newer, channel: "stable", members: members, me: me, now: 32 * second).map(\.body) == [[4]])
    }

    @Test func atMostPerRoundMembersARound() {
        var c = NoticeCatchUp()
        let members = (1...10).map { member($0, sequence: 1) }
        #expect(c.targets(latest: latest, channel: "stable", members: members, me: me, now: 0).count == 3)
        #expect(c.targets(latest: latest, channel: "stable", members: members, me: me, now: 1).count == 3)
    }

    @Test func onlyThreeOfTheMembersAheadSendToOneLaggard() {
        let laggard = member(100, sequence: 1)
        let ahead = (1...20).map { member($0, sequence: 5) }
        var senders = 0
        for candidate in ahead {
            var c = NoticeCatchUp()
            let others = [laggard] + ahead.filter { $0.id != candidate.id }
            let out = c.targets(latest: latest, channel: "stable", members: others, me: candidate.id, now: 0)
            if out.contains(where: { $0.address == laggard.address }) { senders += 1 }
        }
        #expect(senders == 3, "\(senders) members sent the notice to the laggard")
    }
}
