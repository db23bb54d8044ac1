import CSodium

/// A publisher's Ed25519 secret key, decrypted in memory.
///
/// On disk it is minisign's secret key layout (158 bytes, base64):
/// `"Ed" || kdf ("Sc" scrypt, or two zero bytes for none) || "B2" ||
/// salt (32) || opslimit (u64 LE) || memlimit (u64 LE) ||
/// [key id (8) || Ed25519 secret key (64) || checksum (32)]`,
/// where the bracketed part is XORed with an scrypt stream when encrypted and
/// the checksum is BLAKE2b-256 of `"Ed" || key id || secret key`.
public struct SecretKey: Sendable {
    public let keyID: KeyID
    /// libsodium's 64-byte secret key (seed || public key).
    let secret: [UInt8]

    static let fileLength = 158

    public var publicKey: PublicKey { PublicKey(keyID: keyID, key: Array(secret[32..<64])) }

    /// A new random key pair.
    public static func generate() -> SecretKey {
        Sodium.ready()
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_keypair(&pk, &sk)
        return SecretKey(keyID: .random(), secret: sk)
    }

    /// From a 32-byte seed; deterministic, for tests that need fixed keys.
    public static func fromSeed(_ seed: [UInt8], keyID: KeyID) -> SecretKey {
        Sodium.ready()
        precondition(seed.count == 32)
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_seed_keypair(&pk, &sk, seed)
        return SecretKey(keyID: keyID, secret: sk)
    }

    init(keyID: KeyID, secret: [UInt8]) {
        self.keyID = keyID
        self.secret = secret
    }

    /// Plain Ed25519 detached signature.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        Sodium.ready()
        var sig = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_detached(&sig, nil, message, UInt64(message.count), secret)
        return sig
    }
}

extension SecretKey {
    /// Whether a secret key file needs a passphrase, without decrypting it.
    public static func isEncrypted(fileText: String) throws(KeyFileError) -> Bool {
        let raw = try rawBytes(fileText)
        return raw[2] == UInt8(ascii: "S")
    }

    /// Parses and, when encrypted, decrypts a `.key` file.
    ///
    /// - Parameter passphrase: called only when the key is encrypted; return
    ///   `nil` when none is available.
    public init(fileText: String, passphrase: () throws -> [UInt8]?) throws {
        Sodium.ready()
        var raw = try Self.rawBytes(fileText)
        defer { Sodium.wipe(&raw) }
        let kdf = Array(raw[2..<4])
        if kdf == Array("Sc".utf8) {
            guard var pass = try passphrase() else { throw KeyFileError(.passphraseRequired) }
            defer { Sodium.wipe(&pass) }
            let salt = Array(raw[6..<38])
            let ops = raw[38..<46].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let mem = raw[46..<54].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            var stream = try Self.scryptStream(passphrase: pass, salt: salt, opslimit: ops, memlimit: mem)
            defer { Sodium.wipe(&stream) }
            for i in 0..<104 { raw[54 + i] ^= stream[i] }
            guard Self.checksum(Array(raw[54..<126])) == Array(raw[126..<158]) else {
                throw KeyFileError(.wrongPassphrase)
            }
        } else if kdf == [0, 0] {
            // minisign -W writes a zero checksum for unencrypted keys; check a real one.
            let chk = Array(raw[126..<158])
            if chk != [UInt8](repeating: 0, count: 32), Self.checksum(Array(raw[54..<126])) != chk {
                throw KeyFileError(.corrupt("checksum mismatch"))
            }
        } else {
            throw KeyFileError(.unsupportedAlgorithm("key derivation function is neither scrypt nor none"))
        }
        let keyID = KeyID(bytes: raw[54..<62])!
        let secret = Array(raw[62..<126])
        // The secret key embeds its public half: a mismatch means a damaged file.
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_seed_keypair(&pk, &sk, Array(secret[0..<32]))
        guard pk == Array(secret[32..<64]) else {
            throw KeyFileError(.corrupt("public half does not match the secret seed"))
        }
        self.init(keyID: keyID, secret: secret)
    }

    /// The `.key` file text: encrypted with scrypt at libsodium's "sensitive"
    /// limits (as minisign does) when `passphrase` is given, else unencrypted.
    public func fileText(passphrase: [UInt8]?, comment: String? = nil) throws -> String {
        var raw = Array("Ed".utf8) + (passphrase == nil ? [0, 0] : Array("Sc".utf8)) + Array("B2".utf8)
        let body = keyID.bytes + secret
        var payload = body + Self.checksum(body)
        defer { Sodium.wipe(&payload) }
        if let passphrase {
            let salt = Sodium.randomBytes(32)
            let ops = UInt64(crypto_pwhash_scryptsalsa208sha256_opslimit_sensitive())
            let mem = UInt64(crypto_pwhash_scryptsalsa208sha256_memlimit_sensitive())
            var stream = try Self.scryptStream(passphrase: passphrase, salt: salt, opslimit: ops, memlimit: mem)
            defer { Sodium.wipe(&stream) }
            for i in 0..<104 { payload[i] ^= stream[i] }
            raw += salt + Self.littleEndian(ops) + Self.littleEndian(mem)
        } else {
            raw += [UInt8](repeating: 0, count: 48)
        }
        raw += payload
        let text = comment ?? (passphrase == nil ? "minisign secret key (unencrypted)" : "minisign encrypted secret key")
        return "untrusted comment: \(text)\n\(Base64.encode(raw))\n"
    }

    private static func rawBytes(_ fileText: String) throws(KeyFileError) -> [UInt8] {
        let (_, payload) = try KeyFileText.split(fileText)
        guard let raw = Base64.decode(payload, length: fileLength) else {
            throw KeyFileError(.notMinisignFormat("the key line is not base64 of \(fileLength) bytes"))
        }
        guard raw[0..<2].elementsEqual("Ed".utf8) else {
            throw KeyFileError(.unsupportedAlgorithm("signature algorithm is not Ed25519 (\"Ed\")"))
        }
        guard raw[4..<6].elementsEqual("B2".utf8) else {
            throw KeyFileError(.unsupportedAlgorithm("checksum function is not BLAKE2b (\"B2\")"))
        }
        return raw
    }

    static func checksum(_ keyIDAndSecret: [UInt8]) -> [UInt8] {
        var h = Blake2b(outputLength: 32)
        h.update(Array("Ed".utf8) + keyIDAndSecret)
        return h.finalize()
    }

    private static func scryptStream(passphrase: [UInt8], salt: [UInt8], opslimit: UInt64, memlimit: UInt64) throws -> [UInt8] {
        var stream = [UInt8](repeating: 0, count: 104)
        let rc = (passphrase + [0]).withUnsafeBufferPointer { pass in
            pass.withMemoryRebound(to: CChar.self) { p in
                crypto_pwhash_scryptsalsa208sha256(
                    &stream, 104, p.baseAddress!, UInt64(passphrase.count), salt, opslimit, Int(memlimit))
            }
        }
        guard rc == 0 else {
            throw KeyFileError(.corrupt("scrypt failed (opslimit \(opslimit), memlimit \(memlimit)): out of memory?"))
        }
        return stream
    }

    private static func littleEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }
}
