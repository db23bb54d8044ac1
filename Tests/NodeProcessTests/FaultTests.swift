import Foundation
import Gossip
import Testing
import TestSupport

/// Real faults against real nodes: kills at random moments, an origin that is down, a full
/// store, a partition. One test at a time.
@Suite(.serialized) struct FaultTests {
    /// `kill -9` of a random node at a random moment, 24 times, while three releases go out:
    /// after every kill the victim's `current` is nothing or a complete tree equal to a
    /// release; once the kills stop, every node converges to the last release.
    @Test func killsDuringDownloadsAndInstallsNeverLeaveAPartialCurrent() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 4, seedExtra: ["--max-upload-rate", "4M"])
            defer { fleet.stop() }
            let versions = ["1.0.0", "1.1.0", "1.2.0"]
            for (i, version) in versions.enumerated() { try makeBundle(at: dir + "/bundle-\(version)", megabytes: 3, seed: UInt64(i)) }
            // BUNDLECAST_KILL_SEED=N replays a failing schedule (the seed is printed).
            let seed = ProcessInfo.processInfo.environment["BUNDLECAST_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
            print("kill schedule seed \(seed) (BUNDLECAST_KILL_SEED=\(seed) replays it)")
            var rng = SplitMix64(seed: seed)
            var kills = 0
            var midUpdate = 0
            var latest = ""
            for round in 0..<24 {
                if round % 8 == 0 {
                    let version = versions[round / 8]
                    try await fleet.release(version, from: dir + "/bundle-\(version)")
                    latest = version
                }
                // The fault's timing is the point here, not a wait for a condition.
                try await Task.sleep(for: .milliseconds(100 + Int(rng.next() % 500)))
                let index = Int(rng.next() % UInt64(fleet.nodes.count))
                let victim = fleet.nodes[index]
                if victim.current() != latest { midUpdate += 1 }
                victim.kill9()
                kills += 1
                if let current = victim.current() {
                    #expect(versions.contains(current), "current points at \(current)")
                    try expectSameTree(dir + "/bundle-\(current)", victim.data + "/apps/hello-fleet/current")
                }
                fleet.nodes[index] = try NodeProcess(directory: dir, name: "n\(index)", join: fleet.seed.gossipPort)
            }
            #expect(kills == 24)
            #expect(midUpdate >= 3, "only \(midUpdate) kills hit a node before it had installed the newest release")
            try await fleet.waitInstalled("1.2.0", on: fleet.nodes)
            for node in fleet.nodes { try expectSameTree(dir + "/bundle-1.2.0", node.data + "/apps/hello-fleet/current") }
        }
    }

    /// The origin is down for the whole run: nodes that follow it still spread a release given
    /// to one of them, by gossip and from each other, and say once that the origin is unreachable.
    @Test func withTheOriginDownTheFleetStillSpreadsARelease() async throws {
        try await withTemporaryDirectory { dir in
            let deadOrigin = "http://127.0.0.1:\(try closedPort())"
            let fleet = try Fleet(directory: dir, nodes: 3, seedExtra: ["--origin", deadOrigin], nodeExtra: ["--origin", deadOrigin])
            defer { fleet.stop() }
            let bundle = repoRoot + "/Samples/hello-fleet/1.0.0"
            try await fleet.release("1.0.0", from: bundle)
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            for node in fleet.nodes {
                try expectSameTree(bundle, node.data + "/apps/hello-fleet/current")
                let log = String(decoding: try readBytes(node.data + "/node.log"), as: UTF8.self)
                #expect(log.components(separatedBy: "unreachable for hello-fleet").count == 2, "said once, not at every retry: \(log)")
            }
        }
    }

    /// A full store: an update that does not fit under `--max-store` is refused before anything
    /// is fetched, with one clear line in the log and in `status`; the installed version stays
    /// intact; with room (a restart with a larger limit) the update goes through.
    @Test func aFullStoreIsOneClearErrorAndTheUpdateGoesThroughWithRoom() async throws {
        try await withTemporaryDirectory { dir in
            for (i, version) in ["1.0.0", "1.1.0"].enumerated() { try makeBundle(at: dir + "/bundle-\(version)", megabytes: 3, seed: UInt64(i)) }
            let fleet = try Fleet(directory: dir, nodes: 1, nodeExtra: ["--max-store", "5M"])
            defer { fleet.stop() }
            let node = fleet.nodes[0]
            try await fleet.release("1.0.0", from: dir + "/bundle-1.0.0")
            try await fleet.waitInstalled("1.0.0", on: [node])
            try await fleet.release("1.1.0", from: dir + "/bundle-1.1.0")
            try await eventually(within: 30, "the node says the store is full") {
                try await node.status().errors?["hello-fleet"]?.contains("not enough room") == true
            }
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(node.adminPort)"])
            #expect(report.out.contains("this node cannot update: not enough room for hello-fleet 1.1.0"), "\(report.out)")
            #expect(chunkBytes(in: node.data + "/chunks") <= 5 << 20)
            #expect(node.current() == "1.0.0")
            try expectSameTree(dir + "/bundle-1.0.0", node.data + "/apps/hello-fleet/current")
            let log = String(decoding: try readBytes(node.data + "/node.log"), as: UTF8.self)
            #expect(log.components(separatedBy: "not enough room").count == 2, "said once, not at every retry")

            node.kill9()
            let roomier = try NodeProcess(directory: dir, name: "n0", join: fleet.seed.gossipPort, extra: ["--max-store", "64M"])
            fleet.nodes[0] = roomier
            try await fleet.waitInstalled("1.1.0", on: [roomier])
            try expectSameTree(dir + "/bundle-1.1.0", roomier.data + "/apps/hello-fleet/current")
            #expect(try await roomier.status().errors == nil)
        }
    }

    /// A partition (cut with `--test-faults`: no gossip, push-pull or transfer across) while a
    /// release goes out: the side with the seed installs it, the other side hears nothing;
    /// once healed, the halves find each other again and every node converges.
    @Test func aPartitionedFleetConvergesOnceItHeals() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 4, seedExtra: ["--test-faults"], nodeExtra: ["--test-faults"])
            defer { fleet.stop() }
            let sideA = [fleet.seed, fleet.nodes[0], fleet.nodes[1]]
            let sideB = [fleet.nodes[2], fleet.nodes[3]]
            for node in sideA + sideB {
                try await eventually(within: 30, "node \(node.adminPort) sees the whole fleet") {
                    try await node.status().members.filter { $0.state == "alive" }.count == 5
                }
            }
            func cut(_ nodes: [NodeProcess], from others: [NodeProcess]) async throws {
                let body = try JSONSerialization.data(withJSONObject: ["cut": others.map { "127.0.0.1:\($0.gossipPort)" }])
                for node in nodes { #expect(try await post(node.admin + "/v1/test/partition", [UInt8](body), type: "application/json") == 200) }
            }
            try await cut(sideA, from: sideB)
            try await cut(sideB, from: sideA)
            for side in [sideA, sideB] {
                for node in side {
                    try await eventually(within: 30, "node \(node.adminPort) sees the other side gone") {
                        try await node.status().members.filter { $0.state == "alive" }.count == side.count
                    }
                }
            }
            let bundle = repoRoot + "/Samples/hello-fleet/1.0.0"
            let r = try runBundlecast(["release", bundle, "--app", "hello-fleet", "--version", "1.0.0", "--key", repoRoot + "/Keys/demo-test-only.key",
                                       "--manifests", fleet.manifests, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(r.code == 0, "\(r.err)")
            try await fleet.waitInstalled("1.0.0", on: [fleet.nodes[0], fleet.nodes[1]])
            for node in sideB {
                #expect(try await node.sequence("hello-fleet") ?? 0 == 0, "the notice crossed the partition")
                #expect(node.current() == nil)
            }
            try await cut(sideA + sideB, from: [])
            try await fleet.waitInstalled("1.0.0", on: sideB)
            for node in fleet.nodes { try expectSameTree(bundle, node.data + "/apps/hello-fleet/current") }
            for node in sideA + sideB {
                try await eventually(within: 30, "node \(node.adminPort) sees the whole fleet again") {
                    try await node.status().members.filter { $0.state == "alive" }.count == 5
                }
            }
        }
    }
}

/// A loopback TCP port that refuses connections (bound once, then closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw NodeTestError("cannot bind a loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
