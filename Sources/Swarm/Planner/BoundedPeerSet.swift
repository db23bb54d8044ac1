import Gossip

/// A set of peers that forgets its oldest member once it holds ``capacity``: for peers
/// kept out (banned), whose ids cost an attacker nothing to make, so a set that
/// only grew would grow without end. A forgotten peer may come back and be judged again.
public struct BoundedPeerSet: Sendable {
    public let capacity: Int
    private var members: Set<NodeID> = []
    /// Members in the order they came (a ring once full).
    private var order: [NodeID] = []
    private var oldest = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public func contains(_ peer: NodeID) -> Bool { members.contains(peer) }

    public var count: Int { members.count }

    /// Adds `peer`, forgetting the oldest member when full; false if it was already in.
    @discardableResult
    public mutating func insert(_ peer: NodeID) -> Bool {
        guard members.insert(peer).inserted else { return false }
        if order.count < capacity {
            order.append(peer)
        } else {
            members.remove(order[oldest])
            order[oldest] = peer
            oldest = (oldest + 1) % capacity
        }
        return true
    }
}
