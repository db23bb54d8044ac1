import BundlecastCore
import Foundation
import Gossip
@testable import Node
import Testing
import TestSupport

@Suite struct InstallerTests {
    /// A manifest of real chunks put into a fresh store: a two-chunk executable, a small file, a symlink.
    static func fixture(_ dir: String, version: String = "1.0.0", salt: UInt8 = 0) throws -> (Manifest, ChunkStore) {
        let store = try ChunkStore(root: dir + "/chunks")
        var rng = SplitMix64(seed: UInt64(salt))
        func chunk(_ size: Int) throws -> ChunkRef {
            let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let digest = Blake2b.digest256(bytes)
            #expect(try store.put(digest, bytes))
            return ChunkRef(digest: digest, size: UInt32(size))
        }
        let entries = [
            ManifestEntry.file(path: "bin/tool", executable: true, chunks: [try chunk(70_000), try chunk(5_000)]),
            ManifestEntry(path: "current-data", kind: .symlink(target: "share/data")),
            ManifestEntry.file(path: "share/data", executable: false, chunks: [try chunk(100 + Int(salt))]),
        ]
        return (try Manifest(app: "demo", version: SemanticVersion(version), entries: entries), store)
    }

    @Test func materializesVerifiesAndSwapsCurrent() throws {
        try withTemporaryDirectory { dir in
            let (manifest, store) = try Self.fixture(dir)
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            let path = try installer.materialize(manifest)
            try installer.verifyTree(manifest, at: path)
            var st = stat()
            #expect(stat(path + "/bin/tool", &st) == 0 && st.st_mode & 0o777 == 0o755)
            #expect(stat(path + "/share/data", &st) == 0 && st.st_mode & 0o777 == 0o644)
            try installer.switchCurrent(app: "demo", to: "1.0.0")
            #expect(installer.current(app: "demo") == "1.0.0")
            // No staging or temporary link is left beside the versions.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/demo").sorted() == ["1.0.0", "current"])
        }
    }

    /// Overwrites stored bytes in place, as a power cut or a failing disk would.
    static func damage(_ store: ChunkStore, _ digest: Digest256, with bytes: [UInt8]) throws {
        let (path, offset) = try #require(store.placement(of: digest))
        let fd = open(path, O_WRONLY)
        defer { close(fd) }
        #expect(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) } == bytes.count)
    }

    @Test func aChunkDamagedOnDiskIsCaughtAndDropped() throws {
        try withTemporaryDirectory { dir in
            let (manifest, written) = try Self.fixture(dir)
            let victim = manifest.entries[0].chunks[1].digest
            var bytes = try #require(try written.read(victim))
            bytes[0] ^= 1
            try Self.damage(written, victim, with: bytes)
            // As after a power cut: the next run finds the chunks on disk, so install checks them again.
            let store = try ChunkStore(root: dir + "/chunks")
            #expect(written.isVerified(victim) && !store.isVerified(victim))
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            #expect(throws: InstallError.corruptChunk(victim)) { try installer.materialize(manifest) }
            #expect(!store.contains(victim), "the bad chunk is dropped so it is fetched again")
            #expect(installer.current(app: "demo") == nil)
            #expect(!FileManager.default.fileExists(atPath: dir + "/apps/demo/1.0.0"), "nothing half-written is left as a version")
            // The drop is on disk too: a restart does not find the bad chunk again.
            #expect(try !ChunkStore(root: dir + "/chunks").contains(victim))
        }
    }

    @Test func aChunkFoundAtStartIsCheckedWhenFirstReadAndThenTrusted() throws {
        try withTemporaryDirectory { dir in
            let (manifest, _) = try Self.fixture(dir)
            let store = try ChunkStore(root: dir + "/chunks")
            let digest = manifest.entries[0].chunks[0].digest
            #expect(store.contains(digest) && !store.isVerified(digest))
            let bytes = try #require(try store.read(digest))
            #expect(Blake2b.digest256(bytes) == digest && store.isVerified(digest))
            // Served to a peer: damaged bytes of a chunk found at start are dropped, not sent.
            let other = manifest.entries[2].chunks[0].digest
            try Self.damage(store, other, with: [0xff])
            var buffer = [UInt8](repeating: 0, count: ChunkStore.maxChunk)
            #expect(buffer.withUnsafeMutableBytes { store.read(other, into: $0) } == nil)
            #expect(!store.contains(other))
        }
    }

