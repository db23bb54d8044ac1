import CSodium

/// The fleet's shared secret: with it, every gossip packet carries a
/// libsodium `crypto_auth` tag (HMAC-SHA-512-256), so a stranger who can
/// reach a port can neither join nor declare members dead.
///
/// File: `untrusted comment: bundlecast fleet key` and the base64 of 32
/// random bytes; mode 0600, made by `bundlecast fleet-key`.
public struct FleetKey: Sendable, Equatable {
    public static let length = 32
    /// Bytes a tag adds to every packet.
    public static let tagLength = 32
    static let comment = "untrusted comment: bundlecast fleet key"

    let bytes: [UInt8]

    public static func generate() -> FleetKey { FleetKey(bytes: Sodium.randomBytes(length)) }

    init(bytes: [UInt8]) {
        precondition(bytes.count == Self.length)
        self.bytes = bytes
    }

    public init(fileText: String) throws(KeyFileError) {
        let (_, payload) = try KeyFileText.split(fileText)
        guard let raw = Base64.decode(payload, length: Self.length) else {
            throw KeyFileError(.notMinisignFormat("a fleet key file holds base64 of \(Self.length) bytes"))
        }
        bytes = raw
    }

    public var fileText: String { Self.comment + "\n" + Base64.encode(bytes) + "\n" }

    /// `tag || payload`.
    public func seal(_ payload: [UInt8]) -> [UInt8] {
        Sodium.ready()
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        _ = crypto_auth(&tag, payload, UInt64(payload.count), bytes)
        return tag + payload
    }

    /// The payload of a sealed packet, or `nil` when the tag does not verify
    /// (compared in constant time by libsodium).
    public func open(_ packet: [UInt8]) -> [UInt8]? {
        Sodium.ready()
        guard packet.count >= Self.tagLength else { return nil }
        let payload = Array(packet[Self.tagLength...])
        let ok = packet.withUnsafeBufferPointer { p in
            crypto_auth_verify(p.baseAddress!, payload, UInt64(payload.count), bytes) == 0
        }
        return ok ? payload : nil
    }
}
