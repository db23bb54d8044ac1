import BundlecastCore
import Foundation
import Testing

/// Key rotation on a real `bundlecast origin` process, with `bundlecast rotate-key`.
@Suite(.serialized) struct KeyRotationTests {
    static func key(_ n: UInt8) -> SecretKey {
        SecretKey.fromSeed([UInt8](repeating: n, count: 32), keyID: KeyID(bytes: [n, 0x42, 0, 0, 0, 0, 0x42, n])!)
    }

    let newKey = key(0x51), third = key(0x52)

    /// Writes `key` as `NAME.key` (unencrypted) and `NAME.pub` under `dir`; returns the `.key` path.
    func writeKey(_ key: SecretKey, _ name: String, in dir: String) throws -> String {
        try write(dir + "/\(name).pub", key.publicKey.fileText)
        try write(dir + "/\(name).key", try key.fileText(passphrase: nil))
        return dir + "/\(name).key"
    }

    func rotation(epoch: UInt64, from old: SecretKey, to new: SecretKey, floor: UInt64 = 0) throws -> [UInt8] {
        let statement = try RotationStatement(app: "hello-fleet", epoch: epoch, oldKeyID: old.keyID, newKey: new.publicKey, floor: floor, created: 1_790_000_000)
        return try SignedRotation.sign(statement, old: old, new: new).bytes
    }

