import BundlecastCore

/// A notice the origin accepted, with the exact bytes it was sent.
public struct StoredNotice: Sendable, Equatable {
    public let app: String
    public let channel: String
    public let sequence: UInt64
    /// The `.minisig` text, byte for byte as the publisher signed it.
    public let body: [UInt8]
}

/// What the origin knows of one registered app.
public struct AppRecord: Sendable, Equatable {
    public let name: String
    public let key: PublicKey
    /// Highest sequence per channel, sorted by channel.
    public let channels: [(channel: String, sequence: UInt64)]

    public var sequence: UInt64 { channels.map(\.sequence).max() ?? 0 }

    public static func == (a: AppRecord, b: AppRecord) -> Bool {
        a.name == b.name && a.key == b.key && a.channels.elementsEqual(b.channels, by: { $0 == $1 })
    }
}