    @Test func onlyAVerifiedChunkWholeOnDiskIsOpenedForSending() throws {
        /// Whether the store hands out a descriptor for the chunk (closed again at once).
        func opens(_ store: ChunkStore, _ digest: Digest256) -> Bool {
            guard let open = store.openForSending(digest) else { return false }
            close(open.fd)
            return true
        }
        try withTemporaryDirectory { dir in
            let (manifest, store) = try Self.fixture(dir)
            let digest = manifest.entries[0].chunks[0].digest
            let open = try #require(store.openForSending(digest))
            #expect(open.recent, "written by this process a moment ago: taken to be in the page cache")
            var bytes = [UInt8](repeating: 0, count: open.size)
            #expect(pread(open.fd, &bytes, open.size, off_t(open.offset)) == open.size)
            close(open.fd)
            #expect(Blake2b.digest256(bytes) == digest, "the region is the chunk's bytes, not its record header")
            // Found at start, not checked yet: read (and checked) first, then sent from the file.
            let reopened = try ChunkStore(root: dir + "/chunks")
            #expect(!opens(reopened, digest))
            _ = try reopened.read(digest)
            #expect(opens(reopened, digest))
            // A pack cut short under the running node: the chunk is dropped, not sent short.
            let victim = manifest.entries[2].chunks[0].digest
            let (path, offset) = try #require(store.placement(of: victim))
            #expect(truncate(path, off_t(offset) + 10) == 0)
            #expect(!opens(store, victim))
            #expect(!store.contains(victim))
        }
    }

    @Test func chunksCheckedThisRunAreCopiedAndAChunkCutShortIsCaught() throws {
        try withTemporaryDirectory { dir in
            let (manifest, store) = try Self.fixture(dir)
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            // Copied by the kernel, not re-hashed: the tree still matches the manifest byte for byte.
            try installer.verifyTree(manifest, at: try installer.materialize(manifest))
            // A pack cut short under a running node (not by a power cut) is still caught.
            let victim = manifest.entries[2].chunks[0].digest
            #expect(store.isVerified(victim))
            let (path, offset) = try #require(store.placement(of: victim))
            #expect(truncate(path, off_t(offset) + 10) == 0)
            let elsewhere = Installer(appsRoot: dir + "/apps2", chunks: store)
            #expect(throws: InstallError.corruptChunk(victim)) { try elsewhere.materialize(manifest) }
            #expect(!store.contains(victim) && !store.isVerified(victim))
        }
    }

    @Test func aTamperedInstalledTreeIsRewritten() throws {
        try withTemporaryDirectory { dir in
            let (manifest, store) = try Self.fixture(dir)
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            let path = try installer.materialize(manifest)
            try Data("evil".utf8).write(to: URL(fileURLWithPath: path + "/share/data"))
            #expect(throws: InstallError.self) { try installer.verifyTree(manifest, at: path) }
            _ = try installer.materialize(manifest)
            try installer.verifyTree(manifest, at: path)
        }
    }

    @Test func storeRefusesBytesThatDoNotMatchAndRescansOnOpen() throws {
        try withTemporaryDirectory { dir in
            let store = try ChunkStore(root: dir + "/chunks")
            let bytes = Array("chunk".utf8)
            #expect(try !store.put(Blake2b.digest256(Array("other".utf8)), bytes))
            #expect(try store.put(Blake2b.digest256(bytes), bytes))
            // A write killed before its header leaves garbage at the pack's tail: ignored on open,
            // and appends go on in a new pack after it.
            let (path, _) = try #require(store.placement(of: Blake2b.digest256(bytes)))
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.seekToEndOfFile()
            handle.write(Data([0, 0, 0, 7, 1, 2]))
            try handle.close()
            let reopened = try ChunkStore(root: dir + "/chunks")
            #expect(reopened.contains(Blake2b.digest256(bytes)))
            #expect(reopened.count == 1)
            let more = Array("more".utf8)
            #expect(try reopened.put(Blake2b.digest256(more), more))
            #expect(reopened.packCount == 2)
            #expect(try ChunkStore(root: dir + "/chunks").count == 2)
            #expect(reopened.collect(keeping: []).chunks == 2)
            #expect(reopened.count == 0 && reopened.packCount == 1, "the pack appended to stays, the other is deleted")
            #expect(try ChunkStore(root: dir + "/chunks").count == 0)
        }
    }

