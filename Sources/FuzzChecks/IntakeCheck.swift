import BundlecastCore

/// ``FuzzCheck/intake``: the fuzzer's bytes become a run of signed things arriving at a node
/// that pins a publisher key for app `app`: rotation statements (epoch, app, old and new key,
/// who really signed each half, and an optional byte flipped on the way) evaluated by
/// ``PinnedKey/evaluate(_:app:)`` and, when accepted, moving the pinned key on as the node does;
/// notices (fields, signer, the manifest signed, a flipped byte) parsed and verified against the
/// key pinned now; and raw slices of the input parsed as either.
///
/// The node's key bookkeeping (`PublisherKeys`, the sequence floor in the store) lives in the
/// `Node` module, which pulls in NIO, Hummingbird and GRDB; the fuzz package does not link it.
/// This drives the pure parts the intake is made of, in `BundlecastCore`.
///
/// The harness holds the secret keys, so it knows which signatures are genuine and for which
/// key. Properties:
/// - nothing traps; whatever parses is canonical (its bytes are the input);
/// - a rotation's verdict is the one the rotation table (``PinnedKey``) gives for what was really
///   signed: `rotated` only from the pinned epoch to the next (or, from epoch 0, to any), handed
///   over by the holder of the pinned key and accepted by the holder of the new one; `known` only
///   with the pinned key's own signature; every flipped byte that changes what was signed is refused;
/// - a raw statement never rotates to a key no one in the run holds (that would be a forgery);
/// - the pinned epoch never goes down;
/// - a notice verifies against the pinned key exactly when it is genuine and its signer holds the
///   pinned key under the pinned key id, and with its manifest exactly when, besides, the manifest
///   parses and is the one it names (digest, app, version, size).
enum IntakeCheck {
    static let maxSteps = 64
    static let app = "app"

    /// Four publisher keys and a fifth with key 0's secret under another id (a "same key" rotation).
    static let keys: [SecretKey] = (0..<5).map { i in
        SecretKey.fromSeed([UInt8](repeating: UInt8(i % 4 + 1), count: 32), keyID: KeyID(bytes: [UInt8(i + 1), 0, 0, 0, 0, 0, 0, 0x42])!)
    }
    static let manifests: [[UInt8]] = {
        let chunk = ChunkRef(digest: Blake2b.digest256(Array("hello".utf8)), size: 5)
        return ["1.0.0", "2.0.0-rc.1"].map { version in
            try! Manifest(app: app, version: try! SemanticVersion(version),
                          entries: [.file(path: "bin/run", executable: true, chunks: [chunk])]).encoded()
        }
    }()

    static func run(_ bytes: [UInt8]) -> FuzzCheck.Outcome {
        var input = FuzzInput(bytes)
        var chain = Chain()
        var steps = 0
        while !input.isEmpty, steps < maxSteps {
            steps += 1
            let failure: String?
            switch input.byte() % 4 {
            case 0, 1: failure = chain.rotation(&input)
            case 2: failure = chain.notice(&input)
            default: failure = chain.raw(&input)
            }
            if let failure { return FuzzCheck.Outcome(decoded: true, failure: "step \(steps): \(failure)") }
        }
        return FuzzCheck.Outcome(decoded: chain.parsed)
    }

    /// Flips one byte of `bytes` when the input asks for it.
    static func tamper(_ bytes: [UInt8], _ input: inout FuzzInput) -> [UInt8] {
        let mask = input.byte()
        let at = Int(input.u16())
        guard mask != 0, !bytes.isEmpty else { return bytes }
        var out = bytes
        out[at % out.count] ^= mask
        return out
    }

    /// The key pinned for `app`, as the node keeps it.
    struct Chain {
        var pinned = PinnedKey(key: IntakeCheck.keys[0].publicKey, epoch: 0)
        /// Whether anything parsed in the run.
        var parsed = false

