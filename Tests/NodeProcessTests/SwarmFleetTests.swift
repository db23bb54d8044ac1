import BundlecastCore
import Foundation
import Gossip
import Node
import Testing
import TestSupport

/// Releases travelling through a fleet of real `bundlecast node` processes:
/// seeded into one node, fetched from peers, verified, installed. One test at a time.
@Suite(.serialized) struct SwarmFleetTests {
    @Test func eightNodesInstallV1ThenFetchOnlyTheChangedChunksOfV2() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 8)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            for node in fleet.nodes { try expectSameTree(repoRoot + "/Samples/hello-fleet/1.0.0", node.data + "/apps/hello-fleet/current") }
            var before: [UInt64] = []
            for node in fleet.nodes { before.append(try await node.status().`self`.transfer?.bytesIn ?? 0) }
            #expect(before.allSatisfy { $0 > 0 }, "every node fetched v1 from peers")

            try await fleet.release("1.1.0", from: repoRoot + "/Samples/hello-fleet/1.1.0")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)
            let changed = try changedBytes(fleet.manifest("1.0.0"), fleet.manifest("1.1.0"))
            #expect(changed > 0)
            for (i, node) in fleet.nodes.enumerated() {
                try expectSameTree(repoRoot + "/Samples/hello-fleet/1.1.0", node.data + "/apps/hello-fleet/current")
                let fetched = (try await node.status().`self`.transfer?.bytesIn ?? 0) - before[i]
                // Only the chunks v1 did not have; an endgame duplicate may add one chunk at most.
                #expect(fetched >= changed && fetched <= changed + 256 << 10, "node \(i) fetched \(fetched) bytes for \(changed) changed")
                // v1 is kept as the previous version.
                #expect(FileManager.default.fileExists(atPath: node.data + "/apps/hello-fleet/1.0.0"))
            }
            // Installed versions travel in gossip metadata; push-pull repairs any lost rumour within 30 s.
            try await eventually(within: 45, "status shows every node on 1.1.0") {
                try await fleet.seed.status().apps.first?.spread.first.map { $0.version == "1.1.0" && $0.nodes == 8 } == true
            }
            // Every node's view converges too (a lost metadata rumour is repaired by push-pull).
            var report = try runBundlecast(["status", "--node", "127.0.0.1:\(fleet.nodes[0].adminPort)"])
            try await eventually(within: 45, "node 0's status shows 8 nodes on 1.1.0") {
                report = try runBundlecast(["status", "--node", "127.0.0.1:\(fleet.nodes[0].adminPort)"])
                return report.out.contains("8 nodes   88.9%")
            }
            #expect(report.code == 0)
            #expect(report.out.contains("1.1.0"), "8 of 9 live members (the seed installs nothing): \(report.out)")

            // An operator's rollback puts 1.0.0 back, and it stays after a restart.
            let node = fleet.nodes[2]
            let rolled = try runBundlecast(["rollback", "hello-fleet", "--node", "127.0.0.1:\(node.adminPort)"])
            #expect(rolled.code == 0, "\(rolled.err)")
            #expect(node.current() == "1.0.0")
            node.kill9()
            let again = try NodeProcess(directory: dir, name: "n2", join: fleet.seed.gossipPort)
            fleet.nodes[2] = again
            try await eventually(within: 20, "the restarted node rejoins") {
                try await again.status().members.filter { $0.state == "alive" }.count == 9
            }
            #expect(again.current() == "1.0.0", "a rollback holds until a newer notice")
            try expectSameTree(repoRoot + "/Samples/hello-fleet/1.0.0", again.data + "/apps/hello-fleet/current")
        }
    }

    @Test func aTamperingPeerIsBannedAndNothingCorruptIsInstalled() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 4)
            // The honest seed is slow, so the nodes also fetch from the tamperer, which holds the release too.
            let fleet = try Fleet(directory: dir, nodes: 4, tamperer: true, seedExtra: ["--max-upload-rate", "1M"])
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: bundle, alsoSeed: fleet.tamperer)
            let tampererID = try await fleet.tamperer!.id
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            var bans = 0
            for node in fleet.nodes {
                try expectSameTree(bundle, node.data + "/apps/hello-fleet/current")
                let counters = try await node.status().`self`.transfer
                let banned = counters?.banned.contains(tampererID) == true
                if banned { bans += 1 }
                // Banned at the third bad chunk (requests already under way may still bring a few more).
                #expect((counters?.badChunks ?? 0) < 3 || banned, "three bad chunks and no ban")
            }
            #expect(bans >= 1, "no node met the tampering peer")
        }
    }

    @Test func aDownloadKilledMidwayResumesWithoutRefetching() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 4)
            // 4 MiB at 512 KiB/s: about 8 s, long enough to kill it half-way.
            let fleet = try Fleet(directory: dir, nodes: 1, seedExtra: ["--max-upload-rate", "512K"])
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: bundle)
            let node = fleet.nodes[0]
            try await eventually(within: 30, "the download is under way") {
                chunkBytes(in: node.data + "/chunks") >= 1 << 20
            }
            node.kill9()
            #expect(node.current() == nil, "nothing is installed from a partial download")
            let held = chunkBytes(in: node.data + "/chunks")
            #expect(held > 0)
            let again = try NodeProcess(directory: dir, name: "n0", join: fleet.seed.gossipPort)
            fleet.nodes[0] = again
            try await fleet.waitInstalled("1.0.0", on: [again])
            try expectSameTree(bundle, again.data + "/apps/hello-fleet/current")
            let fetched = try await again.status().`self`.transfer?.bytesIn ?? 0
            let total: UInt64 = 4 << 20
            // Verified chunks survive the kill: only the rest is fetched (plus at most one endgame duplicate).
            #expect(fetched <= total - held + 256 << 10, "fetched \(fetched) after restart with \(held) of \(total) held")
        }
    }

    @Test func aFailingHealthCheckRollsBackAndIsReported() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 1, nodeExtra: ["--on-install", "test \"$BUNDLECAST_VERSION\" != 1.1.0 && test -f \"$BUNDLECAST_PATH/README\""])
            defer { fleet.stop() }
            let node = fleet.nodes[0]
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: [node])
            try await fleet.release("1.1.0", from: repoRoot + "/Samples/hello-fleet/1.1.0")
            try await eventually(within: 30, "the failed install is reported") {
                try await node.status().`self`.apps.first?.failed == "1.1.0"
            }
            #expect(node.current() == "1.0.0")
            try expectSameTree(repoRoot + "/Samples/hello-fleet/1.0.0", node.data + "/apps/hello-fleet/current")
            let me = try await node.status().`self`.apps.first
            #expect(me?.installed == "1.0.0")
            #expect(me?.sequence == 2, "the accepted sequence does not go back")
        }
    }

    @Test func aFiftyPercentRolloutUpdatesTheNodesInItsBuckets() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 8)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0", rollout: 50)
            let digest = try #require(Digest256(hex: fleet.manifestDigest("1.0.0")))
            var inside: [NodeProcess] = []
            var outside: [NodeProcess] = []
            for node in fleet.nodes {
                let hex = try await node.id
                let id = NodeID(high: UInt64(hex.prefix(16), radix: 16)!, low: UInt64(hex.suffix(16), radix: 16)!)
                if Updater.inRollout(node: id, manifest: digest, percent: 50) { inside.append(node) } else { outside.append(node) }
            }
            try await fleet.waitInstalled("1.0.0", on: inside)
            for node in outside {
                try await eventually(within: 20, "node \(node.adminPort) accepted the notice") { try await node.sequence("hello-fleet") == 1 }
                #expect(node.current() == nil, "a node outside the rollout installed it")
            }
        }
    }
}

