import BundlecastCore
import Dispatch
import Foundation
import Synchronization

/// Cuts a file into FastCDC chunks and hashes each chunk with BLAKE2b-256,
/// streaming: memory is two fixed buffers, whatever the file's size.
///
/// The cores work in a pipeline: while worker threads hash the chunks of one
/// buffer, the calling thread reads and cuts the next one, then helps hash
/// what is left of the first. Each byte is hashed exactly once.
public struct ChunkHasher: Sendable {
    public let chunker = FastCDC()
    /// Size of each of the two buffers.
    public let bufferSize: Int

    public init(bufferSize: Int = 8 << 20) {
        precondition(bufferSize > ChunkingParameters.v1.maxSize)
        self.bufferSize = bufferSize
    }

    /// Chunks of an in-memory buffer, hashed on the calling thread.
    public func chunks(of bytes: UnsafeRawBufferPointer) -> [ChunkRef] {
        var refs: [ChunkRef] = []
        var offset = 0
        while offset < bytes.count {
            let span = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let length = chunker.cut(span)
            refs.append(ChunkRef(digest: Blake2b.digest256(UnsafeRawBufferPointer(rebasing: span[..<length])), size: UInt32(length)))
            offset += length
        }
        return refs
    }

    /// Chunks of a whole file read into memory: for small files.
    ///
    /// - Parameter identity: the device and inode the file was scanned with: the file opened
    ///   must be that one (a directory above it swapped for a symlink meanwhile would
    ///   otherwise put another tree's file in the release).
    public func chunks(ofSmallFile path: String, expectedSize: UInt64, identity: FileIdentity? = nil) throws -> [ChunkRef] {
        let file = try PosixFile.openForReading(path)
        try Self.check(file, is: identity)
        var buffer = [UInt8](repeating: 0, count: Int(expectedSize) + 1)
        let n = try buffer.withUnsafeMutableBytes { try file.readFully(into: $0) }
        guard n == Int(expectedSize) else { throw Self.changed(path) }
        return buffer.withUnsafeBytes { chunks(of: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
    }

    /// Chunks of a file of any size, streamed through two buffers.
    ///
    /// - Parameter progress: called on this thread with the bytes read so far.
    public func chunks(ofFile path: String, expectedSize: UInt64, identity: FileIdentity? = nil,
                       progress: (UInt64) -> Void = { _ in }) throws -> [ChunkRef] {
        let file = try PosixFile.openForReading(path)
        try Self.check(file, is: identity)
        let maxSize = chunker.parameters.maxSize
        let buffers = (
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64),
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        )
        defer {
            buffers.0.deallocate()
            buffers.1.deallocate()
        }
        var current = buffers.0
        var other = buffers.1
        var carry = 0
        var total: UInt64 = 0
        var refs: [ChunkRef] = []
        let group = DispatchGroup()
        var inFlight: HashJob?
        defer { group.wait(); inFlight?.release() }

        while true {
            let n = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: current[carry...]))
            let filled = carry + n
            let atEnd = filled < bufferSize
            total += UInt64(n)
            guard total <= expectedSize else { throw Self.changed(path) }
            var spans: [Range<Int>] = []
            var offset = 0
            while offset < filled, atEnd || filled - offset >= maxSize {
                let length = chunker.cut(UnsafeRawBufferPointer(rebasing: current[offset..<filled]))
                spans.append(offset..<offset + length)
                offset += length
            }
            if let job = inFlight {
                job.work()
                group.wait()
                refs += job.results()
                job.release()
                inFlight = nil
            }
            carry = filled - offset
            if carry > 0 {
                other.baseAddress!.copyMemory(from: current.baseAddress! + offset, byteCount: carry)
            }
            let job = HashJob(base: UnsafeRawPointer(current.baseAddress!), spans: spans)
            inFlight = job
            for _ in 0..<Self.workers {
                DispatchQueue.global(qos: .userInitiated).async(group: group) { job.work() }
            }
            progress(total)
            swap(&current, &other)
            if atEnd { break }
        }
        if let job = inFlight {
            job.work()
            group.wait()
            refs += job.results()
            job.release()
            inFlight = nil
        }
        guard total == expectedSize else { throw Self.changed(path) }
        return refs
    }

    static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    static func check(_ file: PosixFile, is identity: FileIdentity?) throws {
        guard let identity else { return }
        let st = try file.status()
        guard FileIdentity(st) == identity else {
            throw FileError(path: file.path, operation: "read", reason: "not the file scanned there (a directory above it was replaced?); release again once the bundle is stable")
        }
    }

    static func changed(_ path: String) -> FileError {
        FileError(path: path, operation: "read", reason: "the file changed size while being read; release again once it is stable")
    }
}

/// Hashes the chunks of one buffer on all cores: workers, and the owner once
/// it has cut the next buffer, take chunk indices from one atomic counter.
/// Each slot is written by the one thread that took its index, and read only
/// after the job's group has been waited on: that is the synchronisation the
/// unchecked `Sendable` rests on.
private final class HashJob: @unchecked Sendable {
    let base: UnsafeRawPointer
    let spans: [Range<Int>]
    let digests: UnsafeMutableBufferPointer<Digest256>
    private let next = Atomic<Int>(0)

    init(base: UnsafeRawPointer, spans: [Range<Int>]) {
        self.base = base
        self.spans = spans
        digests = .allocate(capacity: spans.count)
        digests.initialize(repeating: .zero)
    }

    func work() {
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            guard i < spans.count else { return }
            let span = spans[i]
            digests[i] = Blake2b.digest256(UnsafeRawBufferPointer(start: base + span.lowerBound, count: span.count))
        }
    }

    func results() -> [ChunkRef] {
        zip(digests, spans).map { ChunkRef(digest: $0, size: UInt32($1.count)) }
    }

    func release() { digests.deallocate() }
}
