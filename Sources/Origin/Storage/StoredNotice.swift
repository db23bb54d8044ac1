import BundlecastCore
import Foundation
import NIOCore

/// A notice the origin accepted, with the bytes it serves.
public struct StoredNotice: Sendable, Equatable {
    public let app: String
    public let channel: String
    public let sequence: UInt64
    /// The `.minisig` text, with the unsigned comment `release` writes (``SignedNotice/canonical``).
    public let body: [UInt8]
    /// The same bytes, ready to send without a copy.
    public let buffer: ByteBuffer
    /// `"SEQUENCE-HASH"`, the HTTP entity tag: the sequence for people reading it, and
    /// 64 bits of the body's BLAKE2b so that two bodies never share a tag (the same
    /// sequence in two apps, or re-used after a rotation drops a thief's notices).
    public let etag: String

    public init(app: String, channel: String, sequence: UInt64, body: [UInt8]) {
        self.app = app
        self.channel = channel
        self.sequence = sequence
        self.body = body
        buffer = ByteBuffer(bytes: body)
        etag = "\"\(sequence)-\(Blake2b.digest256(body).hex.prefix(16))\""
    }

    /// Whether an `If-None-Match` header names this notice (its tag, or `*`).
    public func isMatched(byIfNoneMatch header: String) -> Bool {
        header.split(separator: ",").contains { [etag, "*"].contains($0.trimmingCharacters(in: .whitespaces)) }
    }

    public static func == (a: StoredNotice, b: StoredNotice) -> Bool {
        a.app == b.app && a.channel == b.channel && a.sequence == b.sequence && a.body == b.body
    }
}

/// What the origin knows of one registered app.
public struct AppRecord: Sendable, Equatable {
    public let name: String
    /// The key notices must be signed with now.
    public let key: PublicKey
    /// Rotations since the key first registered (or since the last re-pin).
    public let epoch: UInt64
    /// Highest sequence per channel, sorted by channel.
    public let channels: [(channel: String, sequence: UInt64)]

    public var sequence: UInt64 { channels.map(\.sequence).max() ?? 0 }

    public static func == (a: AppRecord, b: AppRecord) -> Bool {
        a.name == b.name && a.key == b.key && a.epoch == b.epoch && a.channels.elementsEqual(b.channels, by: { $0 == $1 })
    }
}
