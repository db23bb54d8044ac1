import CSodium

/// A publisher's Ed25519 public key in minisign's format:
/// base64 of `"Ed" || key id (8) || public key (32)`.
public struct PublicKey: Hashable, Sendable {
    public let keyID: KeyID
    /// The raw 32-byte Ed25519 public key.
    public let key: [UInt8]

    public init(keyID: KeyID, key: [UInt8]) {
        precondition(key.count == 32)
        self.keyID = keyID
        self.key = key
    }

    /// Parses the base64 line alone (what `minisign -P` takes).
    public init(base64 line: String) throws(KeyFileError) {
        guard let raw = Base64.decode(line, length: 42) else {
            throw KeyFileError(.notMinisignFormat("the key line is not base64 of 42 bytes"))
        }
        guard raw[0] == UInt8(ascii: "E"), raw[1] == UInt8(ascii: "d") else {
            throw KeyFileError(.unsupportedAlgorithm("signature algorithm is not Ed25519 (\"Ed\")"))
        }
        self.init(keyID: KeyID(bytes: raw[2..<10])!, key: Array(raw[10..<42]))
    }

    /// Parses a `.pub` file's text.
    public init(fileText: String) throws(KeyFileError) {
        let (_, payload) = try KeyFileText.split(fileText)
        try self.init(base64: payload)
    }

    public var base64: String { Base64.encode(Array("Ed".utf8) + keyID.bytes + key) }

    /// The file minisign itself would write for this key.
    public var fileText: String {
        "untrusted comment: minisign public key \(keyID)\n\(base64)\n"
    }

    /// Plain Ed25519 verification of a detached signature over `message`.
    public func isValidSignature(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        Sodium.ready()
        guard signature.count == 64 else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), key) == 0
    }
}
