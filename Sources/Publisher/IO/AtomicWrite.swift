#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader, or a crash, sees either nothing or the
/// whole file: write a temporary file in the same directory, fsync it, then
/// `link(2)` it into place, which fails instead of replacing an existing file
/// (or `rename(2)` it, which replaces).
public enum AtomicWrite {
    /// Creates `path` with `bytes`; throws if `path` already exists.
    public static func createNew(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws(FileError) {
        let temp = try writeTemporary(beside: path, bytes: bytes, mode: mode)
        defer { unlink(temp) }
        guard link(temp, path) == 0 else { throw FileError.errno("create", path) }
        syncDirectory(of: path)
    }

    /// Creates or replaces `path` with `bytes`.
    public static func replace(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws(FileError) {
        let temp = try writeTemporary(beside: path, bytes: bytes, mode: mode)
        guard rename(temp, path) == 0 else {
            let error = FileError.errno("replace", path)
            unlink(temp)
            throw error
        }
        syncDirectory(of: path)
    }

    /// A new file in `path`'s directory holding `bytes`, synced; removed again if that fails.
    private static func writeTemporary(beside path: String, bytes: [UInt8], mode: mode_t) throws(FileError) -> String {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try PosixFile.createExclusive(temp, mode: mode)
            try file.writeAll(bytes)
            try file.sync()
        } catch {
            unlink(temp)
            throw error
        }
        return temp
    }

    /// Makes a new directory entry durable.
    public static func syncDirectory(of path: String) {
        var dir = path
        if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) } else { dir = "." }
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(FileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw FileError.errno("create directory", current) }
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw FileError(path: path, operation: "create directory", reason: "exists and is not a directory")
        }
    }
}
