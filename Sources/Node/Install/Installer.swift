import BundlecastCore
import CFileOps
import Foundation
import Publisher

/// Turns a manifest whose chunks are all in the store into
/// `apps/APP/VERSION/`, and swaps `apps/APP/current` to it atomically.
///
/// Files are written into a staging directory beside the target, every chunk
/// found on disk at start re-hashed as it is read (so a chunk damaged on disk
/// by a power cut is caught, not installed; a chunk this process checked
/// is copied by the kernel, see ``ChunkStore``), every file and
/// directory fsynced, and only then is the staging
/// directory renamed into place and the `current` symlink replaced with
/// `rename(2)`. A crash at any instant leaves the old `current` or the new
/// one, never a mix; staging left by a crash is removed at the next start.
public struct Installer: Sendable {
    public let appsRoot: String
    public let chunks: ChunkStore
    /// Told when a tree staged during the download could not be used (install then writes the
    /// files from the store): the node logs why.
    let onStagingUnused: @Sendable (Manifest, String) -> Void

    public init(appsRoot: String, chunks: ChunkStore, onStagingUnused: @escaping @Sendable (Manifest, String) -> Void = { _, _ in }) {
        self.appsRoot = appsRoot
        self.chunks = chunks
        self.onStagingUnused = onStagingUnused
    }

    public func directory(app: String) -> String { appsRoot + "/" + app }
    public func directory(app: String, version: String) -> String { appsRoot + "/" + app + "/" + version }

    /// The version `current` points at, if any.
    public func current(app: String) -> String? {
        let link = directory(app: app) + "/current"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        return target
    }

    /// Removes staging directories left by a crash.
    public func cleanStaging(app: String) {
        let dir = directory(app: app)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".staging-") || name.hasPrefix(".current-") {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }

    /// Writes the version's tree (unless a complete one is already there) and returns its path.
    /// With a complete `staged` tree (written while the chunks downloaded), that one is
    /// committed instead of writing the files again; an incomplete one is given up.
    @discardableResult
    public func materialize(_ manifest: Manifest, staged: StagedTree? = nil) throws -> String {
        let app = manifest.app
        let version = manifest.version.description
        let target = directory(app: app, version: version)
        try AtomicWrite.makeDirectories(directory(app: app))
        // Kept from an earlier install (a rollback or re-install): used if it still matches.
        if FileManager.default.fileExists(atPath: target), (try? verifyTree(manifest, at: target)) != nil {
            staged?.abandon()
            return target
        }
        if let staged {
            staged.fill(from: chunks)
            defer { staged.abandon() }
            if staged.isComplete {
                do { return try staged.commit() } catch { onStagingUnused(manifest, "\(error)") }
            } else {
                onStagingUnused(manifest, staged.problem ?? "incomplete")
            }
        }
        let staging = stagingPath(for: manifest)
        do {
            try write(manifest, into: staging)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        try place(staging: staging, at: target)
        return target
    }

    /// Moves a complete, fsynced staging tree to `target`: renamed into place, or swapped in
    /// one step with an old tree there (never leaving the name empty: `current` may point at
    /// it), which is then removed. Every directory of the tree is fsynced first.
    func place(staging: String, at target: String) throws {
        do {
            syncDirectories(under: staging)
            if FileManager.default.fileExists(atPath: target) {
                guard cfileops_exchange(staging, target) == 0 else { throw FileError.errno("replace", target) }
            } else {
                guard rename(staging, target) == 0 else { throw FileError.errno("install", target) }
            }
            AtomicWrite.syncDirectory(of: target)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        // The old tree, now under the staging name (nothing there after a rename).
        try? FileManager.default.removeItem(atPath: staging)
    }

    /// fsyncs `root` and every directory below it, deepest first.
    private func syncDirectories(under root: String) {
        var directories = [root]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var st = stat()
            if lstat(root + "/" + path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { directories.append(root + "/" + path) }
        }
        for dir in directories.reversed() {
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                fsync(fd)
                close(fd)
            }
        }
    }

    /// Points `current` at `version` atomically (a new symlink renamed over the old one).
    /// The name must be a version's (the directory an install made), whatever record it
    /// came from: a damaged database must not point `current` anywhere else.
    public func switchCurrent(app: String, to version: String) throws {
        guard (try? SemanticVersion(version))?.description == version else {
            throw FileError(path: directory(app: app) + "/current", operation: "swap current", reason: "\"\(version)\" is not a version name")
        }
        let dir = directory(app: app)
        let temp = dir + "/.current-\(UInt32.random(in: 0...UInt32.max))"
        guard symlink(version, temp) == 0 else { throw FileError.errno("create symlink", temp) }
        guard rename(temp, dir + "/current") == 0 else {
            let error = FileError.errno("swap current", dir + "/current")
            unlink(temp)
            throw error
        }
        AtomicWrite.syncDirectory(of: dir + "/current")
    }

    /// Removes `current` (after a failed first install there is nothing to go back to).
    public func clearCurrent(app: String) {
        unlink(directory(app: app) + "/current")
        AtomicWrite.syncDirectory(of: directory(app: app) + "/current")
    }

    /// Removes every version directory of `app` except `keep`; nothing when the app's
    /// directory is not a directory of its own (a symlink planted there would carry the
    /// removals to its target). False when it did not prune for that reason.
    @discardableResult
    public func prune(app: String, keep: Set<String>) -> Bool {
        let dir = directory(app: app)
        var st = stat()
        guard lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return false }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where !name.hasPrefix(".") && name != "current" && !keep.contains(name) {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
        return true
    }

    /// A fresh staging directory's path for the manifest's version, beside its final place
    /// (removed at start if a crash leaves it, see ``cleanStaging(app:)``).
    func stagingPath(for manifest: Manifest) -> String {
        directory(app: manifest.app) + "/.staging-\(manifest.version)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Makes `root` and the manifest's directories and symlinks in it, and hands each file
    /// entry to `file` with its path to create (``TreeLayout``, shared with the fuzz targets).
    func layOut(_ manifest: Manifest, into root: String,
                file: (_ path: String, _ executable: Bool, _ size: UInt64, _ refs: [ChunkRef]) throws -> Void) throws {
        try TreeLayout.layOut(manifest, into: root, file: file)
    }

    private func write(_ manifest: Manifest, into root: String) throws {
        try layOut(manifest, into: root) { path, executable, _, refs in
            let file = try PosixFile.createExclusive(path, mode: executable ? 0o755 : 0o644)
            for ref in refs {
                // The store copies a chunk at its own length, which must be the manifest's: any
                // other runs into the next chunk's place or past the file's end. A verified
                // chunk's length is its bytes'; an unverified one is checked as it is read.
                if chunks.isVerified(ref.digest), let held = chunks.size(ref.digest), held != Int(ref.size) {
                    throw InstallError.wrongChunkSize(ref.digest, listed: ref.size, actual: held)
                }
                if try !chunks.copy(ref.digest, to: file) { try file.writeAll(try chunkBytes(ref)) }
            }
            try file.sync()
            // The mode asked for at creation is filtered by the umask; set it exactly.
            fchmod(file.fd, executable ? 0o755 : 0o644)
        }
    }

    /// A chunk not verified by this process, read back from the store, which checks it
    /// against its digest first (and drops it when it no longer matches). Bytes that match
    /// their digest at another length than the manifest's are the manifest's fault: an
    /// error, and the chunk stays in the store (other releases may list it rightly).
    private func chunkBytes(_ ref: ChunkRef) throws -> [UInt8] {
        guard chunks.contains(ref.digest) else { throw InstallError.missingChunk(ref.digest) }
        guard let bytes = try chunks.read(ref.digest) else {
            chunks.remove(ref.digest)
            throw InstallError.corruptChunk(ref.digest)
        }
        guard bytes.count == Int(ref.size) else {
            throw InstallError.wrongChunkSize(ref.digest, listed: ref.size, actual: bytes.count)
        }
        return bytes
    }

    /// Checks an existing tree against the manifest: every file's content, mode and every symlink.
    public func verifyTree(_ manifest: Manifest, at root: String) throws {
        var expected = Set<String>()
        for entry in manifest.entries {
            expected.insert(entry.path)
            let path = root + "/" + entry.path
            var st = stat()
            guard lstat(path, &st) == 0 else { throw InstallError.treeMismatch(entry.path, "missing") }
            switch entry.kind {
            case .symlink(let target):
                guard (st.st_mode & S_IFMT) == S_IFLNK,
                      (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == target
                else { throw InstallError.treeMismatch(entry.path, "not the symlink the manifest names") }
            case .file(let executable, let size, _, let refs):
                guard (st.st_mode & S_IFMT) == S_IFREG, UInt64(st.st_size) == size,
                      ((st.st_mode & 0o100) != 0) == executable
                else { throw InstallError.treeMismatch(entry.path, "size or mode differs") }
                let file = try PosixFile.openForReading(path)
                var buffer = [UInt8](repeating: 0, count: ChunkStore.maxChunk)
                for ref in refs {
                    let n = try buffer.withUnsafeMutableBytes { try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<Int(ref.size)])) }
                    guard n == Int(ref.size), buffer.withUnsafeBytes({ Blake2b.digest256(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) == ref.digest
                    else { throw InstallError.treeMismatch(entry.path, "content differs") }
                }
            }
        }
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var st = stat()
            if lstat(root + "/" + path, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR, !expected.contains(path) {
                throw InstallError.treeMismatch(path, "not in the manifest")
            }
        }
    }
}

/// Why an install did not happen.
public enum InstallError: Error, CustomStringConvertible, Equatable {
    case missingChunk(Digest256)
    case corruptChunk(Digest256)
    case treeMismatch(String, String)
    /// The bytes of the chunk's digest (checked against it) are not as long as the signed
    /// manifest says: the manifest is at fault, not the store or a peer, and the release
    /// cannot be installed as signed.
    case wrongChunkSize(Digest256, listed: UInt32, actual: Int)

    public var description: String {
        switch self {
        case .missingChunk(let d): return "chunk \(d.short) is not in the store"
        case .corruptChunk(let d): return "stored chunk \(d.short) no longer matches its digest (dropped; it will be fetched again)"
        case .wrongChunkSize(let d, let listed, let actual):
            return "the manifest gives chunk \(d.short) \(listed) bytes, but the bytes of that digest are \(actual): the release cannot be installed as signed"
        case .treeMismatch(let path, let why): return "installed tree differs at \(path): \(why)"
        }
    }
}
