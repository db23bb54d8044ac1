import CSodium

extension SecretKey {
    /// The most scrypt may cost to open a key: libsodium's "sensitive" limits, which minisign
    /// and bundlecast write. Anything above is refused before any work, so a crafted key file
    /// can neither trap (a memlimit over `Int.max`) nor claim terabytes or days of CPU.
    public static let maxOpslimit = UInt64(crypto_pwhash_scryptsalsa208sha256_opslimit_sensitive())
    public static let maxMemlimit = UInt64(crypto_pwhash_scryptsalsa208sha256_memlimit_sensitive())

    /// Whether a secret key file needs a passphrase, without decrypting it.
    public static func isEncrypted(fileText: String) throws(KeyFileError) -> Bool {
        var raw = try rawBytes(fileText)
        defer { Sodium.wipe(&raw) }
        return raw[2] == UInt8(ascii: "S")
    }

    /// Parses and, when encrypted, decrypts a `.key` file.
    ///
    /// - Parameter passphrase: called only when the key is encrypted; return
    ///   `nil` when none is available. The bytes it returns are zeroed after use.
    public init(fileText: String, passphrase: () throws -> [UInt8]?) throws {
        Sodium.ready()
        var raw = try Self.rawBytes(fileText)
        defer { Sodium.wipe(&raw) }
        if raw[2..<4].elementsEqual("Sc".utf8) {
            let ops = Self.littleEndian(raw[38..<46])
            let mem = Self.littleEndian(raw[46..<54])
            guard ops <= Self.maxOpslimit, mem <= Self.maxMemlimit else {
                throw KeyFileError(.kdfLimitsTooHigh(opslimit: ops, memlimit: mem))
            }
            guard var pass = try passphrase() else { throw KeyFileError(.passphraseRequired) }
            defer { Sodium.wipe(&pass) }
            var stream = try Self.scryptStream(passphrase: pass, salt: Array(raw[6..<38]), opslimit: ops, memlimit: mem)
            defer { Sodium.wipe(&stream) }
            for i in 0..<104 { raw[54 + i] ^= stream[i] }
            guard Sodium.equal(Self.checksum(raw[54..<126]), Array(raw[126..<158])) else {
                throw KeyFileError(.wrongPassphrase)
            }
        } else if raw[2..<4].elementsEqual([0, 0]) {
            // minisign -W writes a zero checksum for unencrypted keys; check a real one.
            let chk = Array(raw[126..<158])
            if chk != [UInt8](repeating: 0, count: 32), Self.checksum(raw[54..<126]) != chk {
                throw KeyFileError(.corrupt("checksum mismatch"))
            }
        } else {
            throw KeyFileError(.unsupportedAlgorithm("key derivation function is neither scrypt nor none"))
        }
        let keyID = KeyID(bytes: raw[54..<62])!
        let secret = raw.withUnsafeBytes { r in
            SecretBytes(count: Self.secretLength) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: r[62..<126])) }
        }
        // The secret key embeds its public half: a mismatch means a damaged file. The key
        // derived from the seed goes to secret memory too, zeroed as soon as it is dropped.
        var pk = [UInt8](repeating: 0, count: 32)
        _ = SecretBytes(count: Self.secretLength) { sk in
            secret.withUnsafeBytes { s in
                _ = crypto_sign_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard pk == secret.copy(32..<64) else {
            throw KeyFileError(.corrupt("public half does not match the secret seed"))
        }
        self.init(keyID: keyID, secret: secret)
    }

    /// The `.key` file text: encrypted with scrypt at libsodium's "sensitive" limits (as
    /// minisign does) when `passphrase` is given, else unencrypted (the text then holds the
    /// secret, as the file will).
    public func fileText(passphrase: [UInt8]?, comment: String? = nil) throws -> String {
        var raw = [UInt8]()
        raw.reserveCapacity(Self.fileLength)  // grown in place only, so no copy of the secret is left behind
        defer { Sodium.wipe(&raw) }
        raw += Array("Ed".utf8) + (passphrase == nil ? [0, 0] : Array("Sc".utf8)) + Array("B2".utf8)
        var payload = [UInt8](repeating: 0, count: 104)
        defer { Sodium.wipe(&payload) }
        payload.withUnsafeMutableBytes { p in
            keyID.bytes.withUnsafeBytes { p.copyMemory(from: $0) }
            secret.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: p[8..<72]).copyMemory(from: $0) }
        }
        let sum = Self.checksum(payload[0..<72])
        payload.replaceSubrange(72..<104, with: sum)
        if let passphrase {
            let salt = Sodium.randomBytes(32)
            var stream = try Self.scryptStream(passphrase: passphrase, salt: salt, opslimit: Self.maxOpslimit, memlimit: Self.maxMemlimit)
            defer { Sodium.wipe(&stream) }
            for i in 0..<104 { payload[i] ^= stream[i] }
            raw += salt + Self.littleEndian(Self.maxOpslimit) + Self.littleEndian(Self.maxMemlimit)
        } else {
            raw += [UInt8](repeating: 0, count: 48)
        }
        raw.append(contentsOf: payload)
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

    /// BLAKE2b-256 of `"Ed" || key id || secret key`, hashed in place; the state is zeroed after.
    static func checksum(_ keyIDAndSecret: ArraySlice<UInt8>) -> [UInt8] {
        var h = Blake2b(outputLength: 32)
        defer { h.wipe() }
        h.update(Array("Ed".utf8))
        keyIDAndSecret.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    /// `opslimit` and `memlimit` must already be within the sensitive limits.
    private static func scryptStream(passphrase: [UInt8], salt: [UInt8], opslimit: UInt64, memlimit: UInt64) throws(KeyFileError) -> [UInt8] {
        var stream = [UInt8](repeating: 0, count: 104)
        // Shares the passphrase's storage (no copy to wipe); an empty one still needs an address.
        let bytes = passphrase.isEmpty ? [0] : passphrase
        let rc = bytes.withUnsafeBytes { pass in
            crypto_pwhash_scryptsalsa208sha256(
                &stream, 104, pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(passphrase.count), salt, opslimit, Int(memlimit))
        }
        guard rc == 0 else {
            throw KeyFileError(.corrupt("scrypt failed (opslimit \(opslimit), memlimit \(memlimit)): out of memory?"))
        }
        return stream
    }

    private static func littleEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    private static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
