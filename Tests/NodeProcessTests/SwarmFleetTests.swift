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
            // A ban outlives a restart.
            for (i, node) in fleet.nodes.enumerated() where try await node.status().`self`.transfer?.banned.contains(tampererID) == true {
                node.kill9()
                let again = try NodeProcess(directory: dir, name: "n\(i)", join: fleet.seed.gossipPort, extra: [])
                fleet.nodes[i] = again
                #expect(try await again.status().`self`.transfer?.banned.contains(tampererID) == true, "the ban was forgotten in a restart")
                break
            }
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

            // The same story in Prometheus text, from the admin API.
            let text = String(decoding: try await get("http://127.0.0.1:\(node.adminPort)/metrics"), as: UTF8.self)
            #expect(sample(text, #"bundlecast_node_installs_total{result="installed"}"#) == 1, "\(text)")
            #expect(sample(text, #"bundlecast_node_installs_total{result="rolled_back"}"#) == 1)
            #expect(sample(text, "bundlecast_node_install_seconds_count") == 2)
            #expect(sample(text, #"bundlecast_node_installed_version{app="hello-fleet",version="1.0.0"}"#) == 1)
            #expect(!text.contains(#"version="1.1.0""#), "only what runs now has a version series")
            #expect(sample(text, #"bundlecast_node_accepted_sequence{app="hello-fleet"}"#) == 2)
            #expect((sample(text, #"bundlecast_node_transfer_chunks_total{direction="in"}"#) ?? 0) > 0)
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

/// The value of one series in Prometheus text (`NAME{LABELS} VALUE`), if it is there.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
