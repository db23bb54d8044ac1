/// A rotation statement as it is stored, served and gossiped (`APP/rotations/EPOCH.rotation`):
/// the statement signed by the old key, then co-signed by the new key.
///
/// Exactly three LF-terminated lines:
/// ```
/// bundlecast=1 kind=rotate app=APP epoch=N old=OLDID new=NEWID newkey=BASE64 created=UNIX
/// old-key-signature OLDID base64(Ed25519 signature, 64 bytes)
/// new-key-signature NEWID base64(Ed25519 signature, 64 bytes)
/// ```
/// Each signature is plain Ed25519 over the BLAKE2b-512 of the statement line
/// (its bytes without the line feed), as minisign's "ED" signs a file. The
/// old key's signature says "I hand over"; the new key's says "I accept", so
/// a rotation cannot name a key its holder never agreed to carry.
public struct SignedRotation: Hashable, Sendable {
    public let statement: RotationStatement
    public let oldSignature: [UInt8]
    public let newSignature: [UInt8]

    /// Larger input is refused before it is parsed; a statement is about 500 bytes,
    /// so it always fits one gossip datagram.
    public static let maxBytes = 1024
    static let oldTag = "old-key-signature "
    static let newTag = "new-key-signature "

    /// Signs `statement` with the old key and then the new one; each must be the key the statement names.
    public static func sign(_ statement: RotationStatement, old: SecretKey, new: SecretKey) throws(RotationFormatError) -> SignedRotation {
        guard old.keyID == statement.oldKeyID else {
            throw RotationFormatError("the old secret key is \(old.keyID), the statement names \(statement.oldKeyID)")
        }
        guard new.publicKey == statement.newKey else {
            throw RotationFormatError("the new secret key is \(new.keyID), the statement names \(statement.newKeyID)")
        }
        let digest = Self.digest(statement)
        return SignedRotation(statement: statement, oldSignature: old.sign(digest), newSignature: new.sign(digest))
    }

    init(statement: RotationStatement, oldSignature: [UInt8], newSignature: [UInt8]) {
        self.statement = statement
        self.oldSignature = oldSignature
        self.newSignature = newSignature
    }

    public var text: String {
        statement.description + "\n"
            + Self.oldTag + statement.oldKeyID.description + " " + Base64.encode(oldSignature) + "\n"
            + Self.newTag + statement.newKeyID.description + " " + Base64.encode(newSignature) + "\n"
    }

    public var bytes: [UInt8] { Array(text.utf8) }

    /// Whether `bytes` claims to be a rotation statement rather than a notice
    /// (a `.minisig` starts with "untrusted comment: "): how a node tells the
    /// two apart in one gossip message type. Claims are still parsed strictly.
    public static func looksLike(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: RotationStatement.prefix.utf8)
    }

    /// Parses a `.rotation` file strictly; nothing is verified yet.
    public init(bytes: [UInt8]) throws(RotationFormatError) {
        guard bytes.count <= Self.maxBytes else { throw RotationFormatError("larger than \(Self.maxBytes) bytes") }
        guard bytes.last == 0x0A else { throw RotationFormatError("does not end with a line feed") }
        guard !bytes.contains(0), !bytes.contains(0x0D) else { throw RotationFormatError("contains a NUL or CR byte") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw RotationFormatError("not UTF-8") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3 else { throw RotationFormatError("expected 3 lines, found \(lines.count)") }
        let statement = try RotationStatement(line: lines[0])
        let old = try Self.signature(lines[1], tag: Self.oldTag, keyID: statement.oldKeyID)
        let new = try Self.signature(lines[2], tag: Self.newTag, keyID: statement.newKeyID)
        self.init(statement: statement, oldSignature: old, newSignature: new)
        guard self.bytes == bytes else { throw RotationFormatError("not in canonical form") }
    }

    private static func signature(_ line: Substring, tag: String, keyID: KeyID) throws(RotationFormatError) -> [UInt8] {
        let name = tag.dropLast()
        guard line.hasPrefix(tag) else { throw RotationFormatError("expected a line starting with \"\(tag)\"") }
        let rest = line.dropFirst(tag.count).split(separator: " ", omittingEmptySubsequences: false)
        guard rest.count == 2, KeyID(text: rest[0]) == keyID else {
            throw RotationFormatError("\(name) must carry key id \(keyID), then the signature")
        }
        guard let signature = Base64.decode(rest[1], length: 64) else {
            throw RotationFormatError("\(name) is not canonical base64 of 64 bytes")
        }
        return signature
    }

    static func digest(_ statement: RotationStatement) -> [UInt8] {
        Blake2b.digest512(Array(statement.description.utf8))
    }

    /// The old key's signature, checked against `key` (which must carry the statement's old key id).
    public func isSignedByOldKey(_ key: PublicKey) -> Bool {
        key.keyID == statement.oldKeyID && key.isValidSignature(oldSignature, of: Self.digest(statement))
    }

    /// The new key's signature, checked against the key the statement itself carries.
    public var isSignedByNewKey: Bool {
        statement.newKey.isValidSignature(newSignature, of: Self.digest(statement))
    }
}
