import BundlecastCore
import CFileOps
import Foundation
import Publisher
import Synchronization

/// The content-addressed chunk store, shared by every version of every app:
/// chunks appended to pack files under `DATA/chunks/packs/` (``ChunkPack``),
/// with an index in memory (digest → pack, offset, size) rebuilt at start by
/// reading the records' headers.
///
/// Why packs and not a file per chunk: a node stores a chunk every few
/// milliseconds while it downloads, and creating, renaming and later deleting
/// an inode per chunk cost much of a node's CPU (ext4's inode allocator,
/// the directory updates and their journal). Appending to an open file costs
/// one `pwritev`.
///
/// A chunk is checked against its digest before it is written. Chunks are
/// not fsynced one by one: a kill -9 loses nothing the kernel accepted, and
/// after a power cut a chunk cut short must not be trusted. So only chunks
/// this process checked and wrote are *verified*; a chunk found on disk at
/// start is re-hashed the first time it is read (to serve it or to install
/// it), and dropped if it no longer matches (to be fetched again). Install
/// copies verified chunks in the kernel (``copy(_:to:)``) without re-hashing.
///
/// Dropped chunks get a tombstone in their pack; a pack with no live chunk
/// left is deleted, and ``collect(keeping:)`` moves the live chunks out of
/// packs that are mostly dead, so the disk holds about what the index says.
/// Every read and write is an explicit `pread`/`pwrite` (or
/// `copy_file_range`), never a memory map. Reads, which may wait for the disk,
/// run off the event loops. ``putVerified(_:_:)`` of a chunk just received runs
/// on the transfer loop that read it: a write into the page cache with no fsync
/// (and, once per pack, a file created), so the loop waits for the disk only as
/// long as the kernel holds back a writer, and gossip has its own loop.
public final class ChunkStore: Sendable {
    public let root: String
    /// The most bytes of chunks the store may hold (`--max-store`), if limited.
    public let limit: UInt64?
    let directory: String
    let state: Mutex<State>
    /// When the store was opened (monotonic nanoseconds), the origin of ``clock()``.
    let opened: UInt64
    /// The largest chunk format version 1 allows.
    public static let maxChunk = 256 << 10

    /// - Parameter packSize: a pack takes no more appends once it is this large (small in tests).
    public init(root: String, limit: UInt64? = nil, packSize: UInt64 = ChunkPack.targetSize) throws {
        opened = DispatchTime.now().uptimeNanoseconds
        self.root = root
        self.limit = limit
        directory = root + "/packs"
        try AtomicWrite.makeDirectories(directory)
        var s = State(packSize: packSize)
        let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .compactMap(ChunkPack.number(ofName:)).sorted()
        for number in numbers {
            let file = try ChunkPack.open(number, in: directory, create: false)
            let (records, end) = file.scan()
            s.packs[number] = Pack(file: file, end: end)
            for record in records {
                // A chunk in two packs (a compaction cut short): the newer copy wins, so a drop
                // recorded there is not undone by the older one; but only if its bytes check
                // out, since the cut may have left it torn while the older one is whole and
                // synced (it may be the fleet's only copy).
                if let older = s.chunks[record.digest] {
                    // Twice in one pack (a crash between a duplicate write and its tombstone): one is enough.
                    if older.pack == number {
                        file.bury(recordAt: record.offset)
                        continue
                    }
                    guard Self.holdsIntact(file, record) else {
                        file.bury(recordAt: record.offset)
                        continue
                    }
                    if let removed = s.remove(record.digest) {
                        removed.record.0.bury(recordAt: removed.record.1)
                        if let emptied = removed.emptied { unlink(emptied.path) }
                    }
                }
                s.insert(record.digest, Location(pack: number, offset: record.offset, size: record.size, verified: false))
            }
            s.nextNumber = s.number(after: number)
            if s.packs[number]!.live == 0 {
                unlink(file.path)
                s.packs[number] = nil
            } else if number == numbers.last, end == file.size, end < packSize {
                // A clean tail: keep appending where the last run stopped.
                s.active = number
            }
        }
        state = Mutex(s)
        try importLegacyFiles()
    }

