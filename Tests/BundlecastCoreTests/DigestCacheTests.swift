import BundlecastCore
import Foundation
@testable import Publisher
import Testing
import TestSupport

/// The release digest cache: a file's chunks are taken from it only while the file's stamp
/// is the one recorded, and whatever the cache holds, the manifest is the one a release
/// without it writes.
@Suite struct DigestCacheTests {
    /// A clock far ahead: every file counts as last changed long before the release.
    let later = FileStamp.Timestamp.now().adding(seconds: 3600)

    func makeBundle(_ root: String) throws {
        try write(root + "/index.html", "<h1>hello</h1>")
        try write(root + "/app.js", String(repeating: "console.log(1);\n", count: 500))
        try FileManager.default.createDirectory(atPath: root + "/media", withIntermediateDirectories: true)
        // Above the small-file limit: hashed through the streaming pipeline.
        var bytes = [UInt8](repeating: 0, count: 3 << 20)
        var x: UInt32 = 7
        for i in bytes.indices { x = x &* 1_103_515_245 &+ 12_345; bytes[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/media/video.bin"))
        try FileManager.default.createSymbolicLink(atPath: root + "/latest.html", withDestinationPath: "index.html")
    }

    func hash(_ root: String, cache: inout DigestCache?, trustBefore: FileStamp.Timestamp) throws
        -> (entries: [ManifestEntry], cacheUse: BundleHasher.CacheUse) {
        try BundleHasher().entries(for: try BundleScanner.scan(root), root: root, cache: &cache, trustBefore: trustBefore)
    }

    func uncached(_ root: String) throws -> [ManifestEntry] {
        try BundleHasher().entries(for: try BundleScanner.scan(root), root: root)
    }

    @Test func unchangedFilesComeFromTheCacheAndOnlyTheChangedOneIsRead() throws {
        try withTemporaryDirectory { dir in
            try makeBundle(dir)
            var cache: DigestCache? = DigestCache(root: dir)
            let first = try hash(dir, cache: &cache, trustBefore: later)
            #expect(first.cacheUse.files == 0)
            #expect(cache?.entries.count == 3)

            try write(dir + "/app.js", String(repeating: "console.log(2);\n", count: 500))  // same size, new bytes
            let second = try hash(dir, cache: &cache, trustBefore: later)
            #expect(second.cacheUse.files == 2)
            #expect(second.cacheUse.bytes == UInt64(14 + (3 << 20)))
            #expect(second.entries == (try uncached(dir)))
            #expect(second.entries != first.entries)
            #expect(cache?.entries.count == 3)
        }
    }

    @Test func aFileRewrittenWithItsOldMtimeIsReadAgain() throws {
        try withTemporaryDirectory { dir in
            try makeBundle(dir)
            var cache: DigestCache? = DigestCache(root: dir)
            _ = try hash(dir, cache: &cache, trustBefore: later)
            let path = dir + "/media/video.bin"
            let before = try #require(FileStamp.of(path))
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: 1 << 20)
            handle.write(Data([1, 2, 3, 4]))
            try handle.close()
            // Put mtime back as `touch -d` would: ctime still moves, and gives the change away.
            var times = [timespec(tv_sec: Int(before.modified.seconds), tv_nsec: Int(before.modified.nanoseconds)),
                         timespec(tv_sec: Int(before.modified.seconds), tv_nsec: Int(before.modified.nanoseconds))]
            let restored = utimensat(AT_FDCWD, path, &times, 0)
            #expect(restored == 0)
            #expect(FileStamp.of(path)?.modified == before.modified)

            let again = try hash(dir, cache: &cache, trustBefore: later)
            #expect(again.cacheUse.files == 2)
            #expect(again.entries == (try uncached(dir)))
        }
    }

    @Test func filesChangedJustBeforeTheReleaseAreNotRecorded() throws {
        try withTemporaryDirectory { dir in
            try makeBundle(dir)
            var cache: DigestCache? = DigestCache(root: dir)
            // What a release does: trust only changes a second older than its start.
            _ = try hash(dir, cache: &cache, trustBefore: FileStamp.Timestamp.now().adding(seconds: -1))
            #expect(cache?.entries.isEmpty == true)
        }
    }

    @Test func aReleaseWithACacheWritesTheManifestAReleaseWithoutOneWrites() throws {
        try withTemporaryDirectory { dir in
            try makeBundle(dir + "/bundle")
            let key = SecretKey.generate()
            func release(_ version: String, cache: String?) throws -> ReleaseSummary {
                var request = ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion(version), created: 1_700_000_000)
                request.cacheDirectory = cache
                return try Releaser(store: ManifestStore(root: dir + "/Manifests-\(cache == nil ? "plain" : "cached")")).release(request, key: key)
            }
            let cached = try release("1.0.0", cache: dir + "/cache")
            let plain = try release("1.0.0", cache: nil)
            #expect(cached.manifestBytes == plain.manifestBytes)
            #expect(cached.cacheWarning == nil)
            // The files were written a moment ago: none is trusted yet, but the file exists, owner-only.
            let file = try DigestCacheFile(bundle: dir + "/bundle", directory: dir + "/cache")
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(file.load().entries.isEmpty)
        }
    }