/// A seed-only node and N nodes joined through it, all with fresh data directories.
final class Fleet {
    let directory: String
    let seed: NodeProcess
    var tamperer: NodeProcess?
    var nodes: [NodeProcess] = []
    let manifests: String

    init(directory: String, nodes count: Int, tamperer: Bool = false, seedExtra: [String] = [], nodeExtra: [String] = []) throws {
        self.directory = directory
        manifests = directory + "/Manifests"
        seed = try NodeProcess(directory: directory, name: "seed", extra: ["--seed-only"] + seedExtra)
        if tamperer {
            self.tamperer = try NodeProcess(directory: directory, name: "tamperer", join: seed.gossipPort, extra: ["--seed-only", "--test-corrupt-uploads"])
        }
        for i in 0..<count {
            nodes.append(try NodeProcess(directory: directory, name: "n\(i)", join: seed.gossipPort, extra: nodeExtra))
        }
    }

    /// Releases a bundle, seeds it into `alsoSeed` (without the notice) and then into the seed, which
    /// gets the notice; waits for nothing after that: callers wait on what they expect.
    func release(_ version: String, from bundle: String, rollout: Int = 100, alsoSeed: NodeProcess? = nil) async throws {
        let all = [seed] + (tamperer.map { [$0] } ?? []) + nodes
        for node in all {
            try await eventually(within: 30, "node \(node.adminPort) sees the whole fleet") {
                try await node.status().members.filter { $0.state == "alive" }.count == all.count
            }
        }
        let notice = manifests + "/hello-fleet/\(version).manifest.minisig"
        if let alsoSeed {
            let r = try runBundlecast(["release", bundle, "--app", "hello-fleet", "--version", version, "--key", repoRoot + "/Keys/demo-test-only.key",
                                       "--manifests", manifests, "--rollout", String(rollout)])
            guard r.code == 0 else { throw NodeTestError("release failed: \(r.err)") }
            for (node, announce) in [(alsoSeed, false), (seed, true)] {
                let s = try runBundlecast(["seed", notice, "--bundle", bundle, "--node", "127.0.0.1:\(node.adminPort)"] + (announce ? [] : ["--no-announce"]))
                guard s.code == 0 else { throw NodeTestError("seed failed: \(s.err)") }
            }
            return
        }
        let r = try runBundlecast(["release", bundle, "--app", "hello-fleet", "--version", version, "--key", repoRoot + "/Keys/demo-test-only.key",
                                   "--manifests", manifests, "--rollout", String(rollout), "--node", "127.0.0.1:\(seed.adminPort)"])
        guard r.code == 0 else { throw NodeTestError("release failed: \(r.err)") }
    }