    /// Whether a record's bytes are there in full and hash to its digest.
    private static func holdsIntact(_ file: ChunkPack, _ record: ChunkPack.Record) -> Bool {
        var bytes = [UInt8](repeating: 0, count: Int(record.size))
        let read = bytes.withUnsafeMutableBytes { file.read(into: $0, count: Int(record.size), at: record.offset + UInt64(ChunkPack.headerSize)) }
        return read && Blake2b.digest256(bytes) == record.digest
    }

    /// Stores of earlier versions kept a file per chunk (`chunks/XX/HEX`, and `chunks/tmp`):
    /// their chunks move into a pack, not yet verified, and the files go.
    private func importLegacyFiles() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var done: [String] = []
        var dirs: [String] = []
        for prefix in names where prefix.utf8.count == 2 && prefix.allSatisfy(\.isHexDigit) {
            let dir = root + "/" + prefix
            dirs.append(dir)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                let path = dir + "/" + name
                guard let digest = Digest256(hex: name), name.hasPrefix(prefix), !contains(digest) else {
                    done.append(path)
                    continue
                }
                // A file that cannot be read now stays, for the next start to try again.
                guard let bytes = try? PosixFile.readAll(path, limit: Self.maxChunk) else { continue }
                // Already on disk: moved, not counted against --max-store as a new chunk would be.
                if !bytes.isEmpty { try append(digest, bytes, verified: false, limited: false) }
                done.append(path)
            }
        }
        // The copies reach the disk before the files they replace are gone.
        if !done.isEmpty { syncPacks() }
        for path in done { unlink(path) }
        for dir in dirs { rmdir(dir) }
        if names.contains("tmp") { try? FileManager.default.removeItem(atPath: root + "/tmp") }
    }

    /// fdatasyncs every pack (before records elsewhere are buried or deleted for good).
    private func syncPacks() {
        for pack in state.withLock({ $0.packs.values.map(\.file) }) { fdatasync(pack.fd) }
    }

    public func contains(_ digest: Digest256) -> Bool { state.withLock { $0.chunks[digest] != nil } }

    /// Whether the chunk was checked against its digest by this process (written by it, or
    /// re-hashed when first read), so it cannot have been cut short by a power cut since.
    public func isVerified(_ digest: Digest256) -> Bool { state.withLock { $0.chunks[digest]?.verified == true } }

    public func size(_ digest: Digest256) -> Int? { state.withLock { $0.chunks[digest].map { Int($0.size) } } }

    public var count: Int { state.withLock { $0.chunks.count } }

    /// Bytes of all the chunks held.
    public var usedBytes: UInt64 { state.withLock { $0.bytes } }

    /// Pack files on disk (for status and tests).
    public var packCount: Int { state.withLock { $0.packs.count } }

    /// Room left under the limit (nil when unlimited).
    public var freeBytes: UInt64? {
        guard let limit else { return nil }
        return state.withLock { p in limit > p.bytes + p.reserved ? limit - p.bytes - p.reserved : 0 }
    }

    /// Which of `digests` are present, in the same order.
    public func presence(_ digests: [Digest256]) -> [Bool] {
        state.withLock { p in digests.map { p.chunks[$0] != nil } }
    }

    /// Whether every chunk of `manifest` is present: the node holds that release complete.
    public func holdsEveryChunk(of manifest: Manifest) -> Bool {
        let digests = manifest.distinctChunks.map(\.digest)
        return state.withLock { p in digests.allSatisfy { p.chunks[$0] != nil } }
    }

    /// The chunk's pack and record, if it is held.
    private func lookup(_ digest: Digest256) -> (pack: ChunkPack, location: Location)? {
        state.withLock { s in s.chunks[digest].flatMap { l in s.packs[l.pack].map { ($0.file, l) } } }
    }

    /// Where a chunk's bytes lie on disk: its pack file and the offset of its first byte
    /// (for diagnostics and tests).
    public func placement(of digest: Digest256) -> (path: String, offset: UInt64)? {
        lookup(digest).map { ($0.pack.path, $0.location.offset + UInt64(ChunkPack.headerSize)) }
    }

    /// Checks `bytes` against `digest` and stores them. Returns false (and
    /// stores nothing) when they do not match.
    @discardableResult
    public func put(_ digest: Digest256, _ bytes: [UInt8]) throws -> Bool {
        guard !bytes.isEmpty, bytes.count <= Self.maxChunk, Blake2b.digest256(bytes) == digest else { return false }
        try putVerified(digest, bytes)
        return true
    }

    /// Stores bytes already checked against `digest`.
    public func putVerified(_ digest: Digest256, _ bytes: [UInt8]) throws {
        if contains(digest) { return }
        try append(digest, bytes, verified: true)
    }

    private func append(_ digest: Digest256, _ bytes: [UInt8], verified: Bool, limited: Bool = true) throws {
        precondition(!bytes.isEmpty && bytes.count <= Self.maxChunk, "chunk size out of range")
        let size = UInt64(bytes.count)
        let limit = limited ? self.limit : nil
        // Check and reserve in one step, so concurrent writers cannot together go over the limit.
        if let limit {
            let used = state.withLock { p -> UInt64? in
                guard p.bytes + p.reserved + size <= limit else { return p.bytes }
                p.reserved += size
                return nil
            }
            if let used { throw StoreFullError(limit: limit, used: used) }
        }
        defer { if limit != nil { state.withLock { $0.reserved -= size } } }
        let (pack, offset) = try writeRecord(digest, bytes)
        let (duplicate, done) = state.withLock { s -> (Bool, ChunkPack?) in
            let duplicate = s.chunks[digest] != nil
            if !duplicate { s.insert(digest, Location(pack: pack.number, offset: offset, size: UInt32(bytes.count), verified: verified, touched: clock())) }
            return (duplicate, s.finishWrite(in: pack.number))
        }
        // Another writer stored the same chunk meanwhile: this copy is dead weight.
        if duplicate { pack.bury(recordAt: offset) }
        if let done { unlink(done.path) }
    }

    /// Writes a record into the active pack and returns where. The write stays counted in
    /// its pack (which is not deleted meanwhile) until the caller records it and calls
    /// ``State/finishWrite(in:)``; a failed write seals the pack and throws.
    func writeRecord(_ digest: Digest256, _ bytes: [UInt8]) throws -> (ChunkPack, UInt64) {
        let (pack, offset) = try state.withLock { s in try s.reserve(bytes.count, in: directory) }
        do {
            try pack.write(digest, bytes, at: offset)
        } catch {
            if let done = state.withLock({ $0.seal(pack.number) }) { unlink(done.path) }
            throw error
        }
        return (pack, offset)
    }

    /// The chunk's bytes, checked against the digest if this process has not checked them yet.
    public func read(_ digest: Digest256) throws -> [UInt8]? {
        guard let size = size(digest) else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = bytes.withUnsafeMutableBytes { read(digest, into: $0) }
        return n == size ? bytes : nil
    }

    /// Reads the chunk's bytes into the start of `buffer`; returns how many (its size), or
    /// nil when it is not present or `buffer` is too small. A chunk cut short, or one found
    /// at start that no longer hashes to its digest, is dropped.
    public func read(_ digest: Digest256, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let (pack, location) = lookup(digest), buffer.count >= Int(location.size) else { return nil }
        let size = Int(location.size)
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
        guard pack.read(into: target, count: size, at: location.offset + UInt64(ChunkPack.headerSize)) else {
            remove(digest)
            return nil
        }
        if !location.verified {
            guard Blake2b.digest256(UnsafeRawBufferPointer(target)) == digest else {
                remove(digest)
                return nil
            }
            state.withLock { s in
                if s.chunks[digest]?.pack == location.pack, s.chunks[digest]?.offset == location.offset {
                    s.chunks[digest]!.verified = true
                    s.chunks[digest]!.touched = clock()
                }
            }
        }
        return size
    }

    /// A descriptor of its own on the file that holds a verified chunk, and where the chunk's
    /// bytes lie in it, so the kernel can send them (`sendfile`) with no read into memory; nil
    /// when the chunk is not held or not verified (read it instead: ``read(_:into:)`` checks
    /// it). The caller closes the descriptor. It is a duplicate, so the pack may be deleted
    /// meanwhile: its bytes stay readable until the descriptor closes. A pack cut short under
    /// the running node drops the chunk (the kernel would send less than the frame promised).
    ///
    /// `recent`: this process wrote, checked or sent the chunk less than ``recentSeconds``
    /// ago, so its bytes are taken to be in the page cache (sending it does not wait for the
    /// disk); sending it now counts as a use.
    public func openForSending(_ digest: Digest256) -> (fd: Int32, offset: UInt64, size: Int, recent: Bool)? {
        let now = clock()
        let found = state.withLock { s -> (ChunkPack, Location)? in
            guard let l = s.chunks[digest], l.verified, let pack = s.packs[l.pack] else { return nil }
            s.chunks[digest]!.touched = now
            return (pack.file, l)
        }
        guard let (pack, location) = found else { return nil }
        let offset = location.offset + UInt64(ChunkPack.headerSize)
        guard pack.size >= offset + UInt64(location.size) else {
            remove(digest)
            return nil
        }
        let fd = fcntl(pack.fd, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { return nil }
        // Another thread may have touched it a second later than `now` was read.
        let age = now > location.touched ? now - location.touched : 0
        return (fd, offset, Int(location.size), location.touched != 0 && age < Self.recentSeconds)
    }

    /// How long bytes this process wrote, checked or sent are taken to stay in the page cache.
    public static let recentSeconds: UInt32 = 30

    /// Seconds since this store was opened, from the monotonic clock; at least 1, so that 0
    /// means never.
    func clock() -> UInt32 {
        UInt32(clamping: (DispatchTime.now().uptimeNanoseconds &- opened) / 1_000_000_000 + 1)
    }

    /// Appends a verified chunk to `file` at its current offset, in the kernel. Returns
    /// false when the chunk is not present or not verified (read and check it instead);
    /// throws ``InstallError/corruptChunk(_:)`` (after dropping it) when it was cut short.
    public func copy(_ digest: Digest256, to file: PosixFile) throws -> Bool {
        try copy(digest, path: file.path) { pack, from, size in cfileops_append(pack.fd, from, file.fd, size) }
    }

    /// Copies a verified chunk into the file open as `fd` at `offset`, in the kernel; as
    /// ``copy(_:to:)`` otherwise.
    public func copy(_ digest: Digest256, toDescriptor fd: Int32, at offset: UInt64, path: String) throws -> Bool {
        try copy(digest, path: path) { pack, from, size in cfileops_copy_at(pack.fd, from, fd, Int(offset), size) }
    }

    private func copy(_ digest: Digest256, path: String, _ body: (ChunkPack, Int, Int) -> Int32) throws -> Bool {
        guard let (pack, location) = lookup(digest), location.verified else { return false }
        guard body(pack, Int(location.offset) + ChunkPack.headerSize, Int(location.size)) == 0 else {
            if errno == ENODATA {
                remove(digest)
                throw InstallError.corruptChunk(digest)
            }
            throw FileError.errno("write", path)
        }
        return true
    }

    /// Drops a chunk (garbage collection, or a stored chunk found corrupt).
    public func remove(_ digest: Digest256) {
        guard let (record, emptied) = state.withLock({ $0.remove(digest) }) else { return }
        record.0.bury(recordAt: record.1)
        if let emptied { unlink(emptied.path) }
    }
}

/// The store would go over `--max-store`.
public struct StoreFullError: Error, CustomStringConvertible {
    public let limit: UInt64
    public let used: UInt64
    public var description: String {
        "the chunk store is full: \(ByteCount(used)) of --max-store \(ByteCount(limit)) used"
    }
}
