import Foundation
import Testing
import TestSupport

/// A release taken back with `bundlecast withdraw`: the fleet goes back, and the
/// withdrawn release's notice cannot bring it back.
@Suite(.serialized) struct WithdrawalTests {
    @Test func aWithdrawnReleaseSendsTheFleetBackAndCannotBeReplayed() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 3)
            defer { fleet.stop() }
            let v1 = repoRoot + "/Samples/hello-fleet/1.0.0"
            try await fleet.release("1.0.0", from: v1)
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            try await fleet.release("1.1.0", from: repoRoot + "/Samples/hello-fleet/1.1.0")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)

            let seed = "127.0.0.1:\(fleet.seed.adminPort)"
            let key = repoRoot + "/Keys/demo-test-only.key"
            let w = try runBundlecast(["withdraw", "hello-fleet", "1.1.0", "--key", key, "--manifests", fleet.manifests, "--node", seed])
            #expect(w.code == 0, "\(w.err)")
            #expect(w.out.contains("back to 1.0.0 as sequence 3"), "\(w.out)")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            for node in fleet.nodes {
                try expectSameTree(v1, node.data + "/apps/hello-fleet/current")
                try await eventually(within: 10, "the withdrawn tree is dropped") {
                    !FileManager.default.fileExists(atPath: node.data + "/apps/hello-fleet/1.1.0")
                }
                let latest = try await node.status().apps.first?.latest
                #expect(latest?.kind == "withdraw" && latest?.sequence == 3)
            }

            // Replaying the withdrawn release's own notice: refused as stale everywhere.
            let replay = fleet.manifests + "/hello-fleet/1.1.0.manifest.minisig"
            for node in fleet.nodes + [fleet.seed] {
                let r = try runBundlecast(["announce", replay, "--node", "127.0.0.1:\(node.adminPort)"])
                #expect(r.code != 0 && r.err.contains("stale"), "replay accepted by \(node.adminPort): \(r.out) \(r.err)")
            }
            // The publisher's tools refuse to bring it back too.
            let again = try runBundlecast(["rollout", "hello-fleet", "1.1.0", "--percent", "100", "--key", key, "--manifests", fleet.manifests])
            #expect(again.code == 2 && again.err.contains("withdrawn"), "\(again.err)")
            let twice = try runBundlecast(["withdraw", "hello-fleet", "1.1.0", "--key", key, "--manifests", fleet.manifests])
            #expect(twice.code == 2 && twice.err.contains("not 1.1.0"), "\(twice.err)")

            // A node that joins afterwards goes straight to 1.0.0, never to the withdrawn release.
            let late = try NodeProcess(directory: dir, name: "late", join: fleet.seed.gossipPort)
            fleet.nodes.append(late)
            try await fleet.waitInstalled("1.0.0", on: [late])
            try expectSameTree(v1, late.data + "/apps/hello-fleet/current")
            #expect(!FileManager.default.fileExists(atPath: late.data + "/apps/hello-fleet/1.1.0"))
            for node in fleet.nodes { #expect(node.current() == "1.0.0") }
        }
    }
}
