import BundlecastCore
import Foundation
import Publisher

/// One pack file of the chunk store: chunks appended one after another, each
/// behind a 40-byte record header, so the file describes itself and the
/// store's index is rebuilt by reading the headers at start.
///
/// A record is `magic (4) | digest (32) | size (u32, little-endian) | bytes`.
/// The magic is `BCK1` for a live chunk and `BCKx` once it was dropped (a
/// tombstone: the record is skipped at the next scan). Header and bytes go
/// out in one `pwritev`, header first, so a write cut short (a kill, a full
/// disk) leaves a header with its size and bytes that no longer hash to the
/// digest: the scan steps over it, and the chunk is re-hashed before it is
/// used (chunks found at start are not trusted, see ``ChunkStore``).
///
/// The descriptor stays open for the life of the object: a reader that took
/// a reference before the pack was removed still reads from it.
public final class ChunkPack: @unchecked Sendable {
    // @unchecked: `fd` and `path` are immutable; pread/pwrite at explicit offsets need no lock.
    let number: UInt32
    let path: String
    let fd: Int32

    static let headerSize = 40
    static let live: [UInt8] = Array("BCK1".utf8)
    static let dead: [UInt8] = Array("BCKx".utf8)
    /// A pack is closed for appends once it reaches this size (records are never split).
    public static let targetSize: UInt64 = 64 << 20

    static func name(_ number: UInt32) -> String { String(format: "pack-%08u", number) }

    /// The number of a pack file's name, only for a name this store would give it (so
    /// `pack-+0000001` is no second name of pack 1, and packs past 99,999,999, whose names
    /// are longer, are found again at the next start).
    static func number(ofName name: String) -> UInt32? {
        guard name.hasPrefix("pack-"), let number = UInt32(name.dropFirst(5)), Self.name(number) == name else { return nil }
        return number
    }

    private init(number: UInt32, path: String, fd: Int32) {
        self.number = number
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    static func open(_ number: UInt32, in directory: String, create: Bool) throws -> ChunkPack {
        let path = directory + "/" + name(number)
        let flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0)
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw FileError.errno(create ? "create" : "open", path) }
        return ChunkPack(number: number, path: path, fd: fd)
    }

    var size: UInt64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
    }

    /// Writes one record at `offset` (reserved by the caller).
    func write(_ digest: Digest256, _ bytes: [UInt8], at offset: UInt64) throws {
        var header = Self.live
        header += digest.bytes
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { header += $0 }
        let total = Self.headerSize + bytes.count
        var done = 0
        while done < total {
            let n = header.withUnsafeBytes { h in
                bytes.withUnsafeBytes { b in
                    Self.writeRecord(fd, header: h, bytes: b, from: done, at: offset)
                }
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("write", path)
            }
            done += n
        }
    }

    /// One `pwritev` of what is left of a record from `from` on.
    private static func writeRecord(_ fd: Int32, header: UnsafeRawBufferPointer, bytes: UnsafeRawBufferPointer,
                                    from: Int, at offset: UInt64) -> Int {
        if from < headerSize {
            var parts = [iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress! + from), iov_len: headerSize - from),
                         iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)]
            return pwritev(fd, &parts, bytes.isEmpty ? 1 : 2, off_t(offset) + off_t(from))
        }
        let rest = from - headerSize
        return pwrite(fd, bytes.baseAddress! + rest, bytes.count - rest, off_t(offset) + off_t(from))
    }

    /// Reads `count` bytes at `offset` into `buffer`; false if the file ends first or the read fails.
    func read(into buffer: UnsafeMutableRawBufferPointer, count: Int, at offset: UInt64) -> Bool {
        var done = 0
        while done < count {
            let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Marks the record at `offset` dropped (best effort: a tombstone that does not reach
    /// the disk only means the chunk is found again at start, and re-hashed before use).
    func bury(recordAt offset: UInt64) {
        _ = Self.dead.withUnsafeBytes { pwrite(fd, $0.baseAddress!, 4, off_t(offset)) }
    }

    /// A record found by ``scan(_:)``.
    struct Record {
        let digest: Digest256
        let size: UInt32
        /// Where its header starts.
        let offset: UInt64
    }

    /// The live records, in file order, and where a record could next be appended. The scan
    /// stops at the first header that is not a record (a write cut short before its header):
    /// anything after it is lost and fetched again.
    func scan() -> (records: [Record], end: UInt64) {
        let fileSize = size
        var records: [Record] = []
        var offset: UInt64 = 0
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        while offset + UInt64(Self.headerSize) <= fileSize {
            let ok = header.withUnsafeMutableBytes { read(into: $0, count: Self.headerSize, at: offset) }
            guard ok else { break }
            let magic = Array(header[0..<4])
            guard magic == Self.live || magic == Self.dead else { break }
            let size = header[36..<40].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            guard size > 0, Int(size) <= ChunkStore.maxChunk, offset + UInt64(Self.headerSize) + UInt64(size) <= fileSize else { break }
            if magic == Self.live { records.append(Record(digest: Digest256(bytes: header[4..<36])!, size: size, offset: offset)) }
            offset += UInt64(Self.headerSize) + UInt64(size)
        }
        return (records, offset)
    }
}