    @Test func aRecordCutShortByAKillIsSkippedAndTheRestIsKept() throws {
        try withTemporaryDirectory { dir in
            let store = try ChunkStore(root: dir + "/chunks")
            let a = Array(repeating: UInt8(1), count: 1000), b = Array(repeating: UInt8(2), count: 1000)
            #expect(try store.put(Blake2b.digest256(a), a))
            #expect(try store.put(Blake2b.digest256(b), b))
            // The first record's bytes half lost (its header and size intact), as a write cut short.
            try Self.damage(store, Blake2b.digest256(a), with: Array(repeating: 0, count: 500))
            let reopened = try ChunkStore(root: dir + "/chunks")
            #expect(reopened.count == 2, "the scan steps over the record by its size")
            #expect(try reopened.read(Blake2b.digest256(a)) == nil && !reopened.contains(Blake2b.digest256(a)))
            #expect(try reopened.read(Blake2b.digest256(b)) == b)
        }
    }

    @Test func aChunkInTwoPacksKeepsTheNewerCopyAndADropStaysDropped() throws {
        try withTemporaryDirectory { dir in
            let bytes = Array(repeating: UInt8(7), count: 500), digest = Blake2b.digest256(bytes)
            let store = try ChunkStore(root: dir + "/chunks")
            #expect(try store.put(digest, bytes))
            // As a compaction cut short by a crash leaves it: the same record in a newer pack too.
            let (path, _) = try #require(store.placement(of: digest))
            try FileManager.default.copyItem(atPath: path, toPath: dir + "/chunks/packs/pack-00000002")
            let reopened = try ChunkStore(root: dir + "/chunks")
            #expect(reopened.count == 1 && reopened.packCount == 1, "the older pack, left with nothing live, is deleted")
            #expect(reopened.placement(of: digest)?.path.hasSuffix("pack-00000002") == true)
            #expect(try reopened.read(digest) == bytes)
            reopened.remove(digest)
            #expect(try !ChunkStore(root: dir + "/chunks").contains(digest), "no older copy brings it back")
        }
    }

