import BundlecastCore
import CFileOps
import Foundation
import Publisher
import Synchronization

/// A version's tree written while its chunks download, so that install at the
/// end is an fsync and a rename rather than a copy of every byte.
///
/// The staging directory (`apps/APP/.staging-VERSION-N`, the same one
/// ``Installer/materialize(_:staged:)`` would make) is laid out when the
/// download starts: directories, symlinks, and every file at its final size.
/// Each chunk checked against its digest is written at every offset where the
/// manifest places it, straight from the buffer it was checked in (one
/// `pwrite` of bytes still in the CPU's cache, rather than copying the whole
/// tree out of the store at the end). Every
/// ``writebackEvery`` bytes written to a file, its write-back to disk is
/// started (`sync_file_range`, without waiting), so the fsync at install finds
/// little left to write: when a fleet finishes together, every node's fsync of
/// the whole tree at once queues them all behind the disk. Chunks the store already held (a delta release) are
/// copied from the store by ``fill(from:)``, in the kernel.
///
/// Only bytes that matched their digest are ever written, and ``commit()``
/// refuses a tree with any chunk position unwritten, so a committed tree
/// holds exactly what the signed manifest lists. A crash leaves a staging
/// directory, which the next start removes; anything that goes wrong here
/// only means install takes the ordinary path (``Installer/materialize(_:)``).
public final class StagedTree: Sendable {
    public let manifest: Manifest
    /// The staging directory.
    public let root: String
    private let installer: Installer
    /// Each chunk's places: file number (into `files`) and offset.
    private let places: [Digest256: [Place]]
    private let state: Mutex<State>
    /// One fill at a time (the install waits for the one started with the download).
    private let filling = Mutex<Void>(())

    struct Place: Sendable {
        let file: Int
        let offset: UInt64
    }

    private struct State {
        /// Open descriptors of the tree's files (closed by commit or abandon).
        var files: [(fd: Int32, path: String)]
        /// Bytes written to each file since its write-back was last started.
        var unflushed: [Int]
        var written: Set<Digest256> = []

        /// Starts the write-back of file `i` (the whole file: the dirty pages of scattered
        /// chunks go out in one request).
        mutating func startWriteback(_ i: Int) {
            unflushed[i] = 0
            cfileops_start_writeback(files[i].fd, 0, 0)
        }
        /// Why the tree cannot be committed (a failed write), if it cannot.
        var failure: String?
        var closed = false
        /// How long the commit's fsyncs took, for the install's log line.
        var syncSeconds: Double?
    }

    /// Lays out the tree for `manifest` beside its final place.
    public init(_ manifest: Manifest, installer: Installer) throws {
        self.manifest = manifest
        self.installer = installer
        try AtomicWrite.makeDirectories(installer.directory(app: manifest.app))
        root = installer.stagingPath(for: manifest)
        var files: [(fd: Int32, path: String)] = []
        var places: [Digest256: [Place]] = [:]
        do {
            try installer.layOut(manifest, into: root) { path, executable, size, refs in
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, executable ? 0o755 : 0o644)
                guard fd >= 0 else { throw FileError.errno("create", path) }
                files.append((fd, path))
                // The mode asked for at creation is filtered by the umask; set it exactly.
                fchmod(fd, executable ? 0o755 : 0o644)
                guard ftruncate(fd, off_t(size)) == 0 else { throw FileError.errno("size", path) }
                var offset: UInt64 = 0
                for ref in refs {
                    places[ref.digest, default: []].append(Place(file: files.count - 1, offset: offset))
                    offset += UInt64(ref.size)
                }
            }
        } catch {
            for file in files { close(file.fd) }
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        self.places = places
        state = Mutex(State(files: files, unflushed: Array(repeating: 0, count: files.count)))
    }

    deinit {
        state.withLock { s in
            if !s.closed { for file in s.files { close(file.fd) } }
        }
    }

    /// How many bytes written to a file start its write-back: large enough that the disk gets
    /// big requests and the node few system calls, small enough that little is left at install.
    static let writebackEvery = 4 << 20

    /// Seconds the commit spent in fsync (nil before a commit).
    public var syncSeconds: Double? { state.withLock { $0.syncSeconds } }

