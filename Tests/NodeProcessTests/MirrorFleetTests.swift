import BundlecastCore
import Foundation
import Node
import Testing
import TestSupport

/// A release nobody holds: no node seeds it, the publisher announces the notice to the
/// origin only, and its bytes live on HTTP mirrors (`--mirror`). One test at a time.
@Suite(.serialized) struct MirrorFleetTests {
    /// A bundle with a file whose name needs percent-encoding, released into `dir/Manifests` (not announced).
    static func release(in dir: String) throws -> String {
        let bundle = dir + "/bundle"
        try makeBundle(at: bundle, megabytes: 4)
        try write(bundle + "/web/a b+c%d.txt", String(repeating: "mirrored ", count: 5000))
        let r = try runBundlecast(["release", bundle, "--app", "hello-fleet", "--version", "1.0.0", "--key", repoRoot + "/Keys/demo-test-only.key",
                                   "--manifests", dir + "/Manifests"])
        guard r.code == 0 else { throw NodeTestError("release failed: \(r.err)") }
        return bundle
    }

    static func announce(_ dir: String, to origin: OriginRunner) throws {
        let r = try runBundlecast(["announce", dir + "/Manifests/hello-fleet/1.0.0.manifest.minisig", "--origin", origin.base])
        guard r.code == 0 else { throw NodeTestError("announce failed: \(r.err)") }
    }

    @Test func aFleetWithNoSeedAndOneMirrorInstallsTheRelease() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = try Self.release(in: dir)
            try layOutMirror(root: dir + "/www", manifests: dir + "/Manifests", app: "hello-fleet", version: "1.0.0", bundle: bundle)
            let mirror = try await MirrorServer(directory: dir, name: "mirror", root: dir + "/www")
            defer { mirror.stop() }
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            let extra = ["--origin", origin.base, "--mirror", "hello-fleet=\(mirror.url("hello-fleet"))"]
            let first = try NodeProcess(directory: dir, name: "n0", extra: extra)
            var nodes = [first]
            for i in 1..<3 { nodes.append(try NodeProcess(directory: dir, name: "n\(i)", join: first.gossipPort, extra: extra)) }
            defer { for node in nodes { node.kill9() } }
            for node in nodes {
                try await eventually(within: 30, "node \(node.adminPort) sees the fleet") {
                    try await node.status().members.filter { $0.state == "alive" }.count == 3
                }
            }
            try Self.announce(dir, to: origin)

            try await eventually(within: 90, "1.0.0 installed on every node") { nodes.allSatisfy { $0.current() == "1.0.0" } }
            let digest = try ManifestCoder.decode(readBytes(dir + "/Manifests/hello-fleet/1.0.0.manifest")).digest
            var fromMirror = 0
            for node in nodes {
                try expectSameTree(bundle, node.data + "/apps/hello-fleet/current")
                let status = try await node.status()
                let view = try #require(status.mirrors?.first)
                #expect(view.url == mirror.url("hello-fleet") + "/")
                #expect(view.wrongBytes == 0 && view.badAnswers == 0 && view.skippedFor.isEmpty, "\(view)")
                fromMirror += view.chunks
                // The manifest came from the mirror or from a peer that had it from there.
                #expect(FileManager.default.fileExists(atPath: node.data + "/manifests/\(digest.hex).manifest"))
            }
            #expect(fromMirror > 0, "the chunks came from the mirror")
            var manifests = 0
            for node in nodes { manifests += try await node.status().mirrors?.first?.manifests ?? 0 }
            #expect(manifests >= 1, "no peer held the manifest: a mirror served it")
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(first.adminPort)"])
            #expect(report.out.contains("mirror \(mirror.url("hello-fleet"))/:"), "\(report.out)")
        }
    }

    @Test func aLyingMirrorIsRefusedAndTheReleaseArrivesFromAnHonestOne() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = try Self.release(in: dir)
            try layOutMirror(root: dir + "/www", manifests: dir + "/Manifests", app: "hello-fleet", version: "1.0.0", bundle: bundle)
            // Both serve the same tree; the liar flips a byte of every range it answers.
            let liar = try await MirrorServer(directory: dir, name: "liar", root: dir + "/www", corrupt: true)
            defer { liar.stop() }
            let honest = try await MirrorServer(directory: dir, name: "honest", root: dir + "/www")
            defer { honest.stop() }
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            let extra = ["--origin", origin.base, "--mirror", "hello-fleet=\(liar.url("hello-fleet"))",
                         "--mirror", "hello-fleet=\(honest.url("hello-fleet"))"]
            let first = try NodeProcess(directory: dir, name: "n0", extra: extra)
            let second = try NodeProcess(directory: dir, name: "n1", join: first.gossipPort, extra: extra)
            let nodes = [first, second]
            defer { for node in nodes { node.kill9() } }
            for node in nodes {
                try await eventually(within: 30, "node \(node.adminPort) sees the fleet") {
                    try await node.status().members.filter { $0.state == "alive" }.count == 2
                }
            }
            try Self.announce(dir, to: origin)

            try await eventually(within: 90, "1.0.0 installed on both nodes") { nodes.allSatisfy { $0.current() == "1.0.0" } }
            let prefix = String(try ManifestCoder.decode(readBytes(dir + "/Manifests/hello-fleet/1.0.0.manifest")).digest.hex.prefix(16))
            var honestChunks = 0
            for node in nodes {
                try expectSameTree(bundle, node.data + "/apps/hello-fleet/current")
                let views = try #require(try await node.status().mirrors)
                #expect(views.map(\.url) == [liar.url("hello-fleet") + "/", honest.url("hello-fleet") + "/"], "in the operator's order")
                // Status: the liar's bytes were refused, and it is skipped for this release.
                #expect(views[0].wrongBytes >= 1, "\(views[0])")
                #expect(views[0].chunks == 0, "not one of the liar's chunks was taken")
                #expect(views[0].skippedFor == [prefix])
                #expect(views[1].wrongBytes == 0 && views[1].skippedFor.isEmpty)
                honestChunks += views[1].chunks
                // The log says it once, and metrics count it.
                let log = String(decoding: try readBytes(node.data + "/node.log"), as: UTF8.self)
                #expect(log.contains("do not match the signed manifest: not asked again for hello-fleet 1.0.0"), "\(log.suffix(2000))")
                let metrics = String(decoding: try await get(node.admin + "/metrics"), as: UTF8.self)
                let line = metrics.split(separator: "\n").first { $0.contains("bundlecast_node_mirror_problems_total") && $0.contains("problem=\"wrong_bytes\"")
                    && $0.contains(liar.url("hello-fleet")) }
                #expect(line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { $0 >= 1 } == true, "\(metrics)")
            }
            #expect(honestChunks > 0, "the chunks came from the honest mirror")
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(first.adminPort)"])
            #expect(report.out.contains("REFUSED for wrong bytes") && report.out.contains("skipped for release \(prefix)"), "\(report.out)")
        }
    }
}
