#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader, or a crash, sees either nothing or the
/// whole file: write a temporary file in the same directory, fsync it, then
/// `link(2)` it into place, which fails instead of replacing an existing file.
public enum AtomicWrite {
    /// Creates `path` with `bytes`; throws if `path` already exists.
    public static func createNew(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws(FileError) {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try PosixFile.createExclusive(temp, mode: mode)
            try file.writeAll(bytes)
            try file.sync()
        } catch {
            unlink(temp)
            throw error
        }
        defer { unlink(temp) }
        guard link(temp, path) == 0 else { throw FileError.errno("create", path) }
        syncDirectory(of: path)
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
