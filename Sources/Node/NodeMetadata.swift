import BundlecastCore
import Foundation
import Gossip
import Synchronization

/// What a node tells the fleet about itself, inside its membership record
/// (at most 512 bytes encoded; see docs/gossip.md).
public struct NodeMetadata: Codable, Equatable, Sendable {
    /// Per trusted app: the newest accepted notice, what is installed, what
    /// this node holds complete (and so serves), and what it is doing.
    public struct AppState: Codable, Equatable, Sendable {
        /// The newest accepted notice's sequence and version.
        public var sequence: UInt64
        public var version: String
        /// The installed version and the sequence of the notice it came with.
        public var installed: String?
        public var installedSequence: UInt64?
        /// Manifests held complete, by their first 16 hex digits (peers use it to pick whom to ask).
        public var held: [String]?
        /// The manifest being downloaded (16 hex digits) and how far, in steps of 10%.
        public var downloading: String?
        public var progress: UInt8?
        /// A version whose install failed (health check or verification).
        public var failed: String?
        /// The epoch of the publisher key this node pins (nil: 0, the key first pinned): a
        /// member that lags behind gets the missing rotation statements from those ahead.
        public var epoch: UInt64?

        public init(sequence: UInt64, version: String) {
            self.sequence = sequence
            self.version = version
        }
    }

    /// The transfer port (same host as gossip).
    public var transfer: Int?
    /// Share of the chunk bytes this node received that came from peers (the rest came from `bundlecast seed`), in percent.
    public var fromPeers: UInt8?

    public var zone: String?
    /// The channel this node follows, when not `stable` (left out to save bytes).
    public var channel: String?
    public static let defaultChannel = "stable"
    /// The admin API port, so `status` can reach any member.
    public var admin: Int?
    public var apps: [String: AppState] = [:]

    public init(zone: String?, admin: Int?) {
        self.zone = zone
        self.admin = admin
    }

    /// The JSON bytes, at most `limit`: apps that do not fit are left out
    /// (last in name order first), so a long version string can never stop a
    /// node from gossiping its metadata.
    public func encoded(limit: Int = Update.maxMetadataBytes) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var copy = self
        while true {
            let bytes = [UInt8]((try? encoder.encode(copy)) ?? Data())
            if bytes.count <= limit { return bytes }
            guard let last = copy.apps.keys.sorted().last else {
                copy.zone = nil
                if let bytes = try? encoder.encode(copy), bytes.count <= limit { return [UInt8](bytes) }
                return Array("{}".utf8)
            }
            copy.apps[last] = nil
        }
    }

    /// The metadata in `bytes`; nil when they do not decode, or when a string in them holds a
    /// control character, a C1 control or a bidirectional control (``PrintableText``): any
    /// member may say anything, `bundlecast status` prints it, and an honest node has none to write.
    public static func decode(_ bytes: [UInt8]) -> NodeMetadata? {
        guard let metadata = try? JSONDecoder().decode(NodeMetadata.self, from: Data(bytes)),
              !metadata.strings.contains(where: { PrintableText.holdsControls($0) })
        else { return nil }
        return metadata
    }

    /// Every string the metadata holds.
    var strings: [String] {
        var strings = [zone, channel].compactMap { $0 }
        for (app, state) in apps {
            strings += [app, state.version]
            strings += [state.installed, state.downloading, state.failed].compactMap { $0 }
            strings += state.held ?? []
        }
        return strings
    }

    /// Members' metadata decoded once per change: a download looks at every member's metadata
    /// up to 20 times a second while a chunk has no source, and the JSON decode was most of
    /// that look. Keyed by member; an entry is reused while the bytes are the same.
    final class Decoded: Sendable {
        private let entries = Mutex<[NodeID: (bytes: [UInt8], metadata: NodeMetadata?)]>([:])

        /// Members held (for tests).
        var count: Int { entries.withLock { $0.count } }

        /// Each member's metadata, decoded or nil when it does not decode. Members no longer
        /// passed in are forgotten, so the cache holds at most one entry per member.
        func metadata(of members: [Member]) -> [NodeMetadata?] {
            let known = entries.withLock { e in members.map { m in e[m.id].flatMap { $0.bytes == m.metadata ? $0 : nil } } }
            var fresh: [(NodeID, [UInt8], NodeMetadata?)] = []
            let decoded = zip(members, known).map { m, entry -> NodeMetadata? in
                if let entry { return entry.metadata }
                let metadata = NodeMetadata.decode(m.metadata)
                fresh.append((m.id, m.metadata, metadata))
                return metadata
            }
            entries.withLock { e in
                for (id, bytes, metadata) in fresh { e[id] = (bytes, metadata) }
                if e.count > members.count {
                    let ids = Set(members.map(\.id))
                    e = e.filter { ids.contains($0.key) }
                }
            }
            return decoded
        }
    }
}
