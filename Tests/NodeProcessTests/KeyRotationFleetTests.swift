import BundlecastCore
import Foundation
import Node
import Testing
import TestSupport

/// A publisher key rotation through a fleet of real `bundlecast node` processes.
@Suite(.serialized) struct KeyRotationFleetTests {
    let newKey = SecretKey.fromSeed([UInt8](repeating: 0x61, count: 32), keyID: KeyID(bytes: [0x61, 0, 0x61, 0, 0x61, 0, 0x61, 0])!)

    func pinned(_ node: NodeProcess) async throws -> (keyId: String?, epoch: UInt64?) {
        let app = try await node.status().apps.first { $0.app == "hello-fleet" }
        return (app?.keyId, app?.keyEpoch)
    }

    func rolloutNotice(_ version: String, sequence: UInt64, key: SecretKey, manifests: String) throws -> [UInt8] {
        let bytes = try readBytes(manifests + "/hello-fleet/\(version).manifest")
        let m = try ManifestCoder.decode(bytes)
        let n = try Notice(kind: .release, app: "hello-fleet", version: m.version, sequence: sequence, channel: "stable",
                           manifest: Blake2b.digest256(bytes), size: m.totalSize, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
        return try SignedNotice(notice: n, manifestBytes: bytes, key: key).bytes
    }

    @Test func keyRotationRevokesOldKey() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 4)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)

            // The publisher rotates to a new key and gives the statement to one node: gossip takes it to all.
            try write(dir + "/new.key", try newKey.fileText(passphrase: nil))
            let rotate = try runBundlecast(["rotate-key", "--old", repoRoot + "/Keys/demo-test-only.key", "--new", dir + "/new.key",
                                            "--app", "hello-fleet", "--manifests", fleet.manifests, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(rotate.code == 0, "\(rotate.err)")
            let newID = newKey.keyID.description
            for node in [fleet.seed] + fleet.nodes {
                try await eventually(within: 20, "node \(node.adminPort) pins the new key") {
                    try await pinned(node) == (newID, 1)
                }
            }
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(fleet.nodes[0].adminPort)"])
            #expect(report.out.contains("key \(newID) (epoch 1)"), "\(report.out)")

            // A notice signed by the old key is refused, wherever it comes in, and reaches no one.
            let old = try rolloutNotice("1.0.0", sequence: 2, key: demoKey, manifests: fleet.manifests)
            #expect(try await post(fleet.nodes[1].admin + "/v1/notices", old) == 403)
            #expect(try await fleet.nodes[1].status().refusedNotices["retired_key"] == 1)
            // Replaying the statement is no news; an older epoch would be refused (see RotationTests).
            let statement = try readBytes(fleet.manifests + "/hello-fleet/rotations/1.rotation")
            #expect(try await post(fleet.nodes[2].admin + "/v1/rotations", statement) == 200)

            // A release signed by the new key installs everywhere; the sequence goes on from 1 to 2.
            let release = try runBundlecast(["release", repoRoot + "/Samples/hello-fleet/1.1.0", "--app", "hello-fleet", "--version", "1.1.0",
                                             "--key", dir + "/new.key", "--manifests", fleet.manifests, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(release.code == 0, "\(release.err)")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)
            for node in fleet.nodes { #expect(try await node.sequence("hello-fleet") == 2) }

            // Restarted with the old --trust (NodeProcess always passes the demo key): the stored key wins.
            fleet.nodes[3].kill9()
            let restarted = try NodeProcess(directory: dir, name: "n3", join: fleet.seed.gossipPort)
            fleet.nodes[3] = restarted
            #expect(try await pinned(restarted) == (newID, 1))
            let log = (try? String(contentsOfFile: restarted.data + "/node.log", encoding: .utf8)) ?? ""
            #expect(log.contains("retired"), "the log says the stored key wins")
            #expect(try await post(restarted.admin + "/v1/notices", try rolloutNotice("1.1.0", sequence: 3, key: demoKey, manifests: fleet.manifests)) == 403)

            // A node that joins after the rotation, pinning the old key and without an origin, gets the
            // statement from the members ahead of it, then follows notices signed by the new key.
            let late = try NodeProcess(directory: dir, name: "late", join: fleet.seed.gossipPort)
            fleet.nodes.append(late)
            try await eventually(within: 30, "the late node learns the rotation from its peers") {
                try await pinned(late) == (newID, 1)
            }
            let ramp = try rolloutNotice("1.1.0", sequence: 3, key: newKey, manifests: fleet.manifests)
            #expect(try await post(fleet.seed.admin + "/v1/notices", ramp) == 201)
            try await fleet.waitInstalled("1.1.0", on: [late])
            try expectSameTree(repoRoot + "/Samples/hello-fleet/1.1.0", late.data + "/apps/hello-fleet/current")
        }
    }

    @Test func aNodeCatchesUpOnRotationsFromTheOrigin() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            let base = origin.base
            let a = try NodeProcess(directory: dir, name: "a", extra: ["--origin", base])
            #expect(try await post(base + "/v1/apps/hello-fleet/notices", try signedNotice(sequence: 1, version: "1.0.1")) == 201)
            try await eventually(within: 20, "a has the first notice") { try await a.sequence("hello-fleet") == 1 }
            // The rotation reaches the origin only; then a notice signed by the new key. Node a meets a
            // key it does not know, fetches the chain from the origin, checks it, and takes the notice.
            let statement = try RotationStatement(app: "hello-fleet", epoch: 1, oldKeyID: demoKey.keyID, newKey: newKey.publicKey, floor: 0, created: 1_790_000_000)
            #expect(try await post(base + "/v1/apps/hello-fleet/rotations", try SignedRotation.sign(statement, old: demoKey, new: newKey).bytes) == 201)
            let manifest = Array("manifest 1.0.2".utf8)
            let n = try Notice(kind: .release, app: "hello-fleet", version: SemanticVersion("1.0.2"), sequence: 2, channel: "stable",
                               manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
            #expect(try await post(base + "/v1/apps/hello-fleet/notices", try SignedNotice(notice: n, manifestBytes: manifest, key: newKey).bytes) == 201)
            try await eventually(within: 20, "a follows the rotation and takes the new-key notice") {
                try await a.sequence("hello-fleet") == 2
            }
            #expect(try await pinned(a) == (newKey.keyID.description, 1))
            // A node started later, with the old --trust and no peers, catches up from the origin at start.
            let b = try NodeProcess(directory: dir, name: "b", extra: ["--origin", base])
            try await eventually(within: 20, "b learns the rotation and the notice from the origin") {
                let sequence = try await b.sequence("hello-fleet")
                return try await pinned(b) == (newKey.keyID.description, 1) && sequence == 2
            }
        }
    }

    @Test func aRotationUndoesAThiefsTopSequence() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            let fleet = try Fleet(directory: dir, nodes: 3, seedExtra: ["--origin", origin.base], nodeExtra: ["--origin", origin.base])
            defer { fleet.stop() }
            let key = repoRoot + "/Keys/demo-test-only.key"
            let first = try runBundlecast(["release", repoRoot + "/Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0", "--key", key,
                                           "--manifests", fleet.manifests, "--origin", origin.base, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(first.code == 0, "\(first.err)")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)

            // A thief with the publisher's key signs the highest sequence there is, to the origin and to one node.
            let top = UInt64(Int64.max)
            let stolen = try rolloutNotice("1.0.0", sequence: top, key: demoKey, manifests: fleet.manifests)
            #expect(try await post(origin.base + "/v1/apps/hello-fleet/notices", stolen) == 201)
            #expect([200, 201].contains(try await post(fleet.nodes[0].admin + "/v1/notices", stolen)), "accepted, or already had from the origin")
            for node in fleet.nodes {
                try await eventually(within: 30, "node \(node.adminPort) holds the thief's sequence") { try await node.sequence("hello-fleet") == top }
            }

            // The publisher rotates (its floor: the highest sequence it signed, 1) and releases as usual.
            try write(dir + "/new.key", try newKey.fileText(passphrase: nil))
            let rotate = try runBundlecast(["rotate-key", "--old", key, "--new", dir + "/new.key", "--app", "hello-fleet", "--manifests", fleet.manifests,
                                            "--origin", origin.base, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(rotate.code == 0, "\(rotate.err)")
            #expect(rotate.out.contains("floor 1"), "\(rotate.out)")
            let next = try runBundlecast(["release", repoRoot + "/Samples/hello-fleet/1.1.0", "--app", "hello-fleet", "--version", "1.1.0",
                                          "--key", dir + "/new.key", "--manifests", fleet.manifests, "--origin", origin.base,
                                          "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(next.code == 0, "\(next.err)")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)
            for node in fleet.nodes { #expect(try await node.sequence("hello-fleet") == 2) }
            // The stolen notice stays out: the origin no longer serves it, and nodes refuse it by key.
            #expect(try await post(origin.base + "/v1/apps/hello-fleet/notices", stolen) != 201)
            #expect(try await post(fleet.nodes[1].admin + "/v1/notices", stolen) == 403)
        }
    }
}
