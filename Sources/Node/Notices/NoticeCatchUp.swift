import Dispatch
import Gossip
import Logging
import ServiceLifecycle

/// Anti-entropy for notices (``CatchUp``): a member that was down or cut off while a notice
/// spread hears of it from a node that holds it, as soon as its gossiped metadata shows it is
/// behind on this node's channel.
struct NoticeCatchUp: Sendable {
    private var rule = CatchUp<String>()
    /// Members' decoded metadata by the incarnation it came with: decoded again only when it changes.
    private var decoded: [NodeID: (incarnation: UInt64, metadata: NodeMetadata?)] = [:]

    var perRound: Int { rule.perRound }

    /// Whether any live member on `channel` is behind `held` for some app (cheap: no notice is read).
    mutating func anyBehind(_ held: [String: UInt64], channel: String, members: [Member]) -> Bool {
        members.contains { m in
            guard m.status == .alive, let meta = metadata(m), (meta.channel ?? NodeMetadata.defaultChannel) == channel else { return false }
            return held.contains { app, sequence in (meta.apps[app]?.sequence).map { $0 < sequence } ?? false }
        }
    }

    mutating func targets(latest: [String: (sequence: UInt64, body: [UInt8])], channel: String,
                          members: [Member], me: NodeID, now: UInt64) -> [(address: PeerAddress, body: [UInt8])] {
        var known: [NodeID: NodeMetadata] = [:]
        for m in members where m.status == .alive { known[m.id] = metadata(m) }
        return rule.targets(latest: latest, members: members, me: me, now: now) { member, app in
            guard let meta = known[member.id], (meta.channel ?? NodeMetadata.defaultChannel) == channel else { return nil }
            return meta.apps[app]?.sequence
        }
    }

    private mutating func metadata(_ m: Member) -> NodeMetadata? {
        if let cached = decoded[m.id], cached.incarnation == m.incarnation { return cached.metadata }
        let meta = NodeMetadata.decode(m.metadata)
        decoded[m.id] = (m.incarnation, meta)
        return meta
    }

    mutating func forget(except members: Set<NodeID>) {
        rule.forget(except: members)
        decoded = decoded.filter { members.contains($0.key) }
    }
}

/// Runs ``NoticeCatchUp`` every two seconds.
struct NoticeCatchUpService: Service {
    let gossip: GossipRuntime
    let store: NodeStore
    let apps: [String]
    let channel: String
    /// The sequence this node accepted per app (from its own metadata: no database read).
    let held: @Sendable () -> [String: UInt64]
    let logger: Logger

    func run() async throws {
        var catchUp = NoticeCatchUp()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(2))
            let members = gossip.members
            catchUp.forget(except: Set(members.map(\.id)))
            // Most rounds nobody is behind: then no notice is read from the database.
            guard catchUp.anyBehind(held(), channel: channel, members: members) else { continue }
            var latest: [String: (sequence: UInt64, body: [UInt8])] = [:]
            for app in apps {
                guard let signed = try? store.latest(app: app, channel: channel) else { continue }
                latest[app] = (signed.notice.sequence, signed.bytes)
            }
            guard !latest.isEmpty else { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            for target in catchUp.targets(latest: latest, channel: channel, members: members, me: gossip.me.id, now: now) {
                logger.debug("sending a notice to \(target.address), which is behind")
                gossip.send(notice: target.body, to: target.address)
            }
        }
    }
}
