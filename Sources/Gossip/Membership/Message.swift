/// What members say to each other. Every message carries rumours.
public enum Message: Equatable, Sendable {
    /// "Are you there?" Answered by an ack with the same sequence number.
    case ping(seq: UInt32, from: NodeID, updates: [Update])
    case ack(seq: UInt32, from: NodeID, updates: [Update])
    /// "Please ping `target` for me": the indirect probe of SWIM.
    case pingReq(seq: UInt32, from: NodeID, target: PeerAddress, updates: [Update])
    /// Lifeguard: the indirect prober could not reach the target either, so
    /// the requester knows its own network is not the problem.
    case nack(seq: UInt32, from: NodeID, updates: [Update])
    /// Rumours alone, on the gossip tick.
    case gossip(from: NodeID, updates: [Update])
    /// Full state, for joining and anti-entropy; sent over TCP (too large for
    /// a datagram). A request is answered with the receiver's own state.
    case pushPull(from: NodeID, isRequest: Bool, state: [Update])
    /// A signed release notice (`.minisig` bytes), spread by the node, not
    /// by the membership layer: receivers verify it before passing it on.
    case notice(from: NodeID, body: [UInt8])

    public var updates: [Update] {
        switch self {
        case .ping(_, _, let u), .ack(_, _, let u), .pingReq(_, _, _, let u), .nack(_, _, let u), .gossip(_, let u): return u
        case .pushPull(_, _, let s): return s
        case .notice: return []
        }
    }
}
