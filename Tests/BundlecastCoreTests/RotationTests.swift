import Foundation
import BundlecastCore
import Testing

/// The rotation statement format and the rule every origin and node applies to it.
@Suite struct RotationTests {
    static func key(_ n: UInt8) -> SecretKey {
        SecretKey.fromSeed([UInt8](repeating: n, count: 32), keyID: KeyID(bytes: [n, n, n, n, 0xA0, 0xB0, 0xC0, n])!)
    }

    let a = key(1), b = key(2), c = key(3), stranger = key(4)

    func rotation(app: String = "acme", epoch: UInt64, from old: SecretKey, to new: SecretKey, floor: UInt64 = 0) throws -> SignedRotation {
        let statement = try RotationStatement(app: app, epoch: epoch, oldKeyID: old.keyID, newKey: new.publicKey, floor: floor, created: 1_790_000_000)
        return try SignedRotation.sign(statement, old: old, new: new)
    }

    func pinned(_ key: SecretKey, _ epoch: UInt64) -> PinnedKey { PinnedKey(key: key.publicKey, epoch: epoch) }

    @Test func rotationStatementRoundTrip() throws {
        let signed = try rotation(epoch: 1, from: a, to: b)
        let text = signed.text
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "bundlecast=1 kind=rotate app=acme epoch=1 old=\(a.keyID) new=\(b.keyID) newkey=\(b.publicKey.base64) floor=0 created=1790000000")
        #expect(lines[1].hasPrefix("old-key-signature \(a.keyID) "))
        #expect(lines[2].hasPrefix("new-key-signature \(b.keyID) "))
        let parsed = try SignedRotation(bytes: signed.bytes)
        #expect(parsed == signed)
        #expect(parsed.bytes == signed.bytes)
        #expect(SignedRotation.looksLike(signed.bytes))
        // With the longest app name it still fits one gossip datagram (1400 bytes, less headers and the fleet key's tag).
        let long = try rotation(app: String(repeating: "x", count: 64), epoch: UInt64(Int64.max), from: a, to: b)
        #expect(long.bytes.count < 600)
        #expect(try SignedRotation(bytes: long.bytes) == long)
        // Ed25519 is deterministic: the same statement and keys give the same bytes.
        #expect(try rotation(epoch: 1, from: a, to: b).bytes == signed.bytes)
        #expect(KeyID(text: a.keyID.description) == a.keyID)
        #expect(KeyID(text: a.keyID.description.lowercased()) == nil)
    }

    @Test(arguments: [
        ("extra pair", { @Sendable (s: String) in s.replacingOccurrences(of: " created=", with: " x=1 created=") }),
        ("missing pair", { s in s.replacingOccurrences(of: " epoch=1", with: "") }),
        ("wrong order", { s in s.replacingOccurrences(of: "app=acme epoch=1", with: "epoch=1 app=acme") }),
        ("double space", { s in s.replacingOccurrences(of: " epoch", with: "  epoch") }),
        ("leading zero", { s in s.replacingOccurrences(of: "epoch=1 ", with: "epoch=01 ") }),
        ("epoch 0", { s in s.replacingOccurrences(of: "epoch=1 ", with: "epoch=0 ") }),
        ("kind release", { s in s.replacingOccurrences(of: "kind=rotate", with: "kind=release") }),
        ("format 2", { s in s.replacingOccurrences(of: "bundlecast=1", with: "bundlecast=2") }),
        ("lower-case key id", { s in s.replacingOccurrences(of: "old=01C0B0A0", with: "old=01c0b0a0") }),
        ("bad app", { s in s.replacingOccurrences(of: "app=acme", with: "app=-acme") }),
        ("CRLF", { s in s.replacingOccurrences(of: "\n", with: "\r\n") }),
        ("no final line feed", { s in String(s.dropLast()) }),
        ("trailing blank line", { s in s + "\n" }),
        ("signature lines swapped", { s in
            let l = s.split(separator: "\n")
            return [l[0], l[2], l[1]].joined(separator: "\n") + "\n"
        }),
        ("signature without key id", { s in s.replacingOccurrences(of: "old-key-signature 0", with: "old-key-signature  0") }),
        ("co-signature missing", { s in s.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n" }),
        ("third signature", { s in s + s.split(separator: "\n")[2] + "\n" }),
        ("too large", { s in s + String(repeating: "x", count: 1024) }),
    ] as [(String, @Sendable (String) -> String)])
    func nonCanonicalRotationIsRefused(_ name: String, _ edit: @Sendable (String) -> String) throws {
        let text = try rotation(epoch: 1, from: a, to: b).text
        let edited = edit(text)
        #expect(edited != text, "case \(name) did not change the text")
        #expect(throws: RotationFormatError.self, "case \(name)") { try SignedRotation(bytes: Array(edited.utf8)) }
        #expect(pinned(a, 0).evaluate(Array(edited.utf8), app: "acme").refusal == "malformed", "case \(name)")
    }

    @Test func theNewKeyMustDifferAndMatchItsID() throws {
        #expect(throws: RotationFormatError.self) {
            try RotationStatement(app: "acme", epoch: 1, oldKeyID: a.keyID, newKey: a.publicKey, floor: 0, created: 1)
        }
        // newkey carrying another id than new=.
        let text = try rotation(epoch: 1, from: a, to: b).text.replacingOccurrences(of: "new=\(b.keyID)", with: "new=\(c.keyID)")
        #expect(throws: RotationFormatError.self) { try SignedRotation(bytes: Array(text.utf8)) }
        // Signing with keys other than those named.
        let statement = try RotationStatement(app: "acme", epoch: 1, oldKeyID: a.keyID, newKey: b.publicKey, floor: 0, created: 1)
        #expect(throws: RotationFormatError.self) { try SignedRotation.sign(statement, old: c, new: b) }
        #expect(throws: RotationFormatError.self) { try SignedRotation.sign(statement, old: a, new: c) }
    }

    @Test func aValidRotationMovesTheKeyOnByOneEpoch() throws {
        let first = try rotation(epoch: 1, from: a, to: b)
        #expect(pinned(a, 0).evaluate(first, app: "acme") == .rotated(pinned(b, 1)))
        let second = try rotation(epoch: 2, from: b, to: c)
        #expect(pinned(b, 1).evaluate(second, app: "acme") == .rotated(pinned(c, 2)))
        #expect(pinned(b, 1).evaluate(second.bytes, app: "acme") == .rotated(pinned(c, 2)))
        // A key may come back later in the chain, under a new epoch.
        #expect(pinned(c, 2).evaluate(try rotation(epoch: 3, from: c, to: a), app: "acme") == .rotated(pinned(a, 3)))
    }

    @Test func tamperedRotationIsRefused() throws {
        let signed = try rotation(epoch: 1, from: a, to: b)
        // The statement changed after signing: neither signature covers it.
        let text = signed.text.replacingOccurrences(of: "created=1790000000", with: "created=1790000001")
        #expect(pinned(a, 0).evaluate(Array(text.utf8), app: "acme").refusal == "bad_signature")
        // A bit flipped in either signature.
        for line in [1, 2] {
            var lines = signed.text.split(separator: "\n").map(String.init)
            var parts = lines[line].split(separator: " ").map(String.init)
            var raw = Base64.decode(parts[2], length: 64)!
            raw[10] ^= 0x01
            parts[2] = Base64.encode(raw)
            lines[line] = parts.joined(separator: " ")
            let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
            #expect(pinned(a, 0).evaluate(bytes, app: "acme").refusal == "bad_signature", "line \(line + 1)")
        }
    }

    @Test func missingOrWrongCoSignatureIsRefused() throws {
        let good = try rotation(epoch: 1, from: a, to: b)
        // The old key signed, but someone else "co-signed" for the new key: the new key never agreed.
        let statement = good.statement
        let forged = try SignedRotation.sign(
            try RotationStatement(app: "acme", epoch: 1, oldKeyID: a.keyID, newKey: stranger.publicKey, floor: 0, created: statement.created),
            old: a, new: stranger)
        var lines = good.text.split(separator: "\n").map(String.init)
        let strangerSignature = forged.text.split(separator: "\n")[2].split(separator: " ")[2]
        lines[2] = "new-key-signature \(b.keyID) \(strangerSignature)"
        #expect(pinned(a, 0).evaluate(Array((lines.joined(separator: "\n") + "\n").utf8), app: "acme").refusal == "bad_signature")
        // The old key's signature copied into the co-signature line.
        lines[2] = "new-key-signature \(b.keyID) " + good.text.split(separator: "\n")[1].split(separator: " ")[2]
        #expect(pinned(a, 0).evaluate(Array((lines.joined(separator: "\n") + "\n").utf8), app: "acme").refusal == "bad_signature")
        // No co-signature at all.
        let two = good.text.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n"
        #expect(pinned(a, 0).evaluate(Array(two.utf8), app: "acme").refusal == "malformed")
    }

    @Test func wrongOldKeyIsRefused() throws {
        // A stranger hands "its" key over to itself-controlled key b: it was never the pinned key.
        let hijack = try rotation(epoch: 1, from: stranger, to: b)
        #expect(pinned(a, 0).evaluate(hijack, app: "acme").refusal == "wrong_old_key")
        // Bytes equal to the pinned key under a fresh id.
        let clone = PublicKey(keyID: KeyID(bytes: [9, 9, 9, 9, 9, 9, 9, 9])!, key: a.publicKey.key)
        let statement = try RotationStatement(app: "acme", epoch: 1, oldKeyID: a.keyID, newKey: clone, floor: 0, created: 1)
        let digest = Blake2b.digest512(Array(statement.description.utf8))
        let text = statement.description + "\nold-key-signature \(a.keyID) \(Base64.encode(a.sign(digest)))\n"
            + "new-key-signature \(clone.keyID) \(Base64.encode(a.sign(digest)))\n"
        #expect(pinned(a, 0).evaluate(Array(text.utf8), app: "acme").refusal == "same_key")
        // Another app's statement.
        #expect(pinned(a, 0).evaluate(try rotation(app: "beta", epoch: 1, from: a, to: b), app: "acme").refusal == "wrong_app")
    }

    @Test func replayOfAnOlderEpochIsRefused() throws {
        let first = try rotation(epoch: 1, from: a, to: b)
        let second = try rotation(epoch: 2, from: b, to: c)
        let now = pinned(c, 2)
        #expect(now.evaluate(first, app: "acme").refusal == "replay")
        #expect(now.evaluate(second, app: "acme") == .known, "the statement that brought the key is not a replay")
        // A rotation signed with the retired key b, for the current epoch: a replay, whoever holds b now.
        #expect(now.evaluate(try rotation(epoch: 2, from: b, to: stranger), app: "acme").refusal == "replay")
        #expect(now.evaluate(try rotation(epoch: 1, from: a, to: stranger), app: "acme").refusal == "replay")
    }

    @Test func epochGapIsRefused() throws {
        #expect(pinned(a, 1).evaluate(try rotation(epoch: 3, from: a, to: b), app: "acme").refusal == "gap")
        #expect(pinned(b, 1).evaluate(try rotation(epoch: 5, from: b, to: c), app: "acme").refusal == "gap")
    }

    @Test func aKeyPinnedOutOfBandFollowsItsFirstRotationAtItsEpoch() throws {
        // A machine set up later with --trust b (epoch 0, its place unknown): the statement that
        // brought b is known, and b's own rotation lands at its epoch; from there, one at a time.
        let first = try rotation(epoch: 1, from: a, to: b)
        #expect(pinned(b, 0).evaluate(first, app: "acme") == .known)
        #expect(pinned(b, 0).evaluate(try rotation(epoch: 2, from: b, to: c), app: "acme") == .rotated(pinned(c, 2)))
        #expect(pinned(c, 2).evaluate(try rotation(epoch: 4, from: c, to: a), app: "acme").refusal == "gap")
        // The statement that brought the key needs the key's own signature.
        var lines = first.text.split(separator: "\n").map(String.init)
        lines[2] = "new-key-signature \(b.keyID) " + lines[1].split(separator: " ")[2]
        #expect(pinned(b, 0).evaluate(Array((lines.joined(separator: "\n") + "\n").utf8), app: "acme").refusal == "bad_signature")
    }

    @Test func aStatementSignedByAStolenPinnedKeyAloneCannotJumpTheEpoch() throws {
        // A thief holding b signs "b is at epoch 2^63-1" (b co-signs as the new key; the old-key
        // signature is anything). The epoch stays, and the publisher's rotation away from b goes through.
        let top = try RotationStatement(app: "acme", epoch: RotationStatement.maxEpoch, oldKeyID: stranger.keyID, newKey: b.publicKey,
                                        floor: 0, created: 1)
        let anchor = try SignedRotation.sign(top, old: stranger, new: b)
        #expect(pinned(b, 1).evaluate(anchor, app: "acme") == .known)
        #expect(pinned(b, 1).evaluate(try rotation(epoch: 2, from: b, to: c), app: "acme") == .rotated(pinned(c, 2)))
    }

    @Test func theFloorIsPartOfTheSignedStatementAndBounded() throws {
        let signed = try rotation(epoch: 1, from: a, to: b, floor: 41)
        #expect(signed.statement.floor == 41)
        #expect(try SignedRotation(bytes: signed.bytes).statement.floor == 41)
        #expect(throws: RotationFormatError.self) {
            try RotationStatement(app: "acme", epoch: 1, oldKeyID: a.keyID, newKey: b.publicKey, floor: RotationStatement.maxFloor + 1, created: 1)
        }
        // Changing the floor breaks both signatures.
        let forged = String(decoding: signed.bytes, as: UTF8.self).replacingOccurrences(of: "floor=41", with: "floor=99")
        #expect(pinned(a, 0).evaluate(Array(forged.utf8), app: "acme").refusal == "bad_signature")
        // Past 2^64 or not canonical: not a statement.
        for bad in ["floor=18446744073709551616", "floor=041", "floor=-1"] {
            let text = String(decoding: signed.bytes, as: UTF8.self).replacingOccurrences(of: "floor=41", with: bad)
            #expect(pinned(a, 0).evaluate(Array(text.utf8), app: "acme").refusal == "malformed")
        }
    }
}

extension RotationVerdict {
    /// The refusal's label, or what else the verdict was.
    var refusal: String {
        switch self {
        case .rotated: return "rotated"
        case .known: return "known"
        case .refused(let r): return r.reason
        }
    }
}

/// One mapping from a refused statement to the HTTP status, for the origin and the node alike.
@Suite struct RotationRefusalStatusTests {
    static let k1 = KeyID(bytes: [1, 0, 0, 0, 0, 0, 0, 0])!
    static let k2 = KeyID(bytes: [2, 0, 0, 0, 0, 0, 0, 0])!

    @Test(arguments: [
        (RotationRefusal.malformed("x"), 400),
        (.replay(epoch: 1, current: 2), 409),
        (.gap(epoch: 5, current: 2), 409),
        (.badSignature("x"), 401),
        (.untrustedApp("a"), 403),
        (.wrongApp(statement: "a", expected: "b"), 403),
        (.wrongOldKey(old: k1, pinned: k2), 403),
        (.sameKey, 403),
    ])
    func eachRefusalHasOneStatus(_ refusal: RotationRefusal, _ status: Int) {
        #expect(refusal.httpStatusCode == status)
    }
}
