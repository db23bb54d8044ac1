import BundlecastCore
import Publisher
import Testing

@Suite struct SignatureTests {
    let golden = repoRoot + "/Manifests/hello-fleet/1.0.0.manifest"

    func demoPublicKey() throws -> PublicKey {
        try PublicKey(fileText: String(decoding: try readBytes(repoRoot + "/Keys/demo-test-only.pub"), as: UTF8.self))
    }

    func demoSecretKey() throws -> SecretKey {
        try SecretKey(fileText: String(decoding: try readBytes(repoRoot + "/Keys/demo-test-only.key"), as: UTF8.self)) { nil }
    }

    @Test func theGoldenNoticeVerifiesAndIsReproducedByteForByte() throws {
        let manifest = try readBytes(golden)
        let sigBytes = try readBytes(golden + ".minisig")
        let notice = try SignedNotice(bytes: sigBytes)
        let parsed = try notice.verify(manifest: manifest, with: try demoPublicKey())
        #expect(parsed.app == "hello-fleet")
        #expect(notice.notice.sequence == 1)
        #expect(notice.bytes == sigBytes)
        // Ed25519 is deterministic: signing the same notice again gives the same bytes.
        let again = try SignedNotice(notice: notice.notice, manifestBytes: manifest, key: try demoSecretKey())
        #expect(again.bytes == sigBytes)
    }

    @Test func tamperingWithAnyByteFails() throws {
        let manifest = try readBytes(golden)
        let sigBytes = try readBytes(golden + ".minisig")
        let key = try demoPublicKey()
        // One byte of the manifest.
        var m = manifest
        m[m.count / 2] ^= 0x01
        #expect(throws: SignatureError(.badSignature)) { try SignedNotice(bytes: sigBytes).verify(manifest: m, with: key) }
        // One byte of the trusted comment (a digit of the sequence).
        let text = String(decoding: sigBytes, as: UTF8.self)
        let forged = Array(text.replacingOccurrences(of: "sequence=1 ", with: "sequence=9 ").utf8)
        #expect(throws: SignatureError(.badCommentSignature)) { try SignedNotice(bytes: forged).verify(manifest: manifest, with: key) }
        // One byte of the signature, and of the global signature: flip a bit in each decoded value.
        let sig = try MinisignSignature(bytes: sigBytes)
        var lines = text.split(separator: "\n").map(String.init)
        var raw = Base64.decode(lines[1], length: 74)!
        raw[40] ^= 0x04
        lines[1] = Base64.encode(raw)
        #expect(throws: SignatureError(.badSignature)) {
            try SignedNotice(bytes: Array((lines.joined(separator: "\n") + "\n").utf8)).verify(manifest: manifest, with: key)
        }
        var global = sig.globalSignature
        global[0] ^= 0x80
        lines = text.split(separator: "\n").map(String.init)
        lines[3] = Base64.encode(global)
        #expect(throws: SignatureError(.badCommentSignature)) {
            try SignedNotice(bytes: Array((lines.joined(separator: "\n") + "\n").utf8)).verify(manifest: manifest, with: key)
        }
    }

    @Test func anotherKeyIsRefused() throws {
        let sigBytes = try readBytes(golden + ".minisig")
        #expect(throws: SignatureError.self) { try SignedNotice(bytes: sigBytes).verify(with: testKey.publicKey) }
    }

    @Test func aNoticeForAnotherManifestIsRefused() throws {
        // Mix and match: 1.1.0's notice over 1.0.0's manifest.
        let manifest = try readBytes(golden)
        let other = try readBytes(repoRoot + "/Manifests/hello-fleet/1.1.0.manifest.minisig")
        #expect(throws: SignatureError(.badSignature)) { try SignedNotice(bytes: other).verify(manifest: manifest, with: try demoPublicKey()) }
        // Signed over the right manifest but naming another digest.
        let bad = try Notice(kind: .release, app: "hello-fleet", version: SemanticVersion("1.0.0"), sequence: 5, channel: "stable",
                             manifest: Blake2b.digest256([1]), size: 1, rollout: 100, created: 1, expires: 2)
        let signed = try SignedNotice(notice: bad, manifestBytes: manifest, key: try demoSecretKey())
        #expect(throws: NoticeError.self) { try signed.verify(manifest: manifest, with: try demoPublicKey()) }
    }

    @Test(arguments: [
        "untrusted comment: x\nRUQ=\ntrusted comment: y\nAAAA\n",
        "no prefix\n",
        "",
    ])
    func malformedSignatureFilesAreRefused(_ text: String) {
        #expect(throws: SignatureError.self) { try MinisignSignature(bytes: Array(text.utf8)) }
    }

    @Test func layoutIsStrict() throws {
        let text = String(decoding: try readBytes(golden + ".minisig"), as: UTF8.self)
        for bad in [text.replacingOccurrences(of: "\n", with: "\r\n"), String(text.dropLast()), text + "\n", text + "extra\n"] {
            #expect(throws: SignatureError.self) { try MinisignSignature(bytes: Array(bad.utf8)) }
        }
    }

    @Test func legacySignaturesAreRefused() throws {
        let sig = try MinisignSignature(bytes: try readBytes(golden + ".minisig"))
        var lines = sig.text.split(separator: "\n").map(String.init)
        var raw = Base64.decode(lines[1], length: 74)!
        raw[1] = UInt8(ascii: "d")
        lines[1] = Base64.encode(raw)
        #expect(throws: SignatureError(.legacyAlgorithm)) { try MinisignSignature(bytes: Array((lines.joined(separator: "\n") + "\n").utf8)) }
    }

    @Test func unencryptedKeyFilesRoundTrip() throws {
        let key = SecretKey.generate()
        let loaded = try SecretKey(fileText: try key.fileText(passphrase: nil)) { nil }
        #expect(loaded.publicKey == key.publicKey)
        #expect(try PublicKey(fileText: key.publicKey.fileText) == key.publicKey)
    }

    @Test func encryptedKeyFilesNeedTheRightPassphrase() throws {
        // One scrypt run at minisign's "sensitive" limits (1 GiB): slow by design, so only here.
        let key = SecretKey.generate()
        let text = try key.fileText(passphrase: Array("correct horse".utf8))
        #expect(try SecretKey.isEncrypted(fileText: text))
        #expect(throws: KeyFileError(.passphraseRequired)) { try SecretKey(fileText: text) { nil } }
        #expect(throws: KeyFileError(.wrongPassphrase)) { try SecretKey(fileText: text) { Array("wrong".utf8) } }
    }

    @Test func keyIDsPrintLikeMinisign() throws {
        // minisign prints %016X of the little-endian u64.
        #expect(KeyID(bytes: [0x12, 0xDE, 0x34, 0x85, 0x56, 0xB2, 0xA3, 0xCD])!.description == "CDA3B2568534DE12")
        #expect(KeyID(bytes: [1, 0, 0, 0, 0, 0, 0, 0])!.description == "0000000000000001")
    }

    @Test func aCorruptKeyFileIsRefused() throws {
        var lines = try testKey.fileText(passphrase: nil).split(separator: "\n").map(String.init)
        var raw = Base64.decode(lines[1], length: 158)!
        raw[100] ^= 1  // inside the secret key's public half
        lines[1] = Base64.encode(raw)
        #expect(throws: KeyFileError.self) { try SecretKey(fileText: lines.joined(separator: "\n")) { nil } }
    }
}
