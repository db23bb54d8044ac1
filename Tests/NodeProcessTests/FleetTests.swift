import BundlecastCore
import Foundation
import Testing
import TestSupport

/// Real `bundlecast node` processes on loopback; one test at a time.
@Suite(.serialized) struct FleetTests {
    @Test func tenNodesJoinSpreadANoticeAndDetectACrash() async throws {
        try await withTemporaryDirectory { dir in
            let seed = try NodeProcess(directory: dir, name: "n0")
            var nodes = [seed]
            for i in 1..<10 { nodes.append(try NodeProcess(directory: dir, name: "n\(i)", join: seed.gossipPort)) }
            for node in nodes {
                try await eventually(within: 20, "node \(node.adminPort) sees 9 others") {
                    try await node.status().members.filter { $0.state == "alive" }.count == 10
                }
            }
            // A notice given to one node reaches every node.
            #expect(try await post(nodes[3].admin + "/v1/notices", try signedNotice(sequence: 1, version: "1.0.0")) == 201)
            for node in nodes {
                try await eventually(within: 20, "node \(node.adminPort) accepted the notice") {
                    try await node.sequence("hello-fleet") == 1
                }
            }
            // The status command shows the spread (member metadata follows by gossip, so wait for it);
            // the JSON has the documented shape.
            try await eventually(within: 20, "node 0 sees every member at 1.0.0") {
                try await nodes[0].status().apps.first?.accepted.first?.nodes == 10
            }
            // (The notice names a manifest no one holds: nothing is installed.)
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(nodes[0].adminPort)", "--members"])
            #expect(report.code == 0)
            #expect(report.out.contains("newest notice 1.0.0 (#1)"))
            #expect(report.out.contains("(not installed)"))
            #expect(report.out.contains("10 nodes  100.0%"))
            let status = try await nodes[0].status()
            #expect(status.apps.first?.accepted.map { "\($0.version) #\($0.sequence) x\($0.nodes)" } == ["1.0.0 #1 x10"])
            #expect(status.apps.first?.spread.isEmpty == true)
            #expect(status.apps.first?.latest?.sequence == 1)
            #expect(status.members.contains { $0.id == status.`self`.id })
            // A forged notice is refused where it is injected and reaches no one.
            var forged = String(decoding: try signedNotice(sequence: 2, version: "1.0.1"), as: UTF8.self)
            forged = forged.replacingOccurrences(of: "rollout=100", with: "rollout=1")
            #expect(try await post(nodes[5].admin + "/v1/notices", Array(forged.utf8)) == 401)
            // kill -9: the rest mark it dead within the suspicion time-out.
            let victim = nodes.remove(at: 7)
            let victimID = try await victim.status().`self`.id
            victim.kill9()
            for node in nodes {
                try await eventually(within: 30, "node \(node.adminPort) marks the crashed node dead") {
                    try await node.status().members.first { $0.id == victimID }?.state == "dead"
                }
            }
            for node in nodes {
                #expect(try await node.sequence("hello-fleet") == 1, "the forged notice spread")
            }
            // Restarted with the same data: the same id, alive again everywhere, and it still
            // holds the notice it had accepted.
            let back = try NodeProcess(directory: dir, name: "n7", join: seed.gossipPort)
            #expect(try await back.status().`self`.id == victimID)
            #expect(try await back.sequence("hello-fleet") == 1)
            for node in nodes {
                try await eventually(within: 30, "node \(node.adminPort) sees the restarted node alive") {
                    try await node.status().members.first { $0.id == victimID }?.state == "alive"
                }
            }
        }
    }

    @Test func statusAndAnnounceSayClearlyWhenTheNodeIsUnreachable() throws {
        let status = try runBundlecast(["status", "--node", "127.0.0.1:1"])
        #expect(status.code == 2)
        #expect(status.err.contains("cannot reach the node"))
        #expect(status.err.split(separator: "\n").count == 1)
        let announce = try runBundlecast(["announce", repoRoot + "/Manifests/hello-fleet/1.0.0.manifest.minisig", "--node", "127.0.0.1:1"])
        #expect(announce.code == 2)
        #expect(announce.err.contains("cannot reach the node"))
    }

