#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor with explicit, retrying `read`/`write` and a `close`
/// that cannot be forgotten.
public final class PosixFile {
    public let fd: Int32
    public let path: String

    /// Opens for reading without following a final symlink, so a file swapped
    /// for a link after the directory walk is refused, not followed; and without waiting,
    /// so a FIFO where a file belongs is refused by the caller's check of its type, rather
    /// than blocking the open until someone writes to it (on a regular file the flag
    /// changes nothing).
    public static func openForReading(_ path: String) throws(FileError) -> PosixFile {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError.errno("read", path) }
        return PosixFile(fd: fd, path: path)
    }

    /// Creates a new file; fails if `path` exists.
    public static func createExclusive(_ path: String, mode: mode_t) throws(FileError) -> PosixFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw FileError.errno("create", path) }
        return PosixFile(fd: fd, path: path)
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    public func status() throws(FileError) -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno("stat", path) }
        return st
    }

    /// Reads until `buffer` is full or the file ends; returns the count read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("read", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    public func writeAll(_ bytes: [UInt8]) throws(FileError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("write", path)
            }
            done += n
        }
    }

    public func sync() throws(FileError) {
        guard fsync(fd) == 0 else { throw FileError.errno("sync", path) }
    }

    /// Reads a whole small file (keys, manifests, signatures), refusing one
    /// larger than `limit`.
    public static func readAll(_ path: String, limit: Int) throws -> [UInt8] {
        let file = try openForReading(path)
        let st = try file.status()
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FileError(path: path, operation: "read", reason: "not a regular file")
        }
        guard Int(st.st_size) <= limit else {
            throw FileError(path: path, operation: "read", reason: "larger than \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        let n = try bytes.withUnsafeMutableBytes { try file.readFully(into: $0) }
        guard n <= Int(st.st_size) else {
            throw FileError(path: path, operation: "read", reason: "grew while being read")
        }
        bytes.removeLast(bytes.count - n)
        return bytes
    }
}
