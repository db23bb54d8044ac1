import BundlecastCore
import Foundation
import Logging
@testable import Node
import Policy
import Testing
import TestSupport

/// An install that fails, by its health check or because its manifest cannot be laid out as
/// signed, leaves what a passed one leaves: the trees of the current and previous versions,
/// the chunks something still needs, and the record of the failure.
@Suite struct FailedInstallCleanupTests {
    let publisher = SecretKey.fromSeed([UInt8](repeating: 5, count: 32), keyID: KeyID(bytes: [5, 0, 0, 0, 0, 0, 0, 5])!)

    let logger: Logger = {
        var logger = Logger(label: "test.node")
        logger.logLevel = .critical
        return logger
    }()

    /// A node's parts, not running, trusting `publisher` for "demo"; 1.2.0 fails its health check.
    func components(_ data: String) async throws -> NodeComponents {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var settings = NodeService.Settings(dataDirectory: data)
        settings.update.stagger = .zero
        settings.update.onInstall = "test \"$BUNDLECAST_VERSION\" != 1.2.0"
        settings.trust.trusted = ["demo": publisher.publicKey]
        return try await NodeService.makeComponents(settings, logger: logger)
    }

    /// `manifest` made known to the node: its chunks (from `from`) in the store, the manifest
    /// in the cache and its notice accepted at `sequence`. Returns the notice.
    func publish(_ manifest: Manifest, chunksFrom from: ChunkStore, sequence: UInt64, to c: NodeComponents) throws -> Notice {
        for chunk in manifest.distinctChunks {
            try c.updater.installer.chunks.putVerified(chunk.digest, #require(try from.read(chunk.digest)))
        }
        let bytes = manifest.encoded()
        _ = try c.updater.manifests.put(bytes, digest: manifest.digest, parsed: manifest)
        let notice = try Notice(kind: .release, app: "demo", version: manifest.version, sequence: sequence, channel: "stable",
                                manifest: manifest.digest, size: manifest.totalSize, rollout: 100, created: 1_700_000_000, expires: 1_900_000_000)
        let signed = try SignedNotice(notice: notice, manifestBytes: bytes, key: publisher)
        #expect(try c.store.accept(signed, source: "test", now: UInt64(Date().timeIntervalSince1970)) == .accepted)
        return notice
    }

    /// The installer fixture's release as `version` (its own chunks, by `salt`), published at `sequence`.
    func release(_ version: String, salt: UInt8, sequence: UInt64, dir: String, to c: NodeComponents) throws -> (Manifest, Notice) {
        let (manifest, from) = try InstallerTests.fixture(dir + "/release-" + version, version: version, salt: salt)
        return (manifest, try publish(manifest, chunksFrom: from, sequence: sequence, to: c))
    }

    func versions(_ data: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: data + "/apps/demo").sorted()
    }

    @Test func aFailedHealthCheckPrunesTheFailedTreeAndCollectsGarbageAndKeepsTheRecord() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/node"
            let c = try await components(data)
            let updater = c.updater
            let chunks = updater.installer.chunks
            let (v1, n1) = try release("1.0.0", salt: 1, sequence: 1, dir: dir, to: c)
            try updater.install(v1, digest: v1.digest, notice: n1)
            let (v2, n2) = try release("1.1.0", salt: 2, sequence: 2, dir: dir, to: c)
            try updater.install(v2, digest: v2.digest, notice: n2)
            #expect(try versions(data) == ["1.0.0", "1.1.0", "current"])
            // A chunk no release lists: collected at the next install, whatever its outcome.
            let stray = Array("no release lists this chunk".utf8)
            #expect(try chunks.put(Blake2b.digest256(stray), stray))

            let (v3, n3) = try release("1.2.0", salt: 3, sequence: 3, dir: dir, to: c)
            try updater.install(v3, digest: v3.digest, notice: n3)
            let record = try c.store.installRecord(app: "demo")
            #expect(record.current?.version == "1.1.0" && record.previous?.version == "1.0.0")
            #expect(record.failedVersion == "1.2.0" && record.failedManifest == v3.digest && record.failedSequence == 3)
            #expect(updater.installer.current(app: "demo") == "1.1.0")
            #expect(try versions(data) == ["1.0.0", "1.1.0", "current"], "the failed version's tree is removed")
            #expect(!chunks.contains(Blake2b.digest256(stray)))
            // The kept versions' chunks stay, and so do the failed one's while its notice is the
            // newest: a newer notice naming it again installs it without a download.
            for m in [v1, v2, v3] { #expect(chunks.holdsEveryChunk(of: m), "\(m.version)") }
            // Rolling back by hand still finds the previous version.
            let back = try updater.rollback(app: "demo", to: nil)
            #expect(back.from == "1.1.0" && back.to == "1.0.0")
            await c.transfer.shutdown()
            await c.gossip.shutdown()
        }
    }

    @Test func aManifestThatMisSizesAChunkIsRecordedAsFailedAndNothingIsInstalled() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/node"
            let c = try await components(data)
            let updater = c.updater
            let (v1, n1) = try release("1.0.0", salt: 1, sequence: 1, dir: dir, to: c)
            try updater.install(v1, digest: v1.digest, notice: n1)
            // 1.3.0 lists bin/tool's first chunk a byte short of its bytes.
            let (good, from) = try InstallerTests.fixture(dir + "/release-1.3.0", version: "1.3.0", salt: 4)
            let first = good.entries[0].chunks[0]
            let wrong = try WrongChunkSizeTests.resized(good, path: "bin/tool", chunk: 0, to: first.size - 1, version: "1.3.0")
            let n2 = try publish(wrong, chunksFrom: from, sequence: 2, to: c)
            // No error to retry every few seconds: the failure is recorded, as a failed health check's is.
            try updater.install(wrong, digest: wrong.digest, notice: n2)
            let record = try c.store.installRecord(app: "demo")
            #expect(record.current?.version == "1.0.0")
            #expect(record.failedVersion == "1.3.0" && record.failedManifest == wrong.digest && record.failedSequence == 2)
            let reason = InstallError.wrongChunkSize(first.digest, listed: first.size - 1, actual: Int(first.size)).description
            #expect(record.failedReason == reason)
            #expect(updater.installer.current(app: "demo") == "1.0.0")
            #expect(try versions(data) == ["1.0.0", "current"])
            #expect(updater.installer.chunks.contains(first.digest), "the chunk's true bytes stay in the store")
            await c.transfer.shutdown()
            await c.gossip.shutdown()
        }
    }
}
