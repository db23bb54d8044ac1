#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

/// One file or symlink found in a bundle directory, before hashing.
public struct ScannedItem: Sendable {
    public enum Kind: Sendable {
        case file(size: UInt64, executable: Bool)
        case symlink(target: String)
    }

    /// Relative to the bundle root, validated by ``BundlePath``.
    public let path: String
    public let kind: Kind
    /// What `lstat` said of a file when it was scanned; `nil` for symlinks.
    public let stamp: FileStamp?

    public init(path: String, kind: Kind, stamp: FileStamp? = nil) {
        self.path = path
        self.kind = kind
        self.stamp = stamp
    }
}

/// Walks a bundle directory without following symlinks and applies the path
/// rules to every name, so a bundle that cannot be released is refused
/// before a byte is hashed.
public enum BundleScanner {
    /// Every file and symlink under `root`, sorted in manifest order.
    public static func scan(_ root: String) throws -> [ScannedItem] {
        var st = stat()
        guard stat(root, &st) == 0 else { throw FileError.errno("read bundle directory", root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw FileError(path: root, operation: "read bundle directory", reason: "not a directory")
        }
        var items: [ScannedItem] = []
        // Each directory to list, with the device and inode `lstat` saw for it: the one opened
        // must be that one, or a directory swapped for a symlink meanwhile would take the
        // walk (and the release) into another tree.
        var pending: [([UInt8], FileIdentity)] = [([], FileIdentity(st))]
        while let (relative, identity) = pending.popLast() {
            let dirPath = relative.isEmpty ? root : root + "/" + String(decoding: relative, as: UTF8.self)
            for name in try names(in: dirPath, identity: identity) {
                let relBytes = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
                let path = try BundlePath.validate(bytes: relBytes)
                let full = root + "/" + path
                var est = stat()
                guard lstat(full, &est) == 0 else { throw FileError.errno("read", full) }
                switch est.st_mode & S_IFMT {
                case S_IFDIR:
                    pending.append((relBytes, FileIdentity(est)))
                case S_IFREG:
                    let executable = (est.st_mode & S_IXUSR) != 0
                    items.append(ScannedItem(path: path, kind: .file(size: UInt64(est.st_size), executable: executable), stamp: FileStamp(est)))
                case S_IFLNK:
                    items.append(ScannedItem(path: path, kind: .symlink(target: try readLink(full, path: path))))
                case S_IFCHR: throw PathError(path: path, reason: .specialFile("character device"))
                case S_IFBLK: throw PathError(path: path, reason: .specialFile("block device"))
                case S_IFIFO: throw PathError(path: path, reason: .specialFile("FIFO"))
                case S_IFSOCK: throw PathError(path: path, reason: .specialFile("socket"))
                default: throw PathError(path: path, reason: .specialFile("special file"))
                }
            }
        }
        items.sort { BundlePath.precedes($0.path, $1.path) }
        return items
    }

    /// Entry names of one directory, raw bytes, without "." and "..".
    private static func names(in path: String, identity: FileIdentity) throws -> [[UInt8]] {
        guard let dir = opendir(path) else { throw FileError.errno("list directory", path) }
        defer { closedir(dir) }
        var st = stat()
        guard fstat(dirfd(dir), &st) == 0 else { throw FileError.errno("list directory", path) }
        guard FileIdentity(st) == identity else {
            throw FileError(path: path, operation: "list directory",
                            reason: "not the directory scanned there (replaced meanwhile?); release again once the bundle is stable")
        }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw FileError.errno("list directory", path) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names
    }

    private static func readLink(_ full: String, path: String) throws -> String {
        var buffer = [UInt8](repeating: 0, count: BundlePath.maxBytes + 1)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { readlink(full, $0.baseAddress!, $0.count) }
        }
        guard n >= 0 else { throw FileError.errno("read symlink", full) }
        guard n <= BundlePath.maxBytes else { throw PathError(path: path, reason: .symlinkTargetInvalid("is too long")) }
        guard let target = String(validating: buffer[0..<n], as: UTF8.self) else {
            throw PathError(path: path, reason: .symlinkTargetInvalid("is not UTF-8"))
        }
        return target
    }
}
