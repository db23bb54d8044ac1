import Dispatch
import Gossip
import Logging
import ServiceLifecycle

/// Anti-entropy for notices (``CatchUp``): a member that was down or cut off while a notice
/// spread hears of it from a node that holds it, as soon as its gossiped metadata shows it is
/// behind on this node's channel.
struct NoticeCatchUp: Sendable {
    private var rule = CatchUp<String>()

    var perRound: Int { rule.perRound }

    mutating func targets(latest: [String: (sequence: UInt64, body: [UInt8])], channel: String,
                          members: [Member], me: NodeID, now: UInt64) -> [(address: PeerAddress, body: [UInt8])] {
        var decoded: [NodeID: NodeMetadata] = [:]
        for m in members where m.status == .alive { decoded[m.id] = NodeMetadata.decode(m.metadata) }
        return rule.targets(latest: latest, members: members, me: me, now: now) { member, app in
            guard let meta = decoded[member.id], (meta.channel ?? NodeMetadata.defaultChannel) == channel else { return nil }
            return meta.apps[app]?.sequence
        }
    }

    mutating func forget(except members: Set<NodeID>) { rule.forget(except: members) }
}

/// Runs ``NoticeCatchUp`` every two seconds.
struct NoticeCatchUpService: Service {
    let gossip: GossipRuntime
    let store: NodeStore
    let apps: [String]
    let channel: String
    let logger: Logger

    func run() async throws {
        var catchUp = NoticeCatchUp()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(2))
            var latest: [String: (sequence: UInt64, body: [UInt8])] = [:]
            for app in apps {
                guard let signed = try? store.latest(app: app, channel: channel) else { continue }
                latest[app] = (signed.notice.sequence, signed.bytes)
            }
            guard !latest.isEmpty else { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            let members = gossip.members
            catchUp.forget(except: Set(members.map(\.id)))
            for target in catchUp.targets(latest: latest, channel: channel, members: members, me: gossip.me.id, now: now) {
                logger.debug("sending a notice to \(target.address), which is behind")
                gossip.send(notice: target.body, to: target.address)
            }
        }
    }
}