    @Test func aCacheFileSurvivesTheRoundTripAndBelongsToOneBundle() throws {
        try withTemporaryDirectory { dir in
            try makeBundle(dir)
            var cache: DigestCache? = DigestCache(root: dir)
            _ = try hash(dir, cache: &cache, trustBefore: later)
            let stored = try #require(cache)
            #expect(DigestCache(decoding: stored.encoded(), root: dir) == stored)
            #expect(DigestCache(decoding: stored.encoded(), root: dir + "/other") == nil)
        }
    }

    enum Damage: String, CaseIterable, Sendable {
        case flippedByte, truncated, empty, extended, onlyMagic
    }

    @Test(arguments: Damage.allCases)
    func aDamagedCacheIsIgnoredWhole(_ damage: Damage) throws {
        var cache = DigestCache(root: "/b")
        let stamp = FileStamp(device: 1, inode: 2, size: 70_000, modified: .init(seconds: 3, nanoseconds: 4),
                              changed: .init(seconds: 5, nanoseconds: 6))
        let digest = Blake2b.digest256(Array("x".utf8))
        let recorded = cache.record("a", stamp: stamp, chunks: [ChunkRef(digest: digest, size: 65_536), ChunkRef(digest: digest, size: 4_464)])
        #expect(recorded)
        var bytes = cache.encoded()
        switch damage {
        case .flippedByte: bytes[bytes.count / 2] ^= 0x40
        case .truncated: bytes.removeLast(9)
        case .empty: bytes = []
        case .extended: bytes += [0]
        case .onlyMagic: bytes = DigestCache.magic
        }
        #expect(DigestCache(decoding: bytes, root: "/b") == nil)
    }

    @Test(arguments: [
        ([65_536, 4_464], 70_000, true),
        ([65_536, 4_463], 70_000, false),   // sums short
        ([65_536, 4_465], 70_000, false),   // sums over
        ([4_464, 65_536], 70_000, false),   // a chunk below the minimum before the last
        ([300_000], 300_000, false),        // above the chunker's maximum
        ([0, 70_000], 70_000, false),       // an empty chunk
    ])
    func onlyChunksTheChunkerCouldHaveCutAreRecorded(_ sizes: [UInt32], _ size: UInt64, _ kept: Bool) {
        var cache = DigestCache(root: "/b")
        let stamp = FileStamp(device: 1, inode: 2, size: size, modified: .init(seconds: 0, nanoseconds: 0),
                              changed: .init(seconds: 0, nanoseconds: 0))
        let digest = Blake2b.digest256(Array("x".utf8))
        let recorded = cache.record("a", stamp: stamp, chunks: sizes.map { ChunkRef(digest: digest, size: $0) })
        #expect(recorded == kept)
    }
}