    @Test func garbageDatagramsAreCountedAndDropped() async throws {
        try await withTemporaryDirectory { dir in
            let node = try NodeProcess(directory: dir, name: "solo")
            var rng = SystemRandomNumberGenerator()
            let packets: [[UInt8]] = [[], [0x42], [0x42, 0x47, 1], [UInt8](repeating: 0x42, count: 3000)]
                + (0..<50).map { _ in (0..<Int.random(in: 1...1400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            for packet in packets { sendDatagram(packet, toPort: node.gossipPort) }
            try await eventually(within: 10, "the node counted the bad packets") {
                let g = try await node.status().gossip
                return g.droppedMalformed + g.droppedOversized >= packets.count - 1
            }
            #expect(node.process.isRunning)
            #expect(try await node.status().gossip.droppedOversized >= 1)
            // A push-pull frame that claims 4 GiB: the connection is closed before anything is buffered.
            // Well under the node's 10 s connection limit: the close must come from the length check.
            let tcp = try #require(RawConnection(port: node.gossipPort, timeout: 3))
            tcp.send([0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0x41, count: 1000))
            #expect(tcp.closedByPeer(), "the node closes the connection")
            #expect(node.process.isRunning)
        }
    }

    @Test func withAFleetKeyStrangersCannotJoin() async throws {
        try await withTemporaryDirectory { dir in
            for name in ["a.key", "b.key"] {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: bundlecastPath)
                p.arguments = ["fleet-key", "--out", dir + "/" + name]
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
            }
            let seed = try NodeProcess(directory: dir, name: "k0", extra: ["--fleet-key", dir + "/a.key"])
            let friend = try NodeProcess(directory: dir, name: "k1", join: seed.gossipPort, extra: ["--fleet-key", dir + "/a.key"])
            let stranger = try NodeProcess(directory: dir, name: "k2", join: seed.gossipPort, extra: ["--fleet-key", dir + "/b.key"])
            try await eventually(within: 20, "the friend joined") {
                try await seed.status().members.filter { $0.state == "alive" }.count == 2
            }
            try await eventually(within: 10, "the seed dropped the stranger's packets") {
                try await seed.status().gossip.droppedUnauthenticated > 0
            }
            #expect(try await seed.status().members.count == 2)
            #expect(try await stranger.status().members.count == 1)
            _ = friend
        }
    }

    @Test func aNodeLearnsFromTheOriginAndLeavesGracefully() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            let base = origin.base
            let a = try NodeProcess(directory: dir, name: "a", extra: ["--origin", base])
            // A host name for --join is resolved at start.
            let b = try NodeProcess(directory: dir, name: "b", extra: ["--join", "localhost:\(a.gossipPort)"])
            try await eventually(within: 20, "b joined a") { try await a.status().members.count == 2 }
            // Published at the origin only: a learns by long-poll, b by gossip from a.
            #expect(try await post(base + "/v1/apps/hello-fleet/notices", try signedNotice(sequence: 3, version: "1.0.3")) == 201)
            for node in [a, b] {
                try await eventually(within: 20, "node \(node.adminPort) accepted the origin's notice") {
                    try await node.sequence("hello-fleet") == 3
                }
            }
            // SIGTERM: b leaves with a message, so a sees "left", not a failure.
            let bID = try await b.status().`self`.id
            kill(b.process.processIdentifier, SIGTERM)
            try await eventually(within: 20, "a sees b leave") {
                try await a.status().members.first { $0.id == bID }?.state == "left"
            }
        }
    }
}

/// The admin API with `--admin-token`: refused without the token, served with it.
@Suite(.serialized) struct AdminTokenTests {
    @Test func theAdminAPIWantsTheTokenWhenOneIsSet() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/token", "0123456789abcdef-secret\n")
            let node = try NodeProcess(directory: dir, name: "t0", extra: ["--admin-token", dir + "/token"])
            let without = try runProgram(bundlecastPath, ["status", "--node", "127.0.0.1:\(node.adminPort)"],
                                         environment: ProcessInfo.processInfo.environment.filter { $0.key != "BUNDLECAST_ADMIN_TOKEN" })
            #expect(without.code != 0)
            #expect(without.stderr.contains("401"), "\(without.stderr)")
            var environment = ProcessInfo.processInfo.environment
            environment["BUNDLECAST_ADMIN_TOKEN"] = "0123456789abcdef-secret"
            let with = try runProgram(bundlecastPath, ["status", "--node", "127.0.0.1:\(node.adminPort)"], environment: environment)
            #expect(with.code == 0, "\(with.stderr)")
            // A non-loopback admin address without a token is refused at start.
            let open = try runProgram(bundlecastPath, ["node", "--data", dir + "/t1", "--admin", "0.0.0.0:0", "--trust", "hello-fleet=\(demoPub)"])
            #expect(open.code != 0)
            #expect(open.stderr.contains("--admin-token"))
        }
    }
}
