import BundlecastCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a manifest's tree is made on disk: the one layout that the node's installer, its
/// staged trees and the `manifestInstall` fuzz target all use, so the fuzzer checks the code
/// that installs (it lives here rather than in `Node`, which the fuzz package does not link).
///
/// Rule: every directory, symlink and file is created under `root` by its manifest path and
/// nothing else, and never through a link: a manifest that parsed has relative paths without
/// `.` or `..`, no entry below a file or symlink, and no symlink whose target leaves the
/// bundle (``Manifest`` refuses anything else), so the parents made here are always real
/// directories made by this call.
public enum TreeLayout {
    /// Makes `root` (which must not exist) and the manifest's directories and symlinks in it,
    /// in entry order, and hands each file entry to `file` with the path to create: the caller
    /// writes it (create it with `O_EXCL | O_NOFOLLOW`, as ``PosixFile/createExclusive(_:mode:)``
    /// does, so an entry that exists is an error, never followed).
    public static func layOut(_ manifest: Manifest, into root: String,
                              file: (_ path: String, _ executable: Bool, _ size: UInt64, _ refs: [ChunkRef]) throws -> Void) throws {
        guard mkdir(root, 0o755) == 0 else { throw FileError.errno("create directory", root) }
        // By bytes, as the kernel names directories (a Set<String> takes "é" and "e\u{301}" for one).
        var made = Set<[UInt8]>([[]])
        for entry in manifest.entries {
            var parent = ""
            for part in BundlePath.segments(entry.path).dropLast() {
                parent += (parent.isEmpty ? "" : "/") + part
                if made.insert(Array(parent.utf8)).inserted {
                    guard mkdir(root + "/" + parent, 0o755) == 0 else { throw FileError.errno("create directory", root + "/" + parent) }
                }
            }
            let path = root + "/" + entry.path
            switch entry.kind {
            case .symlink(let target):
                guard symlink(target, path) == 0 else { throw FileError.errno("create symlink", path) }
            case .file(let executable, let size, _, let refs):
                try file(path, executable, size, refs)
            }
        }
    }
}
