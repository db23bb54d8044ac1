import BundlecastCore
import Foundation
import Publisher
import Synchronization

/// The content-addressed chunk store: `DATA/chunks/XX/HEX`, one file per
/// chunk, shared by every version of every app.
///
/// A chunk is checked against its digest before it is written, written to a
/// temporary file and renamed into place, so a file under its digest's name
/// is the whole, verified chunk: the directory is the presence record, and an
/// index in memory (rebuilt by one scan at start) answers "do I have it"
/// without touching the disk. Chunks are not fsynced one by one: a kill -9
/// loses nothing (the page cache survives it), and after a power cut a chunk
/// cut short is caught when install re-hashes it, then dropped and fetched
/// again. Only chunks found on disk at start need that: a power cut also ends
/// this process, so a chunk this process checked and wrote itself is intact
/// (``checkedThisRun(_:)``), and install copies it without hashing it again.
/// Every read and write is explicit `pread`/`write` (or `copy_file_range`),
/// never a memory map, and must run off the event loops.
public final class ChunkStore: Sendable {
    public let root: String
    /// The most bytes of chunks the store may hold (`--max-store`), if limited.
    public let limit: UInt64?
    private let present: Mutex<Index>
    /// The largest chunk format version 1 allows.
    public static let maxChunk = 256 << 10

    private struct Index {
        var sizes: [Digest256: UInt32]
        var bytes: UInt64
        /// Bytes being written now, counted against the limit until they are in (or failed).
        var reserved: UInt64 = 0
        /// Chunks this process checked against their digest and wrote.
        var checked: Set<Digest256> = []

        mutating func insert(_ digest: Digest256, _ size: UInt32) {
            if sizes.updateValue(size, forKey: digest) == nil { bytes += UInt64(size) }
        }

        mutating func remove(_ digest: Digest256) {
            if let size = sizes.removeValue(forKey: digest) { bytes -= UInt64(size) }
            checked.remove(digest)
        }
    }

    public init(root: String, limit: UInt64? = nil) throws {
        self.root = root
        self.limit = limit
        try AtomicWrite.makeDirectories(root + "/tmp")
        // Temporary files of a run that was killed are garbage.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [] {
            unlink(root + "/tmp/" + name)
        }
        var found = Index(sizes: [:], bytes: 0)
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where prefix.utf8.count == 2 {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix)) ?? [] {
                var st = stat()
                guard let digest = Digest256(hex: name), name.hasPrefix(prefix),
                      stat(root + "/" + prefix + "/" + name, &st) == 0, st.st_size > 0, st.st_size <= Self.maxChunk
                else { continue }
                found.insert(digest, UInt32(st.st_size))
            }
        }
        present = Mutex(found)
    }

    public func path(of digest: Digest256) -> String {
        let hex = digest.hex
        return root + "/" + hex.prefix(2) + "/" + hex
    }

    public func contains(_ digest: Digest256) -> Bool { present.withLock { $0.sizes[digest] != nil } }

    /// Whether this process checked the chunk against its digest and wrote it (so it cannot
    /// have been cut short by a power cut since: see the type's comment).
    public func checkedThisRun(_ digest: Digest256) -> Bool { present.withLock { $0.checked.contains(digest) } }

    public func size(_ digest: Digest256) -> Int? { present.withLock { $0.sizes[digest].map(Int.init) } }

    public var count: Int { present.withLock { $0.sizes.count } }

    /// Bytes of all the chunks held.
    public var usedBytes: UInt64 { present.withLock { $0.bytes } }

    /// Room left under the limit (nil when unlimited).
    public var freeBytes: UInt64? {
        guard let limit else { return nil }
        return present.withLock { p in limit > p.bytes + p.reserved ? limit - p.bytes - p.reserved : 0 }
    }

    /// Which of `digests` are present, in the same order.
    public func presence(_ digests: [Digest256]) -> [Bool] {
        present.withLock { p in digests.map { p.sizes[$0] != nil } }
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
        let size = UInt64(bytes.count)
        // Check and reserve in one step, so concurrent writers cannot together go over the limit.
        if let limit {
            let used = present.withLock { p -> UInt64? in
                guard p.bytes + p.reserved + size <= limit else { return p.bytes }
                p.reserved += size
                return nil
            }
            if let used { throw StoreFullError(limit: limit, used: used) }
        }
        defer { if limit != nil { present.withLock { $0.reserved -= size } } }
        let final = path(of: digest)
        let temp = root + "/tmp/" + digest.hex + ".\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try PosixFile.createExclusive(temp, mode: 0o644)
            try file.writeAll(bytes)
        } catch {
            unlink(temp)
            throw error
        }
        var ok = rename(temp, final) == 0
        if !ok && errno == ENOENT {
            try AtomicWrite.makeDirectories(String(final.dropLast(65)))
            ok = rename(temp, final) == 0
        }
        guard ok else {
            let error = FileError.errno("store chunk", final)
            unlink(temp)
            throw error
        }
        present.withLock {
            $0.insert(digest, UInt32(bytes.count))
            $0.checked.insert(digest)
        }
    }

    /// The chunk's bytes as stored (not re-hashed: they were checked on the way in).
    public func read(_ digest: Digest256) throws -> [UInt8]? {
        guard contains(digest) else { return nil }
        do {
            return try PosixFile.readAll(path(of: digest), limit: Self.maxChunk)
        } catch {
            // Gone or unreadable: it is no longer present.
            present.withLock { $0.remove(digest) }
            return nil
        }
    }

    /// Reads the chunk's bytes as stored into the start of `buffer`; returns how many (its
    /// size), or nil when it is not present or `buffer` is too small. A chunk file gone or
    /// cut short is no longer present.
    public func read(_ digest: Digest256, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let size = size(digest), buffer.count >= size else { return nil }
        do {
            let file = try PosixFile.openForReading(path(of: digest))
            if try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])) == size { return size }
        } catch {}
        present.withLock { $0.remove(digest) }
        return nil
    }

    /// Drops a chunk (garbage collection, or a stored chunk found corrupt).
    public func remove(_ digest: Digest256) {
        unlink(path(of: digest))
        present.withLock { $0.remove(digest) }
    }

    /// Drops every chunk not in `keep`; returns how many and how many bytes.
    public func collect(keeping keep: Set<Digest256>) -> (chunks: Int, bytes: UInt64) {
        let doomed = present.withLock { p in p.sizes.filter { !keep.contains($0.key) } }
        var bytes: UInt64 = 0
        for (digest, size) in doomed {
            remove(digest)
            bytes += UInt64(size)
        }
        return (doomed.count, bytes)
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
