/// Anti-entropy for rumours that stop after a few rounds (release notices): members gossip,
/// per key (an app), the sequence they hold; a node holding a newer payload sends it straight
/// to members behind it, at most `perRound` of them a round, and again to the same member for
/// the same sequence only after `resendAfter` (it may be refusing it), and only if it is one
/// of the few relays chosen for that member. Pure, so the node and the fleet simulation share it.
public struct CatchUp<Key: Hashable & Comparable & Sendable>: Sendable {
    public var resendAfter: UInt64 = 30_000_000_000
    public var perRound = 3
    private var sent: [Pair: (sequence: UInt64, at: UInt64)] = [:]

    private struct Pair: Hashable, Sendable {
        let member: NodeID
        let key: Key
    }

    public init() {}

    /// Who is behind, and what to send each. `sequence` reads a member's held sequence for a
    /// key from its metadata (nil: it does not follow that key, or is on another channel).
    /// Of the members that hold what this node holds (itself included), only the `relays`
    /// ranked first for a lagging member (a hash of the two ids) send to it, so a node back
    /// in a large fleet is not sent the same notice by every member at once.
    public mutating func targets(latest: [Key: (sequence: UInt64, body: [UInt8])], members: [Member], me: NodeID, now: UInt64,
                                 sequence: (Member, Key) -> UInt64?) -> [(address: PeerAddress, body: [UInt8])] {
        var out: [(PeerAddress, [UInt8])] = []
        let keys = latest.keys.sorted()
        let live = members.filter { $0.status == .alive }
        for key in keys {
            guard let mine = latest[key] else { continue }
            var ahead: [NodeID] = []
            var behind: [Member] = []
            for member in live {
                guard let theirs = sequence(member, key) else { continue }
                if theirs < mine.sequence { behind.append(member) } else { ahead.append(member.id) }
            }
            for member in behind where out.count < perRound && Relays.isRelay(me, for: member.id, among: ahead, relays: relays) {
                let pair = Pair(member: member.id, key: key)
                if let last = sent[pair], last.sequence == mine.sequence, now < last.at &+ resendAfter { continue }
                sent[pair] = (mine.sequence, now)
                out.append((member.address, mine.body))
            }
        }
        return out
    }

    /// Members that send to one laggard.
    public var relays = 3

    /// Forgets what was sent to members no longer known (bounded memory over churn).
    public mutating func forget(except members: Set<NodeID>) {
        sent = sent.filter { members.contains($0.key.member) }
    }
}
