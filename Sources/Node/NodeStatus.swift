import Gossip

/// What `GET /v1/status` answers and `bundlecast status` prints.
public struct NodeStatus: Codable, Sendable {
    public struct MemberView: Codable, Sendable {
        public var id: String
        public var address: String
        public var status: String
        public var incarnation: UInt64
        public var zone: String?
        public var admin: Int?
        public var apps: [String: NodeMetadata.AppState]
    }

    public var me: MemberView
    public var channel: String
    public var members: [MemberView]
    public var gossip: GossipCounters
    /// Notices dropped, by reason (forged, stale, untrusted...).
    public var refusedNotices: [String: Int]

    static func view(_ m: Member) -> MemberView {
        let meta = NodeMetadata.decode(m.metadata)
        let status: String
        switch m.status {
        case .alive: status = "alive"
        case .suspect: status = "suspect"
        case .dead: status = "dead"
        case .left: status = "left"
        }
        return MemberView(id: m.id.description, address: m.address.description, status: status, incarnation: m.incarnation,
                          zone: meta?.zone, admin: meta?.admin, apps: meta?.apps ?? [:])
    }
}
