/// The origin's word on freshness: "as of `created`, the newest notice of APP on CHANNEL is
/// #sequence", signed with the origin's own key and valid until `expires` (an hour by default,
/// re-signed before). A node that pins the origin key and holds a fresh timestamp can tell when
/// peers keep it on old notices: the timestamp names a newer sequence, or no fresh timestamp
/// reaches it at all.
///
/// Exactly two LF-terminated lines:
/// ```
/// bundlecast=1 kind=timestamp app=APP channel=C sequence=N created=UNIX expires=UNIX
/// origin-signature KEYID base64(Ed25519 signature, 64 bytes)
/// ```
/// The signature is plain Ed25519 over the BLAKE2b-512 of the first line (without its line
/// feed), as minisign's "ED" signs a file. Parsed strictly: anything but the one canonical form
/// is refused.
public struct SignedTimestamp: Hashable, Sendable {
    public let app: String
    public let channel: String
    /// The newest notice's sequence at the origin (0: none yet).
    public let sequence: UInt64
    public let created: UInt64
    public let expires: UInt64
    public let keyID: KeyID
    public let signature: [UInt8]

    public static let maxBytes = 512
    static let prefix = "bundlecast=1 kind=timestamp "
    static let keys = ["bundlecast", "kind", "app", "channel", "sequence", "created", "expires"]
    static let signatureTag = "origin-signature "

    /// Signs a timestamp with the origin's key.
    public static func sign(app: String, channel: String, sequence: UInt64, created: UInt64, expires: UInt64,
                            key: SecretKey) throws(TimestampFormatError) -> SignedTimestamp {
        try validate(app: app, channel: channel, created: created, expires: expires)
        let line = statement(app: app, channel: channel, sequence: sequence, created: created, expires: expires)
        return SignedTimestamp(app: app, channel: channel, sequence: sequence, created: created, expires: expires,
                               keyID: key.keyID, signature: key.sign(Blake2b.digest512(Array(line.utf8))))
    }

    private init(app: String, channel: String, sequence: UInt64, created: UInt64, expires: UInt64, keyID: KeyID, signature: [UInt8]) {
        self.app = app
        self.channel = channel
        self.sequence = sequence
        self.created = created
        self.expires = expires
        self.keyID = keyID
        self.signature = signature
    }

    static func statement(app: String, channel: String, sequence: UInt64, created: UInt64, expires: UInt64) -> String {
        "bundlecast=1 kind=timestamp app=\(app) channel=\(channel) sequence=\(sequence) created=\(created) expires=\(expires)"
    }

    private static func validate(app: String, channel: String, created: UInt64, expires: UInt64) throws(TimestampFormatError) {
        do {
            try Identifier.validateApp(app)
            try Identifier.validateChannel(channel)
        } catch { throw TimestampFormatError(error.description) }
        guard expires > created else { throw TimestampFormatError("expires must be after created") }
        guard expires <= UInt64(Int64.max) else { throw TimestampFormatError("expires is above 2^63-1") }
    }

    public var line: String { Self.statement(app: app, channel: channel, sequence: sequence, created: created, expires: expires) }

    public var text: String { line + "\n" + Self.signatureTag + keyID.description + " " + Base64.encode(signature) + "\n" }

    public var bytes: [UInt8] { Array(text.utf8) }

    /// Whether `bytes` claims to be a timestamp (not a notice or a rotation statement): how a
    /// node tells them apart in one gossip message type. Claims are still parsed strictly.
    public static func looksLike(_ bytes: [UInt8]) -> Bool { bytes.starts(with: prefix.utf8) }

    /// Parses a timestamp strictly; nothing is verified yet.
    public init(bytes: [UInt8]) throws(TimestampFormatError) {
        guard bytes.count <= Self.maxBytes else { throw TimestampFormatError("larger than \(Self.maxBytes) bytes") }
        guard bytes.last == 0x0A, !bytes.contains(0), !bytes.contains(0x0D) else {
            throw TimestampFormatError("must be LF-terminated lines without NUL or CR")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw TimestampFormatError("not UTF-8") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 2 else { throw TimestampFormatError("expected 2 lines, found \(lines.count)") }
        let pairs = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard pairs.count == Self.keys.count else { throw TimestampFormatError("expected \(Self.keys.count) key=value pairs") }
        var values: [Substring] = []
        for (pair, key) in zip(pairs, Self.keys) {
            guard let eq = pair.firstIndex(of: "="), pair[..<eq] == key, pair.index(after: eq) < pair.endIndex else {
                throw TimestampFormatError("expected \"\(key)=VALUE\" at \"\(pair.prefix(40))\"")
            }
            values.append(pair[pair.index(after: eq)...])
        }
        guard values[0] == "1", values[1] == "timestamp" else { throw TimestampFormatError("not bundlecast=1 kind=timestamp") }
        guard let sequence = DecimalNumber.parse(values[4]), let created = DecimalNumber.parse(values[5]),
              let expires = DecimalNumber.parse(values[6]) else {
            throw TimestampFormatError("sequence, created and expires must be canonical decimal numbers")
        }
        let app = String(values[2]), channel = String(values[3])
        try Self.validate(app: app, channel: channel, created: created, expires: expires)
        let sig = lines[1]
        guard sig.hasPrefix(Self.signatureTag) else { throw TimestampFormatError("expected a line starting with \"\(Self.signatureTag)\"") }
        let rest = sig.dropFirst(Self.signatureTag.count).split(separator: " ", omittingEmptySubsequences: false)
        guard rest.count == 2, let keyID = KeyID(text: rest[0]), let signature = Base64.decode(rest[1], length: 64) else {
            throw TimestampFormatError("origin-signature must carry a key id, then canonical base64 of 64 bytes")
        }
        self.init(app: app, channel: channel, sequence: sequence, created: created, expires: expires, keyID: keyID, signature: signature)
        guard self.bytes == bytes else { throw TimestampFormatError("not in canonical form") }
    }

    /// Whether the origin key `key` signed it.
    public func isSigned(by key: PublicKey) -> Bool {
        key.keyID == keyID && key.isValidSignature(signature, of: Blake2b.digest512(Array(line.utf8)))
    }
}

/// Bytes that are not a timestamp in its one canonical form.
public struct TimestampFormatError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "not a valid Bundlecast timestamp: \(message)" }
}
