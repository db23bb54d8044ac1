/// What a node knows of one member of the fleet.
public struct Member: Equatable, Sendable {
    public enum Status: UInt8, Sendable, CaseIterable {
        case alive = 0
        case suspect = 1
        case dead = 2
        /// Left gracefully: not a failure.
        case left = 3
    }

    public let id: NodeID
    public var address: PeerAddress
    /// Raised only by the member itself: to refute a suspicion, or to publish
    /// new metadata. Every rule compares incarnations.
    public var incarnation: UInt64
    public var status: Status
    /// Opaque to the membership layer (versions held, progress, zone...),
    /// at most ``Update/maxMetadataBytes``.
    public var metadata: [UInt8]

    public init(id: NodeID, address: PeerAddress, incarnation: UInt64, status: Status, metadata: [UInt8]) {
        self.id = id
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.metadata = metadata
    }
}

/// A rumour about one member, spread by piggybacking and on the gossip tick.
public enum Update: Equatable, Sendable {
    case alive(id: NodeID, incarnation: UInt64, address: PeerAddress, metadata: [UInt8])
    case suspect(id: NodeID, incarnation: UInt64, by: NodeID)
    case dead(id: NodeID, incarnation: UInt64, by: NodeID)
    case left(id: NodeID, incarnation: UInt64)

    /// Larger metadata does not fit a packet with room for other rumours:
    /// the node refuses to publish it (see docs/gossip.md).
    public static let maxMetadataBytes = 512

    /// The highest incarnation any rumour may carry: 2^62, far above the Unix-seconds start
    /// a node uses, yet with room to count up. The codec refuses a higher one, and a node
    /// pushed here by a forged suspicion stops refuting instead of overflowing (see
    /// docs/threat-model.md): a datagram must never trap the process.
    public static let maxIncarnation: UInt64 = 1 << 62

    public var id: NodeID {
        switch self {
        case .alive(let id, _, _, _), .suspect(let id, _, _), .dead(let id, _, _), .left(let id, _): return id
        }
    }

    public var incarnation: UInt64 {
        switch self {
        case .alive(_, let i, _, _), .suspect(_, let i, _), .dead(_, let i, _), .left(_, let i): return i
        }
    }
}
