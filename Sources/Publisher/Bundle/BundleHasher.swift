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

    /// - Parameter progress: called on this thread with (bytes done, bytes in all).
    public func entries(
        for items: [ScannedItem], root: String, progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> [ManifestEntry] {
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
                let before = done
                let chunks = try hasher.chunks(ofFile: root + "/" + item.path, expectedSize: size) {
                    progress(before + $0, totalBytes)
                }
                entries.append(.file(path: item.path, executable: executable, chunks: chunks))
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
                entries += try hashSmallFiles(batch, root: root)
                done += batchBytes
                progress(done, totalBytes)
            }
        }
        return entries
    }

    private func hashSmallFiles(_ batch: [ScannedItem], root: String) throws -> [ManifestEntry] {
        let slots = ResultSlots<ManifestEntry>(count: batch.count)
        let hasher = self.hasher
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            guard case .file(let size, let executable) = batch[i].kind else { return }
            slots.set(i, Result {
                let chunks = try hasher.chunks(ofSmallFile: root + "/" + batch[i].path, expectedSize: size)
                return .file(path: batch[i].path, executable: executable, chunks: chunks)
            })
        }
        return try slots.values()
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
