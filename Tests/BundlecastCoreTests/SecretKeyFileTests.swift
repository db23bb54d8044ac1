import BundlecastCore
import Testing

/// Crafted secret key files: refused with one clear error, never a trap or a runaway scrypt.
@Suite struct SecretKeyFileTests {
    /// `testKey`'s file, marked as scrypt-encrypted with these limits (nothing is decrypted
    /// before the limits are checked, so the payload need not really be encrypted).
    func crafted(opslimit: UInt64, memlimit: UInt64) throws -> String {
        var lines = try testKey.fileText(passphrase: nil).split(separator: "\n").map(String.init)
        var raw = try #require(Base64.decode(lines[1], length: 158))
        raw.replaceSubrange(2..<4, with: Array("Sc".utf8))
        for i in 0..<8 {
            raw[38 + i] = UInt8(truncatingIfNeeded: opslimit >> (8 * i))
            raw[46 + i] = UInt8(truncatingIfNeeded: memlimit >> (8 * i))
        }
        lines[1] = Base64.encode(raw)
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func aMemlimitAbove2To63IsRefusedNotTrapped() throws {
        // Int(memlimit) trapped on this file once the passphrase was given.
        let text = try crafted(opslimit: 1, memlimit: (1 << 63) + 5)
        let error = try #require(throws: KeyFileError.self) { try SecretKey(fileText: text) { Array("x".utf8) } }
        #expect(error == KeyFileError(.kdfLimitsTooHigh(opslimit: 1, memlimit: (1 << 63) + 5)))
        #expect(!error.description.contains("\n"))
    }

    @Test func limitsAboveLibsodiumsSensitiveOnesAreRefusedBeforeAskingForThePassphrase() throws {
        for (ops, mem) in [(SecretKey.maxOpslimit + 1, SecretKey.maxMemlimit), (SecretKey.maxOpslimit, SecretKey.maxMemlimit + 1),
                           (UInt64.max, UInt64.max)] {
            let text = try crafted(opslimit: ops, memlimit: mem)
            #expect(throws: KeyFileError(.kdfLimitsTooHigh(opslimit: ops, memlimit: mem))) {
                try SecretKey(fileText: text) {
                    Issue.record("asked for a passphrase for a key that is refused anyway")
                    return nil
                }
            }
        }
    }

    @Test func aKeyOutlivesTheValueItWasLoadedInto() throws {
        // The secret is shared by copies and zeroed only when the last one is gone.
        var copies = [try SecretKey(fileText: try testKey.fileText(passphrase: nil)) { nil }]
        let kept = copies[0]
        copies.removeAll()
        #expect(testKey.publicKey.isValidSignature(kept.sign([1, 2, 3]), of: [1, 2, 3]))
    }
}
