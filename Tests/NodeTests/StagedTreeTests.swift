import BundlecastCore
import CFileOps
import Foundation
import Gossip
@testable import Node
import Testing
import TestSupport

/// The tree written while a release downloads: what the store holds is copied in runs, what
/// arrives is written as it comes, and only a tree with every position written is committed.
@Suite struct StagedTreeTests {
    /// Random chunks of `sizes`, and their digests.
    static func chunks(_ sizes: [Int], salt: UInt64) -> [(ChunkRef, [UInt8])] {
        var rng = SplitMix64(seed: salt)
        return sizes.map { size in
            let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return (ChunkRef(digest: Blake2b.digest256(bytes), size: UInt32(size)), bytes)
        }
    }

    /// A delta-shaped manifest: a large file of many chunks of odd sizes (so runs and pages
    /// do not line up), a chunk placed twice (in that file and in another), a small file,
    /// a symlink. Returns the manifest and every chunk's bytes by digest.
    static func manifest() throws -> (Manifest, [Digest256: [UInt8]]) {
        let big = chunks((0..<40).map { 16_385 + $0 * 1_337 }, salt: 1)
        let twice = chunks([20_001], salt: 2)[0]
        let small = chunks([100], salt: 3)[0]
        var refs = big.map(\.0)
        refs.insert(twice.0, at: 17)
        let entries = [
            ManifestEntry.file(path: "bin/big", executable: true, chunks: refs),
            ManifestEntry(path: "current", kind: .symlink(target: "share/small")),
            ManifestEntry.file(path: "share/again", executable: false, chunks: [twice.0]),
            ManifestEntry.file(path: "share/small", executable: false, chunks: [small.0]),
        ]
        var bytes: [Digest256: [UInt8]] = [:]
        for (ref, b) in big + [twice, small] { bytes[ref.digest] = b }
        return (try Manifest(app: "demo", version: SemanticVersion("2.0.0"), entries: entries), bytes)
    }

    @Test func heldChunksAreCopiedInRunsArrivingOnesWrittenAndTheCommittedTreeIsExact() throws {
        try withTemporaryDirectory { dir in
            let (manifest, bytes) = try Self.manifest()
            let store = try ChunkStore(root: dir + "/chunks")
            let distinct = manifest.distinctChunks.map(\.digest)
            // The store holds all but every fifth chunk (and the chunk placed twice), as after an earlier version.
            let arriving = Set(distinct.enumerated().filter { $0.offset % 5 == 0 }.map(\.element))
            for digest in distinct where !arriving.contains(digest) { #expect(try store.put(digest, bytes[digest]!)) }
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            let tree = try StagedTree(manifest, installer: installer)
            tree.fill(from: store)
            #expect(!tree.isComplete && tree.problem == "\(arriving.count) of \(distinct.count) chunks not written")
            #expect(throws: UpdateError.self) { _ = try tree.commit() }
            for digest in arriving.sorted(by: { $0.hex < $1.hex }) { tree.write(digest, bytes[digest]!) }
            #expect(tree.isComplete)
            let path = try tree.commit()
            #expect(path == dir + "/apps/demo/2.0.0" && tree.syncSeconds != nil)
            try installer.verifyTree(manifest, at: path)
            var st = stat()
            #expect(stat(path + "/bin/big", &st) == 0 && st.st_mode & 0o777 == 0o755)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/demo") == ["2.0.0"], "no staging directory is left")
        }
    }

    @Test func aChunkIsWrittenOnceAndOneTheManifestDoesNotListIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let (manifest, bytes) = try Self.manifest()
            let store = try ChunkStore(root: dir + "/chunks")
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            let tree = try StagedTree(manifest, installer: installer)
            let first = manifest.distinctChunks[0].digest
            tree.write(first, bytes[first]!)
            // The same digest again with other bytes (never happens: bytes are checked first) is not written again.
            tree.write(first, [UInt8](repeating: 0, count: bytes[first]!.count))
            let stranger = Self.chunks([500], salt: 9)[0]
            tree.write(stranger.0.digest, stranger.1)
            for chunk in manifest.distinctChunks.dropFirst() { tree.write(chunk.digest, bytes[chunk.digest]!) }
            try installer.verifyTree(manifest, at: try tree.commit())
        }
    }

    @Test func aDamagedChunkFoundAtStartIsDroppedNotStaged() throws {
        try withTemporaryDirectory { dir in
            let (manifest, bytes) = try Self.manifest()
            let written = try ChunkStore(root: dir + "/chunks")
            for (digest, b) in bytes { #expect(try written.put(digest, b)) }
            let victim = manifest.entries[0].chunks[3].digest
            var bad = bytes[victim]!
            bad[100] ^= 1
            try InstallerTests.damage(written, victim, with: bad)
            // As after a restart: nothing in the store is verified by this process yet.
            let store = try ChunkStore(root: dir + "/chunks")
            let tree = try StagedTree(manifest, installer: Installer(appsRoot: dir + "/apps", chunks: store))
            tree.fill(from: store)
            #expect(!store.contains(victim), "checked as it was read, and dropped to be fetched again")
            #expect(tree.problem == "1 of \(manifest.distinctChunks.count) chunks not written")
            tree.write(victim, bytes[victim]!)
            try Installer(appsRoot: dir + "/apps", chunks: store).verifyTree(manifest, at: try tree.commit())
        }
    }

    @Test func eachFileIsLaidOutAtItsSizeWithItsBlocksReserved() throws {
        try withTemporaryDirectory { dir in
            let (manifest, _) = try Self.manifest()
            let store = try ChunkStore(root: dir + "/chunks")
            let tree = try StagedTree(manifest, installer: Installer(appsRoot: dir + "/apps", chunks: store))
            defer { tree.abandon() }
            guard case .file(_, let fileSize, _, _) = manifest.entries.first(where: { $0.path == "bin/big" })!.kind else {
                Issue.record("bin/big is not a file")
                return
            }
            let size = Int(fileSize)
            var st = stat()
            #expect(stat(tree.root + "/bin/big", &st) == 0 && st.st_size == off_t(size))
            // Where the file system can reserve blocks (ext4, xfs, tmpfs), they are reserved
            // before any byte is written: a full disk fails here, not mid-download.
            let probe = open(dir + "/probe", O_WRONLY | O_CREAT, 0o644)
            defer { close(probe) }
            if cfileops_reserve(probe, 4096) == 0 {
                #expect(Int(st.st_blocks) * 512 >= size, "\(st.st_blocks) blocks of 512 bytes for \(size) bytes")
            }
        }
    }

    @Test func anAbandonedTreeTakesNoMoreWritesAndLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            let (manifest, bytes) = try Self.manifest()
            let store = try ChunkStore(root: dir + "/chunks")
            for (digest, b) in bytes { #expect(try store.put(digest, b)) }
            let tree = try StagedTree(manifest, installer: Installer(appsRoot: dir + "/apps", chunks: store))
            tree.abandon()
            tree.fill(from: store)
            let first = manifest.distinctChunks[0].digest
            tree.write(first, bytes[first]!)
            #expect(!tree.isComplete)
            #expect(throws: UpdateError.self) { _ = try tree.commit() }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/demo").isEmpty)
        }
    }
}
