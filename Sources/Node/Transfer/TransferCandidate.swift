import Gossip
import Swarm

/// A peer that may hold a manifest's chunks, as gossip describes it.
public struct TransferCandidate: Sendable, Equatable {
    public var id: NodeID
    /// Its transfer listener.
    public var address: PeerAddress
    public var sameZone: Bool
    /// It holds the whole release (not merely downloading it).
    public var complete: Bool
    public init(id: NodeID, address: PeerAddress, sameZone: Bool, complete: Bool = false) {
        self.id = id
        self.address = address
        self.sameZone = sameZone
        self.complete = complete
    }
}

extension TransferCandidate {
    /// What ``FetchPolicy`` weighs of it.
    var policyCandidate: FetchPolicy.Candidate { .init(id: id, sameZone: sameZone, complete: complete) }
}
