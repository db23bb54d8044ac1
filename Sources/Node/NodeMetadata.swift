import Foundation
import Gossip

/// What a node tells the fleet about itself, inside its membership record
/// (at most 512 bytes encoded; see README, Gossip).
public struct NodeMetadata: Codable, Equatable, Sendable {
    /// Per trusted app: the newest accepted notice's sequence and version.
    public struct AppState: Codable, Equatable, Sendable {
        public var sequence: UInt64
        public var version: String
        public init(sequence: UInt64, version: String) {
            self.sequence = sequence
            self.version = version
        }
    }

    public var zone: String?
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

    public static func decode(_ bytes: [UInt8]) -> NodeMetadata? {
        try? JSONDecoder().decode(NodeMetadata.self, from: Data(bytes))
    }
}