        mutating func rotation(_ input: inout FuzzInput) -> String? {
            let keys = IntakeCheck.keys
            let shape = input.byte()
            let epoch: UInt64
            switch shape % 8 {
            case 0, 1, 2: epoch = pinned.epoch &+ 1
            case 3: epoch = pinned.epoch
            case 4: epoch = pinned.epoch &+ 2
            case 5: epoch = UInt64(input.byte())
            case 6: epoch = RotationStatement.maxEpoch &+ UInt64(input.byte() % 3) &- 1
            default: epoch = input.u64()
            }
            let statementApp = shape & 0x80 != 0 ? "other" : IntakeCheck.app
            let old = input.below(keys.count), new = input.below(keys.count)
            let oldSigner = input.below(keys.count + 1), newSigner = input.below(keys.count + 1)
            let floor = UInt64(input.byte())
            guard let statement = try? RotationStatement(app: statementApp, epoch: epoch, oldKeyID: keys[old].keyID,
                                                         newKey: keys[new].publicKey, floor: floor, created: UInt64(input.u32())) else { return nil }
            let digest = Blake2b.digest512(Array(statement.description.utf8))
            func signature(_ signer: Int) -> [UInt8] { signer < keys.count ? keys[signer].sign(digest) : [UInt8](repeating: 0, count: 64) }
            let oldSignature = signature(oldSigner), newSignature = signature(newSigner)
            let genuine = statement.description + "\n"
                + "old-key-signature \(statement.oldKeyID) \(Base64.encode(oldSignature))\n"
                + "new-key-signature \(statement.newKeyID) \(Base64.encode(newSignature))\n"
            let bytes = IntakeCheck.tamper(Array(genuine.utf8), &input)

            let parsed = try? SignedRotation(bytes: bytes)
            if let parsed {
                self.parsed = true
                if parsed.bytes != bytes { return "a rotation statement that is not canonical parsed" }
            }
            let verdict = pinned.evaluate(bytes, app: IntakeCheck.app)
            // What was really signed: a signature counts only if it is the harness's, over this statement.
            let expected: Expected
            if let parsed {
                let same = parsed.statement == statement
                let oldHolds = oldSigner < keys.count && keys[oldSigner].publicKey.key == pinned.key.key
                let newHolds = newSigner < keys.count && keys[newSigner].publicKey.key == parsed.statement.newKey.key
                expected = expect(parsed.statement,
                                  oldSigned: same && parsed.oldSignature == oldSignature && oldHolds,
                                  newSigned: same && parsed.newSignature == newSignature && newHolds)
            } else {
                expected = .refused
            }
            if let failure = apply(verdict, expected: expected, statement: parsed?.statement) { return "\(failure) (\(String(decoding: bytes, as: UTF8.self)))" }
            return nil
        }

        enum Expected: Equatable {
            case rotated(PinnedKey), known, refused
        }

        /// The rotation table of ``PinnedKey``, from what the harness knows was signed.
        func expect(_ s: RotationStatement, oldSigned: Bool, newSigned: Bool) -> Expected {
            guard s.app == IntakeCheck.app else { return .refused }
            if s.newKey == pinned.key { return newSigned ? .known : .refused }
            guard s.epoch > pinned.epoch, s.epoch == pinned.epoch + 1 || pinned.epoch == 0, s.oldKeyID == pinned.key.keyID,
                  s.newKey.key != pinned.key.key, oldSigned, newSigned else { return .refused }
            return .rotated(PinnedKey(key: s.newKey, epoch: s.epoch))
        }

        /// Checks a verdict against what was expected (nil: anything but a forgery) and moves the key on.
        mutating func apply(_ verdict: RotationVerdict, expected: Expected?, statement: RotationStatement?) -> String? {
            let got: Expected
            switch verdict {
            case .rotated(let next): got = .rotated(next)
            case .known: got = .known
            case .refused: got = .refused
            }
            if let expected, got != expected { return "verdict \(verdict), expected \(expected) for pinned \(pinned)" }
            switch verdict {
            case .rotated(let next):
                guard IntakeCheck.keys.contains(where: { $0.publicKey == next.key }) else {
                    return "pinned \(next.key.keyID), a key no one in the run holds: a forged rotation"
                }
                guard next.epoch > pinned.epoch else { return "the pinned epoch went from \(pinned.epoch) to \(next.epoch)" }
                pinned = next
            case .known, .refused:
                break
            }
            return nil
        }

