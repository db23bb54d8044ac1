/// What a publisher says about a manifest, carried as the trusted comment of
/// the manifest's minisign signature (so the global signature covers it).
///
/// Grammar, format version 1: one line of at most 1024 bytes, with exactly
/// these `key=value` pairs in this order, separated by one space, values from
/// `[A-Za-z0-9._:+-]`:
/// ```
/// bundlecast=1 kind=release app=APP version=V sequence=N channel=C
/// manifest=HEX64 size=N rollout=P created=UNIX expires=UNIX
/// ```
/// Unknown keys, duplicates, another order, or a value outside its rule are
/// refused.
public struct Notice: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// A new release, or a rollout change of one.
        case release
        /// Points nodes back to an earlier manifest.
        case withdraw
    }

    public var kind: Kind
    public var app: String
    public var version: SemanticVersion
    /// One counter per app, strictly increasing over every notice the publisher issues.
    public var sequence: UInt64
    /// The highest sequence a node or an origin takes: it must fit a signed 64-bit integer,
    /// as SQLite stores it.
    public static let maxSequence = UInt64(Int64.max)
    public var channel: String
    /// BLAKE2b-256 of the manifest's canonical bytes.
    public var manifest: Digest256
    /// Total bytes of the bundle's files.
    public var size: UInt64
    /// Percentage of the fleet that should install it, 0...100.
    public var rollout: UInt8
    /// Unix seconds.
    public var created: UInt64
    /// Unix seconds; after this a node no longer accepts the notice as news.
    public var expires: UInt64

    public static let formatVersion = "1"
    static let keys = ["bundlecast", "kind", "app", "version", "sequence", "channel", "manifest", "size", "rollout", "created", "expires"]

    public init(
        kind: Kind, app: String, version: SemanticVersion, sequence: UInt64, channel: String,
        manifest: Digest256, size: UInt64, rollout: UInt8, created: UInt64, expires: UInt64
    ) throws(NoticeError) {
        self.kind = kind
        self.app = app
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.manifest = manifest
        self.size = size
        self.rollout = rollout
        self.created = created
        self.expires = expires
        try validate()
    }

    /// The trusted comment text.
    public var description: String {
        "bundlecast=\(Self.formatVersion) kind=\(kind.rawValue) app=\(app) version=\(version) sequence=\(sequence) "
            + "channel=\(channel) manifest=\(manifest.hex) size=\(size) rollout=\(rollout) created=\(created) expires=\(expires)"
    }

    /// Parses a trusted comment strictly.
    public init(trustedComment text: String) throws(NoticeError) {
        guard text.utf8.count <= MinisignSignature.maxCommentBytes else { throw NoticeError("longer than 1024 bytes") }
        let pairs = text.split(separator: " ", omittingEmptySubsequences: false)
        guard pairs.count == Self.keys.count else {
            throw NoticeError("expected \(Self.keys.count) key=value pairs, found \(pairs.count)")
        }
        var values: [String] = []
        for (pair, key) in zip(pairs, Self.keys) {
            guard let eq = pair.firstIndex(of: "="), pair[..<eq] == key else {
                throw NoticeError("expected \"\(key)=\" at \"\(pair.prefix(40))\"")
            }
            let value = pair[pair.index(after: eq)...]
            guard !value.isEmpty, value.utf8.allSatisfy(Self.isValueByte) else {
                throw NoticeError("\(key) has an empty value or a character outside [A-Za-z0-9._:+-]")
            }
            values.append(String(value))
        }
        guard values[0] == Self.formatVersion else { throw NoticeError("unsupported notice format bundlecast=\(values[0])") }
        guard let kind = Kind(rawValue: values[1]) else { throw NoticeError("unknown kind \"\(values[1])\"") }
        let version: SemanticVersion
        do { version = try SemanticVersion(values[3]) } catch { throw NoticeError(error.description) }
        func number(_ i: Int) throws(NoticeError) -> UInt64 {
            guard let n = DecimalNumber.parse(values[i]) else { throw NoticeError("\(Self.keys[i]) is not a canonical decimal number") }
            return n
        }
        guard let digest = Digest256(hex: values[6]) else { throw NoticeError("manifest is not 64 lowercase hex digits") }
        let rollout = try number(8)
        guard rollout <= 100 else { throw NoticeError("rollout \(rollout) is over 100") }
        try self.init(
            kind: kind, app: values[2], version: version, sequence: try number(4), channel: values[5],
            manifest: digest, size: try number(7), rollout: UInt8(rollout), created: try number(9), expires: try number(10))
    }

    private func validate() throws(NoticeError) {
        do {
            try Identifier.validateApp(app)
            try Identifier.validateChannel(channel)
        } catch { throw NoticeError(error.description) }
        guard sequence >= 1 else { throw NoticeError("sequence must be at least 1") }
        guard rollout <= 100 else { throw NoticeError("rollout \(rollout) is over 100") }
        guard expires > created else { throw NoticeError("expires (\(expires)) is not after created (\(created))") }
        guard version.description.utf8.allSatisfy(Self.isValueByte) else { throw NoticeError("version has characters outside the grammar") }
    }

    static func isValueByte(_ c: UInt8) -> Bool {
        Identifier.isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
            || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
    }

    /// Whether the notice has expired at `now` (Unix seconds).
    public func isExpired(at now: UInt64) -> Bool { now >= expires }
}

/// A trusted comment that is not a valid notice.
public struct NoticeError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "not a valid Bundlecast notice: \(message)" }
}
