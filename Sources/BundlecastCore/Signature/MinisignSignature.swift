/// A minisign signature file (`.minisig`), algorithm "ED": Ed25519 over the
/// BLAKE2b-512 digest of the signed file, plus a global signature over
/// `signature || trusted comment`.
///
/// Layout, exactly four LF-terminated lines:
/// ```
/// untrusted comment: <text>
/// base64("ED" || key id (8) || signature (64))
/// trusted comment: <text>
/// base64(global signature (64))
/// ```
/// The parser accepts only this layout with canonical base64, so one signed
/// notice has one byte form (what the origin compares as "the same notice").
public struct MinisignSignature: Hashable, Sendable {
    public static let maxCommentBytes = 1024

    public var untrustedComment: String
    public let keyID: KeyID
    /// Ed25519 over BLAKE2b-512 of the signed file.
    public let signature: [UInt8]
    public let trustedComment: String
    /// Ed25519 over `signature || trustedComment`.
    public let globalSignature: [UInt8]

    static let untrustedPrefix = "untrusted comment: "
    static let trustedPrefix = "trusted comment: "

    /// Signs `message` (the whole file's bytes).
    public static func sign(
        _ message: [UInt8], trustedComment: String, untrustedComment: String, with key: SecretKey
    ) throws(SignatureError) -> MinisignSignature {
        try checkComment(trustedComment, name: "trusted comment")
        try checkComment(untrustedComment, name: "untrusted comment")
        let sig = key.sign(Blake2b.digest512(message))
        let global = key.sign(sig + Array(trustedComment.utf8))
        return MinisignSignature(
            untrustedComment: untrustedComment, keyID: key.keyID, signature: sig,
            trustedComment: trustedComment, globalSignature: global)
    }

    /// The file's bytes.
    public var bytes: [UInt8] { Array(text.utf8) }

    public var text: String {
        Self.untrustedPrefix + untrustedComment + "\n"
            + Base64.encode(Array("ED".utf8) + keyID.bytes + signature) + "\n"
            + Self.trustedPrefix + trustedComment + "\n"
            + Base64.encode(globalSignature) + "\n"
    }

    /// Parses a `.minisig` strictly.
    public init(bytes: [UInt8]) throws(SignatureError) {
        guard bytes.count <= 4 * 1024 else { throw SignatureError(.malformed("larger than 4 KiB")) }
        guard bytes.last == 0x0A else { throw SignatureError(.malformed("does not end with a newline")) }
        guard !bytes.contains(0), !bytes.contains(0x0D) else {
            throw SignatureError(.malformed("contains a NUL or CR byte"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SignatureError(.malformed("not UTF-8"))
        }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 4 else { throw SignatureError(.malformed("expected 4 lines, found \(lines.count)")) }
        guard lines[0].hasPrefix(Self.untrustedPrefix) else {
            throw SignatureError(.malformed("line 1 must start with \"untrusted comment: \""))
        }
        guard lines[2].hasPrefix(Self.trustedPrefix) else {
            throw SignatureError(.malformed("line 3 must start with \"trusted comment: \""))
        }
        guard let sigStruct = Base64.decode(lines[1], length: 74) else {
            throw SignatureError(.malformed("line 2 is not canonical base64 of 74 bytes"))
        }
        let alg = String(decoding: sigStruct[0..<2], as: UTF8.self)
        if alg == "Ed" { throw SignatureError(.legacyAlgorithm) }
        guard alg == "ED" else { throw SignatureError(.malformed("unknown signature algorithm \"\(alg)\"")) }
        guard let global = Base64.decode(lines[3], length: 64) else {
            throw SignatureError(.malformed("line 4 is not canonical base64 of 64 bytes"))
        }
        let untrusted = String(lines[0].dropFirst(Self.untrustedPrefix.count))
        let trusted = String(lines[2].dropFirst(Self.trustedPrefix.count))
        try Self.checkComment(untrusted, name: "untrusted comment")
        try Self.checkComment(trusted, name: "trusted comment")
        self.untrustedComment = untrusted
        self.keyID = KeyID(bytes: sigStruct[2..<10])!
        self.signature = Array(sigStruct[10..<74])
        self.trustedComment = trusted
        self.globalSignature = global
    }

    init(untrustedComment: String, keyID: KeyID, signature: [UInt8], trustedComment: String, globalSignature: [UInt8]) {
        self.untrustedComment = untrustedComment
        self.keyID = keyID
        self.signature = signature
        self.trustedComment = trustedComment
        self.globalSignature = globalSignature
    }

    /// Checks the global signature, which authenticates the trusted comment
    /// on its own (a notice can be checked before its manifest is at hand).
    public func verifyTrustedComment(with key: PublicKey) throws(SignatureError) {
        guard keyID == key.keyID else { throw SignatureError(.keyMismatch(signedBy: keyID, expected: key.keyID)) }
        guard key.isValidSignature(globalSignature, of: signature + Array(trustedComment.utf8)) else {
            throw SignatureError(.badCommentSignature)
        }
    }

    /// Checks both signatures: over the file, and over the trusted comment.
    public func verify(_ message: [UInt8], with key: PublicKey) throws(SignatureError) {
        guard keyID == key.keyID else { throw SignatureError(.keyMismatch(signedBy: keyID, expected: key.keyID)) }
        guard key.isValidSignature(signature, of: Blake2b.digest512(message)) else {
            throw SignatureError(.badSignature)
        }
        try verifyTrustedComment(with: key)
    }

    private static func checkComment(_ comment: String, name: String) throws(SignatureError) {
        guard comment.utf8.count <= maxCommentBytes else {
            throw SignatureError(.malformed("\(name) longer than \(maxCommentBytes) bytes"))
        }
        guard !comment.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
            throw SignatureError(.malformed("\(name) contains a NUL, CR or LF"))
        }
    }
}