    func manifest(_ version: String) throws -> Manifest {
        try ManifestCoder.decode(readBytes(manifests + "/hello-fleet/\(version).manifest"))
    }

    func manifestDigest(_ version: String) throws -> String { try manifest(version).digest.hex }

    func waitInstalled(_ version: String, on nodes: [NodeProcess]) async throws {
        try await eventually(within: 60, "\(version) installed on \(nodes.count) nodes") {
            nodes.allSatisfy { $0.current() == version }
        }
    }

    func stop() {
        for node in [seed] + (tamperer.map { [$0] } ?? []) + nodes { node.kill9() }
    }
}

/// `diff -r` without following symlinks: contents, symlink targets, and the executable bit.
func expectSameTree(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let r = try runProgram("/usr/bin/diff", ["-r", "--no-dereference", a, b + "/"])
    #expect(r.code == 0, "trees differ: \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
    let modes = try runProgram("/bin/sh", ["-c", "cd \"$1\" && find . -type f -perm -u+x | sort", "sh", a])
    let installed = try runProgram("/bin/sh", ["-c", "cd \"$1\" && find . -type f -perm -u+x | sort", "sh", b + "/"])
    #expect(modes.stdout == installed.stdout, "executable bits differ", sourceLocation: sourceLocation)
}

/// Bytes of the chunks of `new` that `old` does not have.
func changedBytes(_ old: Manifest, _ new: Manifest) throws -> UInt64 {
    let had = Set(old.distinctChunks.map(\.digest))
    return new.distinctChunks.filter { !had.contains($0.digest) }.reduce(0) { $0 + UInt64($1.size) }
}

/// Total size of the chunk files under a store.
func chunkBytes(in root: String) -> UInt64 {
    var total: UInt64 = 0
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let path = enumerator?.nextObject() as? String {
        guard !path.hasPrefix("tmp") else { continue }
        var st = stat()
        if stat(root + "/" + path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
    }
    return total
}

/// A bundle of random bytes: one large file, a small executable script, a symlink.
func makeBundle(at path: String, megabytes: Int) throws {
    try FileManager.default.createDirectory(atPath: path + "/bin", withIntermediateDirectories: true)
    var rng = SplitMix64(seed: UInt64(megabytes) &* 7919)
    var bytes = [UInt8](repeating: 0, count: megabytes << 20)
    for i in stride(from: 0, to: bytes.count, by: 8) {
        withUnsafeBytes(of: rng.next()) { raw in for j in 0..<8 { bytes[i + j] = raw[j] } }
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.bin"))
    try Data("#!/bin/sh\necho hello\n".utf8).write(to: URL(fileURLWithPath: path + "/bin/run"))
    chmod(path + "/bin/run", 0o755)
    try FileManager.default.createSymbolicLink(atPath: path + "/latest", withDestinationPath: "data.bin")
}
