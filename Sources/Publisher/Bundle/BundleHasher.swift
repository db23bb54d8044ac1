import BundlecastCore
import Dispatch

/// Turns scanned items into manifest entries: small files are hashed many at
/// a time across the cores, large ones one at a time through the
/// ``ChunkHasher`` pipeline.
public struct BundleHasher: Sendable {
    /// Files below this size are read whole and hashed in parallel batches.
    public static let smallFileLimit: UInt64 = 1 << 20
    let hasher = ChunkHasher()

    public init() {}

    /// What hashing a bundle with a ``DigestCache`` did.
    public struct CacheUse: Sendable, Equatable {
        /// Files whose chunks came from the cache, and their bytes (not read).
        public var files = 0
        public var bytes: UInt64 = 0
    }

    /// - Parameter progress: called on this thread with (bytes done, bytes in all).
    public func entries(
        for items: [ScannedItem], root: String, progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> [ManifestEntry] {
        var none: DigestCache? = nil
        return try entries(for: items, root: root, cache: &none, trustBefore: .now(), progress: progress).entries
    }

    /// The entries of `items`, taking a file's chunks from `cache` when its stamp is the one
    /// recorded, and leaving in `cache` exactly the entries of these files.
    ///
    /// A file is recorded only if its stamp was the same before and after it was read, and
    /// its last change came before `trustBefore`: a file changed in the same clock tick as
    /// it was read could change again without its stamp moving (the race git calls "racily
    /// clean"). Callers pass a second before the hashing starts.
    public func entries(
        for items: [ScannedItem], root: String, cache: inout DigestCache?, trustBefore: FileStamp.Timestamp,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> (entries: [ManifestEntry], cacheUse: CacheUse) {
        // Sizes come from lstat (sparse files can claim 2^63 bytes each): summed with a check,
        // and a bundle no manifest could hold is refused before a byte is read.
        var totalBytes: UInt64 = 0
        for item in items {
            guard case .file(let size, _) = item.kind else { continue }
            let (sum, overflow) = totalBytes.addingReportingOverflow(size)
            guard !overflow, sum <= Manifest.maxSize else {
                throw ManifestError("the bundle's files add up to more than \(Manifest.maxSize) bytes (at \"\(item.path)\")")
            }
            totalBytes = sum
        }
        let old = cache
        var fresh = cache.map { DigestCache(root: $0.root, parameters: $0.parameters) }
        var use = CacheUse()
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(items.count)
        var done: UInt64 = 0
        var index = 0
        while index < items.count {
            let item = items[index]
            switch item.kind {
            case .symlink(let target):
                entries.append(ManifestEntry(path: item.path, kind: .symlink(target: target)))
                index += 1
            case .file(let size, let executable) where size >= Self.smallFileLimit:
                let hashed = try hashLargeFile(item, root: root, cache: old, trustBefore: trustBefore) {
                    progress(done + $0, totalBytes)
                }
                record(hashed, item: item, into: &fresh, use: &use)
                entries.append(.file(path: item.path, executable: executable, chunks: hashed.chunks))
                done += size
                index += 1
            case .file:
                var batch: [ScannedItem] = []
                var batchBytes: UInt64 = 0
                while index < items.count, batch.count < 256, batchBytes < (16 << 20),
                      case .file(let size, _) = items[index].kind, size < Self.smallFileLimit {
                    batch.append(items[index])
                    batchBytes += size
                    index += 1
                }
                for (item, hashed) in zip(batch, try hashSmallFiles(batch, root: root, cache: old, trustBefore: trustBefore)) {
                    guard case .file(_, let executable) = item.kind else { continue }
                    record(hashed, item: item, into: &fresh, use: &use)
                    entries.append(.file(path: item.path, executable: executable, chunks: hashed.chunks))
                }
                done += batchBytes
                progress(done, totalBytes)
            }
        }
        cache = fresh
        return (entries, use)
    }

    /// A file's chunks and whether they may go into the cache.
    struct Hashed: Sendable {
        var chunks: [ChunkRef]
        var fromCache = false
        var recordable = false
    }

    private func record(_ hashed: Hashed, item: ScannedItem, into cache: inout DigestCache?, use: inout CacheUse) {
        guard let stamp = item.stamp else { return }
        if hashed.fromCache {
            use.files += 1
            use.bytes += stamp.size
        }
        if hashed.fromCache || hashed.recordable { cache?.record(item.path, stamp: stamp, chunks: hashed.chunks) }
    }

    private func hashLargeFile(
        _ item: ScannedItem, root: String, cache: DigestCache?, trustBefore: FileStamp.Timestamp, progress: (UInt64) -> Void
    ) throws -> Hashed {
        guard case .file(let size, _) = item.kind else { return Hashed(chunks: []) }
        if let stamp = item.stamp, let chunks = cache?.chunks(for: item.path, stamp: stamp) {
            progress(size)
            return Hashed(chunks: chunks, fromCache: true)
        }
        let full = root + "/" + item.path
        let chunks = try hasher.chunks(ofFile: full, expectedSize: size, identity: item.stamp?.identity, progress: progress)
        return Hashed(chunks: chunks, recordable: Self.unchanged(item, at: full, trustBefore: trustBefore))
    }

    private func hashSmallFiles(
        _ batch: [ScannedItem], root: String, cache: DigestCache?, trustBefore: FileStamp.Timestamp
    ) throws -> [Hashed] {
        let slots = ResultSlots<Hashed>(count: batch.count)
        let hasher = self.hasher
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            let item = batch[i]
            guard case .file(let size, _) = item.kind else { return }
            if let stamp = item.stamp, let chunks = cache?.chunks(for: item.path, stamp: stamp) {
                slots.set(i, .success(Hashed(chunks: chunks, fromCache: true)))
                return
            }
            slots.set(i, Result {
                let full = root + "/" + item.path
                let chunks = try hasher.chunks(ofSmallFile: full, expectedSize: size, identity: item.stamp?.identity)
                return Hashed(chunks: chunks, recordable: Self.unchanged(item, at: full, trustBefore: trustBefore))
            })
        }
        return try slots.values()
    }

    /// Whether the file still has the stamp it was scanned with, last changed before `trustBefore`.
    private static func unchanged(_ item: ScannedItem, at full: String, trustBefore: FileStamp.Timestamp) -> Bool {
        guard let stamp = item.stamp, stamp.lastChange < trustBefore else { return false }
        return FileStamp.of(full) == stamp
    }
}

/// One result slot per index, each written by exactly one worker of a
/// `concurrentPerform` and read only after it returns.
private final class ResultSlots<T>: @unchecked Sendable {
    // Raw storage, not an Array property: concurrent writes to distinct
    // slots of a class's array would trip Swift's exclusivity checks.
    private let slots: UnsafeMutableBufferPointer<Result<T, any Error>?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    func set(_ i: Int, _ value: Result<T, any Error>) { slots[i] = value }

    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