    /// An app directory that is a symlink (planted in the data directory) is not pruned:
    /// the removals would land in its target.
    @Test func pruningLeavesASymlinkedAppDirectoryAlone() throws {
        try withTemporaryDirectory { dir in
            let elsewhere = dir + "/elsewhere"
            try FileManager.default.createDirectory(atPath: elsewhere + "/precious", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/apps", withIntermediateDirectories: true)
            #expect(symlink(elsewhere, dir + "/apps/acme") == 0)
            let installer = Installer(appsRoot: dir + "/apps", chunks: try ChunkStore(root: dir + "/chunks"))
            #expect(!installer.prune(app: "acme", keep: ["1.0.0"]))
            #expect(FileManager.default.fileExists(atPath: elsewhere + "/precious"))
            // Whatever record a name comes from, `current` points only at a version's directory.
            for name in ["../../etc", "1.0.0/../../x", "", "01.0.0"] {
                #expect(throws: (any Error).self, "\(name)") { try installer.switchCurrent(app: "real", to: name) }
            }
            // A real app directory is pruned as before.
            try FileManager.default.createDirectory(atPath: dir + "/apps/real/0.9.0", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/apps/real/1.0.0", withIntermediateDirectories: true)
            #expect(installer.prune(app: "real", keep: ["1.0.0"]))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/real") == ["1.0.0"])
        }
    }

    /// The newer copy torn by the cut (its bytes never synced): the older, whole one stays.
    @Test func aTornNewerCopyGivesWayToTheWholeOlderOne() throws {
        try withTemporaryDirectory { dir in
            let bytes = Array(repeating: UInt8(9), count: 500), digest = Blake2b.digest256(bytes)
            let store = try ChunkStore(root: dir + "/chunks")
            #expect(try store.put(digest, bytes))
            let (path, _) = try #require(store.placement(of: digest))
            var copy = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            copy[copy.count - 1] ^= 0xFF
            try Data(copy).write(to: URL(fileURLWithPath: dir + "/chunks/packs/pack-00000002"))
            let reopened = try ChunkStore(root: dir + "/chunks")
            #expect(reopened.count == 1)
            #expect(reopened.placement(of: digest)?.path == path)
            #expect(try reopened.read(digest) == bytes)
        }
    }

    @Test func chunksOfAFilePerChunkStoreAreImported() throws {
        try withTemporaryDirectory { dir in
            let bytes = Array("an old chunk".utf8)
            let digest = Blake2b.digest256(bytes)
            let old = dir + "/chunks/" + digest.hex.prefix(2)
            try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/chunks/tmp", withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: old + "/" + digest.hex))
            try Data([1]).write(to: URL(fileURLWithPath: dir + "/chunks/tmp/leftover"))
            let store = try ChunkStore(root: dir + "/chunks")
            #expect(store.contains(digest) && !store.isVerified(digest))
            #expect(try store.read(digest) == bytes)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/chunks") == ["packs"])
        }
    }

    @Test func collectMovesLiveChunksOutOfMostlyDeadPacks() throws {
        try withTemporaryDirectory { dir in
            let store = try ChunkStore(root: dir + "/chunks", packSize: 1000)
            var rng = SplitMix64(seed: 3)
            let chunks = (0..<12).map { _ in (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            for c in chunks { #expect(try store.put(Blake2b.digest256(c), c)) }
            #expect(store.packCount == 4, "three 340-byte records fill a 1000-byte pack")
            // Keep one chunk of each of the first three packs: those packs are two thirds dead.
            let keep = [0, 3, 6, 9, 10, 11].map { Blake2b.digest256(chunks[$0]) }
            let collected = store.collect(keeping: Set(keep))
            #expect(collected.chunks == 6 && collected.bytes == 1800 && collected.problem == nil)
            #expect(store.packCount == 2, "the live chunks moved into the last pack and another")
            let reopened = try ChunkStore(root: dir + "/chunks", packSize: 1000)
            #expect(reopened.count == 6 && reopened.usedBytes == 1800)
            for i in [0, 3, 6, 9, 10, 11] { #expect(try reopened.read(Blake2b.digest256(chunks[i])) == chunks[i]) }
            let onDisk = try FileManager.default.contentsOfDirectory(atPath: dir + "/chunks/packs").count
            #expect(onDisk == 2)
        }
    }

    @Test func aStoreLimitRefusesAChunkThatWouldGoOverAndCountsBytesExactly() throws {
        try withTemporaryDirectory { dir in
            let store = try ChunkStore(root: dir + "/chunks", limit: 10)
            let a = Array("123456".utf8), b = Array("abcde".utf8), c = Array("xyzw".utf8)
            #expect(try store.put(Blake2b.digest256(a), a))
            #expect(store.usedBytes == 6 && store.freeBytes == 4)
            #expect(throws: StoreFullError.self) { try store.put(Blake2b.digest256(b), b) }
            #expect(!store.contains(Blake2b.digest256(b)) && store.usedBytes == 6)
            #expect(store.count == 1, "nothing half written")
            #expect(try store.put(Blake2b.digest256(c), c), "exactly up to the limit fits")
            #expect(try store.put(Blake2b.digest256(a), a), "a chunk already held takes no room")
            #expect(store.usedBytes == 10 && store.freeBytes == 0)
            store.remove(Blake2b.digest256(a))
            #expect(store.usedBytes == 4)
            let reopened = try ChunkStore(root: dir + "/chunks", limit: 10)
            #expect(reopened.usedBytes == 4)
            #expect(reopened.collect(keeping: []).bytes == 4 && reopened.usedBytes == 0)
        }
    }

    @Test func byteCountsReadLikeDiskTools() {
        #expect(ByteCount(0).description == "0 B")
        #expect(ByteCount(1023).description == "1023 B")
        #expect(ByteCount(1024).description == "1.0 KiB")
        #expect(ByteCount(1536).description == "1.5 KiB")
        #expect(ByteCount(4 << 20).description == "4.0 MiB")
        #expect(ByteCount(UInt64(1.25 * Double(1 << 30))).description == "1.3 GiB")
        #expect(ByteCount(.max).description == "16.0 EiB")
    }

    @Test func rolloutBucketsAreStableAndNested() {
        var rng = SplitMix64(seed: 9)
        let manifest = Blake2b.digest256(Array("m".utf8))
        var in10 = 0, in50 = 0
        for _ in 0..<1000 {
            let node = NodeID.random(using: &rng)
            let a = Updater.inRollout(node: node, manifest: manifest, percent: 10)
            let b = Updater.inRollout(node: node, manifest: manifest, percent: 50)
            #expect(!a || b, "ramping 10% → 50% keeps the first 10% in")
            #expect(Updater.bucket(node: node, manifest: manifest) == Updater.bucket(node: node, manifest: manifest))
            in10 += a ? 1 : 0
            in50 += b ? 1 : 0
        }
        #expect((60...140).contains(in10))
        #expect((420...580).contains(in50))
        #expect(!Updater.inRollout(node: NodeID(high: 1, low: 2), manifest: manifest, percent: 0))
        #expect(Updater.inRollout(node: NodeID(high: 1, low: 2), manifest: manifest, percent: 100))
    }
}
