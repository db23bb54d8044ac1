import Gossip

/// What `GET /v1/status` answers and `bundlecast status` prints.
public struct NodeStatus: Codable, Sendable {
    public struct AppVersion: Codable, Sendable, Equatable {
        public var app: String
        public var version: String
        public var sequence: UInt64
    }

    public struct MemberView: Codable, Sendable {
        public var id: String
        public var address: String
        /// "alive", "suspect", "dead" or "left".
        public var state: String
        public var incarnation: UInt64
        public var zone: String?
        public var admin: Int?
        /// Per app, the newest notice the member accepted on its channel.
        public var apps: [AppVersion]
    }

    public struct Latest: Codable, Sendable {
        public var version: String
        public var sequence: UInt64
        /// Unix seconds, when this node accepted it.
        public var receivedAt: UInt64
    }

    public struct Spread: Codable, Sendable, Equatable {
        public var version: String
        public var sequence: UInt64
        public var nodes: Int
    }

    public struct AppView: Codable, Sendable {
        public var app: String
        /// The newest notice this node holds for the app, if any.
        public var latest: Latest?
        /// Live members (this node included) by the newest notice they accepted, newest first.
        public var spread: [Spread]
        /// Live members that have accepted no notice for the app yet.
        public var without: Int
    }

    public var `self`: MemberView
    public var channel: String
    /// Every member this node knows, itself included, in id order.
    public var members: [MemberView]
    public var apps: [AppView]
    public var gossip: GossipCounters
    /// Notices dropped, by reason (forged, stale, untrusted, duplicate...).
    public var refusedNotices: [String: Int]

    static func view(_ m: Member) -> MemberView {
        let meta = NodeMetadata.decode(m.metadata)
        let state: String
        switch m.status {
        case .alive: state = "alive"
        case .suspect: state = "suspect"
        case .dead: state = "dead"
        case .left: state = "left"
        }
        let apps = (meta?.apps ?? [:]).keys.sorted().map { AppVersion(app: $0, version: meta!.apps[$0]!.version, sequence: meta!.apps[$0]!.sequence) }
        return MemberView(id: m.id.description, address: m.address.description, state: state, incarnation: m.incarnation,
                          zone: meta?.zone, admin: meta?.admin, apps: apps)
    }

    /// The spread of one app over the live members.
    static func spread(of app: String, over members: [MemberView]) -> (spread: [Spread], without: Int) {
        var counts: [UInt64: Spread] = [:]
        var without = 0
        for m in members where m.state == "alive" || m.state == "suspect" {
            if let v = m.apps.first(where: { $0.app == app }) {
                counts[v.sequence, default: Spread(version: v.version, sequence: v.sequence, nodes: 0)].nodes += 1
            } else {
                without += 1
            }
        }
        return (counts.keys.sorted(by: >).map { counts[$0]! }, without)
    }
}