    /// Whether every chunk position is written.
    public var isComplete: Bool { state.withLock { $0.written.count == places.count && $0.failure == nil } }

    /// Why the tree was not committed (a failed write, or chunks not written), for the log.
    public var problem: String? {
        state.withLock { s in
            s.failure ?? (s.written.count < places.count ? "\(places.count - s.written.count) of \(places.count) chunks not written" : nil)
        }
    }

    /// Writes a chunk that was checked against `digest` at each of its places (a chunk the
    /// manifest does not list, or one written already, is ignored).
    public func write(_ digest: Digest256, _ bytes: [UInt8]) {
        guard let at = places[digest] else { return }
        state.withLock { s in
            guard !s.closed, s.failure == nil, !s.written.contains(digest) else { return }
            for place in at {
                let file = s.files[place.file]
                var done = 0
                while done < bytes.count {
                    let n = bytes.withUnsafeBytes { pwrite(file.fd, $0.baseAddress! + done, $0.count - done, off_t(place.offset) + off_t(done)) }
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        s.failure = FileError.errno("write", file.path).description
                        return
                    }
                    done += n
                }
                s.unflushed[place.file] += bytes.count
                if s.unflushed[place.file] >= Self.writebackEvery { s.startWriteback(place.file) }
            }
            s.written.insert(digest)
        }
    }

    /// Writes every chunk not written yet that the store holds: verified ones copied in the
    /// kernel, others read back (the store checks them first). Waits for a fill already running.
    public func fill(from store: ChunkStore) {
        filling.withLock { _ in
            for (digest, at) in places where !state.withLock({ $0.written.contains(digest) }) && store.contains(digest) {
                if copy(digest, to: at, from: store) { continue }
                if let bytes = try? store.read(digest) { write(digest, bytes) }
            }
            // What the store held (a delta release: most of the tree) starts for the disk now,
            // not in the fsync at install.
            state.withLock { s in
                guard !s.closed else { return }
                for i in s.files.indices { s.startWriteback(i) }
            }
        }
    }

    /// Copies a verified chunk to its places in the kernel; false when it is not verified.
    private func copy(_ digest: Digest256, to at: [Place], from store: ChunkStore) -> Bool {
        state.withLock { s in
            guard !s.closed, s.failure == nil, !s.written.contains(digest) else { return true }
            for place in at {
                let file = s.files[place.file]
                do {
                    guard try store.copy(digest, toDescriptor: file.fd, at: place.offset, path: file.path) else { return false }
                } catch is InstallError {
                    // Cut short in the store (now dropped): it is fetched again, or install takes the ordinary path.
                    return true
                } catch {
                    s.failure = "\(error)"
                    return true
                }
            }
            s.written.insert(digest)
            return true
        }
    }

    /// Makes the tree durable and moves it to `apps/APP/VERSION` (swapping out an old tree
    /// there in one step); returns that path. Throws, leaving nothing at the final place,
    /// when a chunk position is unwritten or a write failed.
    public func commit() throws -> String {
        let target = installer.directory(app: manifest.app, version: manifest.version.description)
        try state.withLock { s in
            guard !s.closed else { throw UpdateError("the staged tree of \(manifest.app) \(manifest.version) was given up") }
            if let failure = s.failure { throw UpdateError("staging \(manifest.app) \(manifest.version): \(failure)") }
            guard s.written.count == places.count else {
                throw UpdateError("staging \(manifest.app) \(manifest.version): \(places.count - s.written.count) chunks not written")
            }
            s.closed = true
            var failed: FileError?
            let started = ContinuousClock.now
            for file in s.files {
                if fsync(file.fd) != 0, failed == nil { failed = FileError.errno("sync", file.path) }
                close(file.fd)
            }
            s.syncSeconds = Updater.seconds(since: started)
            if let failed { throw failed }
        }
        try installer.place(staging: root, at: target)
        return target
    }

    /// Gives the tree up and removes it.
    public func abandon() {
        state.withLock { s in
            if !s.closed { for file in s.files { close(file.fd) } }
            s.closed = true
        }
        // After a commit nothing is left here (renamed, or the old tree already removed).
        try? FileManager.default.removeItem(atPath: root)
    }
}