    func summary(_ origin: OriginProcess) async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try await http("GET", origin.base + "/v1/apps/hello-fleet").body) as? [String: Any] ?? [:]
    }

    @Test func keyRotationRevokesOldKeyOnTheOrigin() async throws {
        try await withTemporaryDirectory { dir in
            var origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)"])
            let notices = origin.base + "/v1/apps/hello-fleet/notices"
            #expect(try await http("POST", notices, body: try notice(sequence: 1)).status == 201)
            #expect(try await summary(origin)["epoch"] as? Int == 0)

            // The publisher rotates from the demo key to a new one, through the CLI.
            let newPath = try writeKey(newKey, "new", in: dir)
            let r = try runProgram(bundlecastPath, ["rotate-key", "--old", repoRoot + "/Keys/demo-test-only.key", "--new", newPath,
                                                    "--app", "hello-fleet", "--manifests", dir + "/Manifests", "--origin", origin.base])
            #expect(r.code == 0, "\(r.stderr)")
            #expect(r.stdout.contains("epoch 1"), "\(r.stdout)")
            let statement = try readBytes(dir + "/Manifests/hello-fleet/rotations/1.rotation")
            let verified = try runProgram(bundlecastPath, ["verify", "--pub", demoPub, dir + "/Manifests/hello-fleet/rotations/1.rotation"])
            #expect(verified.code == 0 && verified.stdout.contains("at epoch 1"), "\(verified.stdout)\(verified.stderr)")
            #expect(try await summary(origin)["keyId"] as? String == newKey.keyID.description)
            #expect(try await summary(origin)["epoch"] as? Int == 1)

            // From now on the old key is refused, and says why; the new key goes on with the sequence.
            let old = try await http("POST", notices, body: try notice(sequence: 2))
            #expect(old.status == 403)
            #expect(old.error?.contains("retired") == true, "\(old.error ?? "")")
            #expect(try await http("POST", notices, body: try notice(sequence: 2, key: newKey)).status == 201)

            // The same statement again is harmless; an older one (a replay), a gap, a forgery are refused.
            let rotations = origin.base + "/v1/apps/hello-fleet/rotations"
            #expect(try await http("POST", rotations, body: statement).status == 200)
            let replay = try await http("POST", rotations, body: try rotation(epoch: 1, from: demoKey, to: third))
            #expect(replay.status == 409)
            #expect(replay.error?.contains("replayed") == true)
            #expect(try await http("POST", rotations, body: try rotation(epoch: 3, from: newKey, to: third)).status == 409, "gap")
            #expect(try await http("POST", rotations, body: try rotation(epoch: 2, from: demoKey, to: third)).status == 403, "the retired key hands over")
            var forged = String(decoding: try rotation(epoch: 2, from: newKey, to: third), as: UTF8.self)
            forged = forged.replacingOccurrences(of: "created=1790000000", with: "created=1790000001")
            #expect(try await http("POST", rotations, body: Array(forged.utf8)).status == 401)
            #expect(try await http("POST", rotations, body: Array("garbage\n".utf8)).status == 400)
            #expect(try await http("POST", origin.base + "/v1/apps/nobody/rotations", body: statement).status == 404)
            // The chain, for nodes that catch up.
            let chain = try JSONSerialization.jsonObject(with: try await http("GET", rotations).body) as? [String: Any]
            let items = chain?["rotations"] as? [[String: Any]]
            #expect(items?.count == 1)
            #expect(items?.first?["statement"] as? String == String(decoding: statement, as: UTF8.self))
            let metrics = try await http("GET", origin.base + "/metrics").text
            #expect(metrics.contains("bundlecast_origin_rotations_total{result=\"rotated\"} 1"))
            #expect(metrics.contains("bundlecast_origin_rotations_total{result=\"replay\"} 1"))

            // `release` with the new key continues the app's sequence.
            try FileManager.default.copyItem(atPath: repoRoot + "/Samples", toPath: dir + "/Samples")
            let release = try runProgram(bundlecastPath, ["release", dir + "/Samples/hello-fleet/1.1.0", "--app", "hello-fleet", "--version", "1.1.0",
                                                          "--key", newPath, "--manifests", dir + "/Manifests", "--origin", origin.base])
            #expect(release.code == 0, "\(release.stderr)")
            #expect(release.stdout.contains("announced sequence 3"), "\(release.stdout)")

            // Restarted with the old --trust still in its unit file: the stored key wins, and the log says so.
            #expect(origin.stop() == 0)
            origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)"])
            #expect(origin.log.contains("retired"), "\(origin.log)")
            #expect(try await summary(origin)["keyId"] as? String == newKey.keyID.description)
            let restarted = origin.base + "/v1/apps/hello-fleet/notices"
            #expect(try await http("POST", restarted, body: try notice(sequence: 4)).status == 403)
            #expect(try await http("POST", restarted, body: try notice(sequence: 4, key: newKey)).status == 201)
            // Running rotate-key again sends the same statement: nothing changes.
            let again = try runProgram(bundlecastPath, ["rotate-key", "--old", repoRoot + "/Keys/demo-test-only.key", "--new", newPath,
                                                        "--app", "hello-fleet", "--manifests", dir + "/Manifests", "--origin", origin.base])
            #expect(again.code == 0, "\(again.stderr)")
            #expect(again.stdout.contains("already had"), "\(again.stdout)")
            #expect(try await summary(origin)["epoch"] as? Int == 1)
            origin.stop()
        }
    }

    @Test func aLostKeyIsRecoveredByRepinning() async throws {
        try await withTemporaryDirectory { dir in
            var origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)"])
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/rotations", body: try rotation(epoch: 1, from: demoKey, to: newKey)).status == 201)
            #expect(origin.stop() == 0)
            // The publisher lost the new key: a --trust for a key the chain never saw stops the start...
            _ = try writeKey(third, "third", in: dir)
            do {
                _ = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(dir)/third.pub"])
                Issue.record("the origin started with a key its chain does not know")
            } catch let error as OriginTestError {
                #expect(error.description.contains("--repin hello-fleet"), "\(error)")
            }
            // ...unless the operator re-pins: a new chain at epoch 0.
            origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(dir)/third.pub", "--repin", "hello-fleet"])
            #expect(origin.log.contains("re-pinned"), "\(origin.log)")
            #expect(try await summary(origin)["keyId"] as? String == third.keyID.description)
            #expect(try await summary(origin)["epoch"] as? Int == 0)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1, key: third)).status == 201)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 2, key: newKey)).status == 403)
            // The old chain's statements do not apply to the new one.
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/rotations", body: try rotation(epoch: 1, from: demoKey, to: newKey)).status == 403)
            origin.stop()
        }
    }
}
