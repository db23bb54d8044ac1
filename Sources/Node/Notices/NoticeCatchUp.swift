import Dispatch
import Gossip
import Logging
import ServiceLifecycle

/// Anti-entropy for notices. A rumour stops after a few rounds, so a member that was down or
/// cut off while a notice spread would never hear of it from its peers. Every member gossips,
/// per trusted app, the sequence it accepted on its channel; a node that holds a newer notice
/// sends it straight to members behind it, at most `perRound` of them each round and again to
/// the same member only after `resendAfter` (it may be refusing it: an expired notice at its
/// clock, another pinned key).
struct NoticeCatchUp: Sendable {
    var resendAfter: UInt64 = 30_000_000_000
    var perRound = 3
    private var sent: [String: (sequence: UInt64, at: UInt64)] = [:]

    /// Members behind this node's newest notices, and the notice to send each.
    mutating func targets(latest: [String: (sequence: UInt64, body: [UInt8])], channel: String,
                          members: [Member], now: UInt64) -> [(address: PeerAddress, body: [UInt8])] {
        var out: [(PeerAddress, [UInt8])] = []
        for member in members where member.status == .alive {
            guard out.count < perRound, let meta = NodeMetadata.decode(member.metadata),
                  (meta.channel ?? NodeMetadata.defaultChannel) == channel else { continue }
            for app in latest.keys.sorted() {
                guard let mine = latest[app], let theirs = meta.apps[app], theirs.sequence < mine.sequence else { continue }
                let key = "\(member.id)|\(app)"
                if let last = sent[key], last.sequence == mine.sequence, now < last.at &+ resendAfter { continue }
                sent[key] = (mine.sequence, now)
                out.append((member.address, mine.body))
            }
        }
        return out
    }
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
            for target in catchUp.targets(latest: latest, channel: channel, members: gossip.members, now: now) {
                logger.debug("sending a notice to \(target.address), which is behind")
                gossip.send(notice: target.body, to: target.address)
            }
        }
    }
}
