import BundlecastCore
import Foundation
import Gossip
import Testing
import TestSupport

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

/// A bundle of random bytes (the same for the same size and seed): one large file, a small executable script, a symlink.
func makeBundle(at path: String, megabytes: Int, seed: UInt64 = 0) throws {
    try FileManager.default.createDirectory(atPath: path + "/bin", withIntermediateDirectories: true)
    var rng = SplitMix64(seed: UInt64(megabytes) &* 7919 &+ seed)
    var bytes = [UInt8](repeating: 0, count: megabytes << 20)
    for i in stride(from: 0, to: bytes.count, by: 8) {
        withUnsafeBytes(of: rng.next()) { raw in for j in 0..<8 { bytes[i + j] = raw[j] } }
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.bin"))
    try Data("#!/bin/sh\necho hello\n".utf8).write(to: URL(fileURLWithPath: path + "/bin/run"))
    chmod(path + "/bin/run", 0o755)
    try FileManager.default.createSymbolicLink(atPath: path + "/latest", withDestinationPath: "data.bin")
}
