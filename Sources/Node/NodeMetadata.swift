import Foundation

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

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8]((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]) -> NodeMetadata? {
        try? JSONDecoder().decode(NodeMetadata.self, from: Data(bytes))
    }
}
