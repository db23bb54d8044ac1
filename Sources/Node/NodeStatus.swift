import BundlecastCore
import Gossip

/// What `GET /v1/status` answers and `bundlecast status` prints.
public struct NodeStatus: Codable, Sendable {
    public struct AppVersion: Codable, Sendable, Equatable {
        public var app: String
        /// The newest notice the member accepted.
        public var version: String
        public var sequence: UInt64
        /// What it has installed, under which notice's sequence.
        public var installed: String?
        public var installedSequence: UInt64?
        /// Downloading, with progress in steps of 10%.
        public var progress: UInt8?
        /// A version whose install failed.
        public var failed: String?
        /// Manifests held complete (first 16 hex digits).
        public var held: [String]?
        /// The epoch of the publisher key the member pins (nil: 0).
        public var epoch: UInt64?
    }

    public struct MemberView: Codable, Sendable {
        public var id: String
        public var address: String
        /// "alive", "suspect", "dead" or "left".
        public var state: String
        public var incarnation: UInt64
        public var zone: String?
        public var admin: Int?
        /// Per app, the newest notice the member accepted on its channel and what it installed.
        public var apps: [AppVersion]
        /// Share of received chunk bytes that came from peers, percent.
        public var fromPeers: UInt8?
        /// The transfer port.
        public var transferPort: Int?
        /// Transfer counters (this node only).
        public var transfer: TransferCounters?
    }

    public struct Latest: Codable, Sendable {
        public var version: String
        /// `release` or `withdraw` (a withdrawal points back to `version`).
        public var kind: String?
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
        /// The publisher key this node checks the app's notices against, and its epoch (rotations since first pinned).
        public var keyId: String?
        public var keyEpoch: UInt64?
        /// Live members (this node included) by the version they have installed, newest first.
        public var spread: [Spread]
        /// Live members with nothing installed.
        public var without: Int
        /// Live members by the newest notice they accepted (learnt, not necessarily installed).
        public var accepted: [Spread]
        public var downloading: Int
        public var failed: Int
        /// What this node can say about being up to date, from the origin's signed timestamps
        /// (nil without `--origin-key`).
        public var freshness: FreshnessView?
    }

    public struct FreshnessView: Codable, Sendable, Equatable {
        /// `confirmed`, `behind` (the origin names a newer sequence) or `stale` (no recent timestamp).
        public var state: String
        /// The sequence the newest timestamp names.
        public var originSequence: UInt64?
        /// Seconds since that timestamp was signed.
        public var age: UInt64?
        /// How old a timestamp may be and still confirm (`--freshness-threshold`).
        public var threshold: UInt64

        init(_ f: Freshness, threshold: UInt64) {
            self.threshold = threshold
            switch f {
            case .confirmed(let sequence, let age): (state, originSequence, self.age) = ("confirmed", sequence, age)
            case .behind(let origin, _, let age): (state, originSequence, self.age) = ("behind", origin, age)
            case .stale(let age): (state, originSequence, self.age) = ("stale", nil, age)
            }
        }
    }

    public var `self`: MemberView
    public var channel: String
    /// Every member this node knows, itself included, in id order.
    public var members: [MemberView]
    public var apps: [AppView]
    public var gossip: GossipCounters
    /// Notices dropped, by reason (forged, stale, untrusted, duplicate, retired_key...).
    public var refusedNotices: [String: Int]
    /// Per app, why this node's last update attempt failed (retried every 5 s), if it did.
    public var errors: [String: String]? = nil
    /// Rotation statements refused, by reason (replay, gap, wrong_old_key, bad_signature...).
    public var refusedRotations: [String: Int]?
    /// The app mirrors this node may fetch from (`--mirror`), if it has any.
    public var mirrors: [MirrorView]? = nil

    static func view(_ m: Member) -> MemberView {
        let meta = NodeMetadata.decode(m.metadata)
        let state: String
        switch m.status {
        case .alive: state = "alive"
        case .suspect: state = "suspect"
        case .dead: state = "dead"
        case .left: state = "left"
        }
        return MemberView(id: m.id.description, address: m.address.description, state: state, incarnation: m.incarnation,
                          zone: meta?.zone, admin: meta?.admin, apps: apps(meta), fromPeers: meta?.fromPeers, transferPort: meta?.transfer)
    }

    static func apps(_ meta: NodeMetadata?) -> [AppVersion] {
        guard let meta else { return [] }
        return meta.apps.keys.sorted().map { app in
            let a = meta.apps[app]!
            return AppVersion(app: app, version: a.version, sequence: a.sequence, installed: a.installed, installedSequence: a.installedSequence,
                              progress: a.downloading == nil ? nil : (a.progress ?? 0), failed: a.failed, held: a.held, epoch: a.epoch)
        }
    }

    /// One app over the live members: by installed version, by accepted notice, downloading and failed counts.
    static func view(of app: String, over members: [MemberView], latest: Latest?, key: PinnedKey?) -> AppView {
        var installed: [String: Spread] = [:]
        var accepted: [UInt64: Spread] = [:]
        var without = 0, downloading = 0, failed = 0
        for m in members where m.state == "alive" || m.state == "suspect" {
            let v = m.apps.first(where: { $0.app == app && $0.sequence > 0 })
            if let v { accepted[v.sequence, default: Spread(version: v.version, sequence: v.sequence, nodes: 0)].nodes += 1 }
            if let version = v?.installed {
                installed[version, default: Spread(version: version, sequence: v?.installedSequence ?? 0, nodes: 0)].nodes += 1
            } else {
                without += 1
            }
            if v?.progress != nil { downloading += 1 }
            if v?.failed != nil { failed += 1 }
        }
        let spread = installed.values.sorted { ($0.sequence, $0.version) > ($1.sequence, $1.version) }
        return AppView(app: app, latest: latest, keyId: key?.key.keyID.description, keyEpoch: key?.epoch, spread: spread, without: without,
                       accepted: accepted.keys.sorted(by: >).map { accepted[$0]! }, downloading: downloading, failed: failed)
    }
}
