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
/// for a laggard (``Relays``, a hash of the two node ids, so each laggard gets its own
/// 3) send, and each sends again after 30 s while the laggard still lags: a
/// laggard gets a few datagrams, not one from every member.
///
/// Bounded per round whatever the member table holds (anyone can make up members and their
/// metadata without a fleet key): metadata is decoded once per change, at most
/// ``laggardsPerRound`` laggards of each app are looked at (from where its last round stopped, so made-up
/// ones cannot keep a real one waiting for good), and at most ``sendsPerRound`` datagrams go
/// out, so made-up laggards at someone else's address cannot turn the fleet into a
/// reflector.
final class RotationRelay: Service, Sendable {
    let keys: PublisherKeys
    let gossip: GossipRuntime
    /// How often members' epochs are compared.
    let interval: Duration
    /// Nanoseconds before statements go again to a member that still lags.
    let resendAfter: UInt64
    static let relays = 3
    static let laggardsPerRound = 64
    static let sendsPerRound = 16
    private let decoded = NodeMetadata.Decoded()

    init(keys: PublisherKeys, gossip: GossipRuntime, interval: Duration = .seconds(2), resendAfter: UInt64 = 30_000_000_000) {
        self.keys = keys
        self.gossip = gossip
        self.interval = interval
        self.resendAfter = resendAfter
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // What went to whom, and when, and where the last round stopped: owned by this loop alone.
            var sent: [String: UInt64] = [:]
            var cursor: [String: Int] = [:]
            while !Task.isCancelled {
                self.relay(now: GossipRuntime.now(), sent: &sent, cursor: &cursor)
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Sends statements to the laggards this node relays for; `sent` holds the statements sent
    /// within `resendAfter`, by app, member and epochs, so each goes once until then. `cursor`
    /// is where the next round starts among each app's laggards.
    func relay(now: UInt64, sent: inout [String: UInt64], cursor: inout [String: Int]) {
        let me = gossip.me.id
        let members = gossip.members.filter { $0.status == .alive || $0.status == .suspect }
        let metadata = decoded.metadata(of: members)
        sent = sent.filter { now < $0.value + resendAfter }
        var sends = 0
        for app in keys.apps {
            guard let mine = keys.pinned(app), mine.epoch > 0 else { continue }
            var ahead = [me]
            var behind: [(member: Member, epoch: UInt64)] = []
            for (member, data) in zip(members, metadata) {
                // A member whose metadata leaves the app out (it does not trust it, or it did not fit) is skipped.
                guard let state = data?.apps[app] else { continue }
                let epoch = state.epoch ?? 0
                if epoch >= mine.epoch { ahead.append(member.id) } else { behind.append((member, epoch)) }
            }
            guard !behind.isEmpty else { continue }
            let start = cursor[app, default: 0] % behind.count
            let looked = min(behind.count, Self.laggardsPerRound)
            cursor[app] = (start + looked) % behind.count
            for k in 0..<looked {
                let (member, epoch) = behind[(start + k) % behind.count]
                guard Self.isRelay(me, for: member.id, among: ahead) else { continue }
                let key = "\(app) \(member.id) \(epoch) \(mine.epoch)"
                guard sends < Self.sendsPerRound, sent[key] == nil else { continue }
                sent[key] = now
                for body in keys.statements(app, after: epoch) where sends < Self.sendsPerRound {
                    gossip.send(notice: body, to: member.address)
                    sends += 1
                }
            }
        }
    }

    /// Whether `me` is one of the ``relays`` members of `ahead` ranked first for `laggard`.
    static func isRelay(_ me: NodeID, for laggard: NodeID, among ahead: [NodeID]) -> Bool {
        Relays.isRelay(me, for: laggard, among: ahead, relays: relays)
    }
}