        mutating func notice(_ input: inout FuzzInput) -> String? {
            let keys = IntakeCheck.keys
            let shape = input.byte()
            let manifestBytes = shape & 3 < 2 ? IntakeCheck.manifests[Int(shape & 1)] : input.bytes(input.below(32))
            let manifest = try? ManifestCoder.decode(manifestBytes)
            let digest = shape & 4 == 0 ? Blake2b.digest256(manifestBytes) : Blake2b.digest256([shape])
            let size = shape & 8 == 0 ? (manifest?.totalSize ?? 5) : UInt64(input.u32())
            let sequence = shape & 16 == 0 ? UInt64(input.byte()) : input.u64()
            let created = UInt64(input.u32())
            guard let version = try? SemanticVersion(input.pick(["1.0.0", "2.0.0-rc.1", "1.0.0+build.7", "1.0.0-x.y"])),
                  let notice = try? Notice(kind: shape & 32 == 0 ? .release : .withdraw, app: input.pick([IntakeCheck.app, "other", "a.b"]),
                                           version: version, sequence: sequence, channel: input.pick(["stable", "beta"]),
                                           manifest: digest, size: size, rollout: input.byte() % 128, created: created,
                                           expires: shape & 64 == 0 ? created + 1 + UInt64(input.u16()) : created)
            else { return nil }
            let signer = input.below(keys.count)
            guard let signed = try? SignedNotice(notice: notice, manifestBytes: manifestBytes, key: keys[signer]) else {
                return "a valid notice could not be signed: \(notice)"
            }
            let bytes = IntakeCheck.tamper(signed.bytes, &input)
            guard let got = try? SignedNotice(bytes: bytes) else { return nil }
            parsed = true
            if got.bytes != bytes { return "a notice that is not canonical parsed" }
            // The untrusted comment is not signed: a flip there leaves the notice genuine.
            var unsigned = got.signature
            unsigned.untrustedComment = signed.signature.untrustedComment
            let genuine = unsigned == signed.signature && got.notice == notice
            let holds = keys[signer].keyID == pinned.key.keyID && keys[signer].publicKey.key == pinned.key.key
            let verified = (try? got.verify(with: pinned.key)) != nil
            if verified != (genuine && holds) {
                return "notice verified: \(verified), genuine: \(genuine), signed with the pinned key: \(holds), pinned \(pinned)"
            }
            let withManifest = (try? got.verify(manifest: manifestBytes, with: pinned.key)) != nil
            let matches = manifest.map { $0.digest == notice.manifest && $0.app == notice.app && $0.version == notice.version && $0.totalSize == notice.size } ?? false
            if withManifest != (genuine && holds && matches) {
                return "notice verified with its manifest: \(withManifest), genuine: \(genuine), pinned key: \(holds), manifest matches: \(matches)"
            }
            return nil
        }

        mutating func raw(_ input: inout FuzzInput) -> String? {
            let bytes = input.bytes(Int(input.u16()) % 2048)
            if let notice = try? SignedNotice(bytes: bytes) {
                parsed = true
                if notice.bytes != bytes { return "a notice that is not canonical parsed" }
                _ = try? notice.verify(with: pinned.key)
            }
            if let rotation = try? SignedRotation(bytes: bytes) {
                parsed = true
                if rotation.bytes != bytes { return "a rotation statement that is not canonical parsed" }
            }
            return apply(pinned.evaluate(bytes, app: IntakeCheck.app), expected: nil, statement: nil)
        }
    }
}
