import BundlecastCore
import Foundation
import Node
import Testing
import TestSupport

/// A node whose own records are damaged (a hand-edited `node.sqlite`, a manifest file
/// changed on disk) fails closed: it neither points `current` where the record says
/// nor drops chunks it cannot prove unneeded.
@Suite(.serialized) struct DamagedRecordTests {
    /// Sets every manifest file of a node two hours back, past the hour a manifest
    /// without a notice is kept, so collection may drop what no version keeps.
    func age(manifestsOf node: NodeProcess) throws {
        let root = node.data + "/manifests"
        let past = Date().addingTimeInterval(-7200)
        for name in try FileManager.default.contentsOfDirectory(atPath: root) {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: root + "/" + name)
        }
    }

    /// A rollback whose database row names a version other than its manifest's is refused,
    /// and `current` stays; the signed manifest is what names the version, not the row.
    @Test func aRollbackToARowThatNamesAnotherVersionIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 1)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            try await fleet.release("1.1.0", from: repoRoot + "/Samples/hello-fleet/1.1.0")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)

            fleet.nodes[0].kill9()
            let path = fleet.nodes[0].data + "/node.sqlite"
            let edit = try runProgram("/usr/bin/sqlite3", [path, "UPDATE app SET previousVersion = '1.2.0' WHERE app = 'hello-fleet'"])
            #expect(edit.code == 0, "\(edit.stderr)")
            let node = try NodeProcess(directory: dir, name: "n0", join: fleet.seed.gossipPort)
            fleet.nodes[0] = node

            await #expect(throws: NodeClientError.self) { try await NodeAdminClient(url: node.admin).rollback(app: "hello-fleet", to: nil) }
            let r = try runBundlecast(["rollback", "hello-fleet", "--node", "127.0.0.1:\(node.adminPort)"])
            #expect(r.code != 0 && r.err.contains("names a manifest of hello-fleet 1.0.0"), "\(r.out) \(r.err)")
            #expect(node.current() == "1.1.0")
            #expect(!FileManager.default.fileExists(atPath: node.data + "/apps/hello-fleet/1.2.0"))
            try expectSameTree(repoRoot + "/Samples/hello-fleet/1.1.0", node.data + "/apps/hello-fleet/current")
        }
    }

    /// A kept version's manifest damaged on disk: which chunks it needs cannot be known,
    /// so the collection after the next install drops nothing, not even the chunks of a
    /// version no longer kept.
    @Test func aDamagedKeptManifestStopsCollection() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 1)
            defer { fleet.stop() }
            for (version, seed) in [("1.0.0", 1), ("1.1.0", 2), ("1.2.0", 3)] {
                try makeBundle(at: dir + "/bundle-" + version, megabytes: 2, seed: UInt64(seed))
            }
            try await fleet.release("1.0.0", from: dir + "/bundle-1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            try await fleet.release("1.1.0", from: dir + "/bundle-1.1.0")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)

            // 1.0.0 is about to leave the kept versions; 1.1.0 stays kept, with its manifest damaged.
            fleet.nodes[0].kill9()
            let damaged = fleet.nodes[0].data + "/manifests/" + (try fleet.manifestDigest("1.1.0")) + ".manifest"
            var bytes = try readBytes(damaged)
            bytes[bytes.count / 2] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            try age(manifestsOf: fleet.nodes[0])
            let node = try NodeProcess(directory: dir, name: "n0", join: fleet.seed.gossipPort)
            fleet.nodes[0] = node

            try await fleet.release("1.2.0", from: dir + "/bundle-1.2.0")
            try await fleet.waitInstalled("1.2.0", on: [node])
            try await eventually(within: 30, "the node says it collects nothing") {
                String(decoding: try readBytes(node.data + "/node.log"), as: UTF8.self).contains("no chunks collected until it is fetched or seeded again")
            }
            // A rollback takes the install lock the collection runs under, so its answer (a
            // refusal: 1.1.0's manifest does not read) comes after the collection is over.
            await #expect(throws: NodeClientError.self) { try await NodeAdminClient(url: node.admin).rollback(app: "hello-fleet", to: nil) }
            node.kill9()
            let log = String(decoding: try readBytes(node.data + "/node.log"), as: UTF8.self)
            #expect(!log.contains("bytes) no kept version needs"), "\(log)")
            let store = try ChunkStore(root: node.data + "/chunks")
            #expect(store.holdsEveryChunk(of: try fleet.manifest("1.0.0")), "a version no longer kept lost its chunks while a kept manifest did not read")
            #expect(store.holdsEveryChunk(of: try fleet.manifest("1.2.0")))
            try expectSameTree(dir + "/bundle-1.2.0", node.data + "/apps/hello-fleet/current")
        }
    }
}
