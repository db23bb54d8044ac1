import CSodium

/// A publisher's Ed25519 secret key, decrypted in memory.
///
/// On disk it is minisign's secret key layout (158 bytes, base64):
/// `"Ed" || kdf ("Sc" scrypt, or two zero bytes for none) || "B2" ||
/// salt (32) || opslimit (u64 LE) || memlimit (u64 LE) ||
/// [key id (8) || Ed25519 secret key (64) || checksum (32)]`,
/// where the bracketed part is XORed with an scrypt stream when encrypted and
/// the checksum is BLAKE2b-256 of `"Ed" || key id || secret key`.
///
/// The secret lives in ``SecretBytes``, zeroed when the last copy of the key is gone; every
/// temporary that held it (decrypted file bytes, the scrypt stream, the passphrase) is zeroed
/// once used.
public struct SecretKey: Sendable {
    public let keyID: KeyID
    /// libsodium's 64-byte secret key (seed || public key).
    let secret: SecretBytes

    static let fileLength = 158
    static let secretLength = 64

    public var publicKey: PublicKey { PublicKey(keyID: keyID, key: secret.copy(32..<64)) }

    /// A new random key pair.
    public static func generate() -> SecretKey {
        Sodium.ready()
        var pk = [UInt8](repeating: 0, count: 32)
        let sk = SecretBytes(count: secretLength) { _ = crypto_sign_keypair(&pk, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        return SecretKey(keyID: .random(), secret: sk)
    }

    /// From a 32-byte seed; deterministic, for tests that need fixed keys.
    public static func fromSeed(_ seed: [UInt8], keyID: KeyID) -> SecretKey {
        Sodium.ready()
        precondition(seed.count == 32)
        var pk = [UInt8](repeating: 0, count: 32)
        let sk = SecretBytes(count: secretLength) {
            _ = crypto_sign_seed_keypair(&pk, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), seed)
        }
        return SecretKey(keyID: keyID, secret: sk)
    }

    init(keyID: KeyID, secret: SecretBytes) {
        self.keyID = keyID
        self.secret = secret
    }

    /// Plain Ed25519 detached signature.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        Sodium.ready()
        var sig = [UInt8](repeating: 0, count: 64)
        secret.withUnsafeBytes { sk in
            _ = crypto_sign_detached(&sig, nil, message, UInt64(message.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return sig
    }
}
