import BundlecastCore
import Gossip
import ServiceLifecycle

/// Brings members that lag behind on an app's key rotations up to date: each
/// member gossips the epoch of the key it pins (``NodeMetadata/AppState/epoch``);
/// a member below this node's epoch gets the statements it lacks, sent to it
/// directly. A node that was down during a rotation, or set up later with an
/// older `--trust`, so learns the new key without an origin.
///
/// Of all the members at or above this node's epoch, only the 3 ranked first
/// for a laggard (by BLAKE2b of the two node ids, so each laggard gets its own
/// 3) send, and each sends again after 30 s while the laggard still lags: a
/// laggard gets a few datagrams, not one from every member.
final class RotationRelay: Service, Sendable {
    let keys: PublisherKeys
    let gossip: GossipRuntime
    /// How often members' epochs are compared.
    let interval: Duration
    /// Nanoseconds before statements go again to a member that still lags.
    let resendAfter: UInt64
    static let relays = 3

    init(keys: PublisherKeys, gossip: GossipRuntime, interval: Duration = .seconds(2), resendAfter: UInt64 = 30_000_000_000) {
        self.keys = keys
        self.gossip = gossip
        self.interval = interval
        self.resendAfter = resendAfter
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // What went to whom, and when: owned by this loop alone.
            var sent: [String: UInt64] = [:]
            while !Task.isCancelled {
                self.relay(now: GossipRuntime.now(), sent: &sent)
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Sends statements to the laggards this node relays for; `sent` holds the statements sent
    /// within `resendAfter`, by app, member and epochs, so each goes once until then.
    func relay(now: UInt64, sent: inout [String: UInt64]) {
        let me = gossip.me.id
        let members = gossip.members.filter { $0.status == .alive || $0.status == .suspect }
        sent = sent.filter { now < $0.value + resendAfter }
        for app in keys.apps {
            guard let mine = keys.pinned(app), mine.epoch > 0 else { continue }
            var ahead = [me]
            var behind: [(member: Member, epoch: UInt64)] = []
            for member in members {
                // A member whose metadata leaves the app out (it does not trust it, or it did not fit) is skipped.
                guard let state = NodeMetadata.decode(member.metadata)?.apps[app] else { continue }
                let epoch = state.epoch ?? 0
                if epoch >= mine.epoch { ahead.append(member.id) } else { behind.append((member, epoch)) }
            }
            for (member, epoch) in behind where Self.isRelay(me, for: member.id, among: ahead) {
                let key = "\(app) \(member.id) \(epoch) \(mine.epoch)"
                guard sent.updateValue(now, forKey: key) == nil else { continue }
                for body in keys.statements(app, after: epoch) { gossip.send(notice: body, to: member.address) }
            }
        }
    }

    /// Whether `me` is one of the ``relays`` members of `ahead` ranked first for `laggard`.
    static func isRelay(_ me: NodeID, for laggard: NodeID, among ahead: [NodeID]) -> Bool {
        func rank(_ id: NodeID) -> [UInt8] { Blake2b.digest256(bytes(laggard) + bytes(id)).bytes }
        let ranked = ahead.map { (rank($0), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        return ranked.prefix(relays).contains { $0.1 == me }
    }

    private static func bytes(_ id: NodeID) -> [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? id.high : id.low) >> (8 * (7 - UInt64(i % 8)))) }
    }
}
