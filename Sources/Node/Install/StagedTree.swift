import BundlecastCore
import CFileOps
import Foundation
import Publisher
import Synchronization

/// A version's tree written while its chunks download, so that install at the
/// end is an fsync and a rename rather than a copy of every byte.
///
/// The staging directory (`apps/APP/.staging-VERSION-N`, the same one
/// ``Installer/materialize(_:staged:)`` would make) is laid out once the
/// manifest is verified: directories, symlinks, and every file at its final size.
/// Each chunk checked against its digest is written at every offset where the
/// manifest places it, straight from the buffer it was checked in (one
/// `pwrite` of bytes still in the CPU's cache, rather than copying the whole
/// tree out of the store at the end). Every
/// ``writebackEvery`` bytes written to a file, its write-back to disk is
/// started (`sync_file_range`, without waiting), so the fsync at install finds
/// little left to write: when a fleet finishes together, every node's fsync of
/// the whole tree at once queues them all behind the disk. Chunks the store already
/// held (a delta release) are copied from the store by ``fill(from:)``, in runs of
/// neighbouring chunks.
///
/// Only bytes that matched their digest are ever written, and only at the length the
/// manifest gives their chunk (any other would run into the next chunk's place or past the
/// file's end: the tree fails instead); ``commit()`` refuses a tree with any chunk position
/// unwritten, so a committed tree holds exactly what the signed manifest lists. A crash
/// leaves a staging directory, which the next start removes; anything that goes wrong here
/// only means install takes the ordinary path (``Installer/materialize(_:)``).
///
/// The lock guards the books only, never a write: a chunk is claimed under it,
/// written outside it, and marked written under it again. The copy of what the
/// store holds (most of a delta release) and a chunk just downloaded are
/// written side by side: under one lock for every write, each downloaded chunk
/// waited behind the copy, and its download with it. Descriptors are closed by whoever finishes
/// last (``abandon()`` while a write runs leaves the close to that write).
public final class StagedTree: Sendable {
    public let manifest: Manifest
    /// The staging directory.
    public let root: String
    private let installer: Installer
    /// Each chunk's places: file number (into `files`) and offset.
    private let places: [Digest256: [Place]]
    /// Each chunk's length, as the manifest gives it (one per digest: ``Manifest`` refuses two).
    private let sizes: [Digest256: Int]
    /// Every chunk position in the tree, files in path order and offsets ascending: the order
    /// ``fill(from:)`` writes in, so each file is written front to back.
    private let layout: [Position]
    /// The tree's files (open descriptors and paths), fixed once laid out.
    private let files: [(fd: Int32, path: String)]
    private let state: Mutex<State>
    /// One fill at a time (the install waits for the one started with the download).
    private let filling = Mutex<Void>(())

    struct Place: Sendable {
        let file: Int
        let offset: UInt64
    }

    struct Position: Sendable {
        let digest: Digest256
        let place: Place
        let size: Int
    }

    private struct State {
        /// Bytes written to each file since its write-back was last started.
        var unflushed: [Int]
        var written: Set<Digest256> = []
        /// Chunks being written now, outside the lock.
        var writing: Set<Digest256> = []
        /// Other uses of the descriptors running outside the lock (the fill's write-back start).
        var borrowers = 0
        /// Why the tree cannot be committed (a failed write), if it cannot.
        var failure: String?
        /// Committed or abandoned: no more writes are started.
        var closed = false
        /// The descriptors are closed (by the last of `closed` and the writes running).
        var descriptorsClosed = false
        /// How long the commit's fsyncs took, for the install's log line.
        var syncSeconds: Double?

        /// Claims `digest` for a write: false when the tree takes no more, or it is written
        /// or being written.
        mutating func claim(_ digest: Digest256) -> Bool {
            guard !closed, failure == nil, !written.contains(digest), !writing.contains(digest) else { return false }
            writing.insert(digest)
            return true
        }

        /// A claimed write ended (`failure` nil: every place written). Returns the files whose
        /// write-back is due, and whether the caller must now close the descriptors.
        mutating func finish(_ chunks: [(digest: Digest256, bytes: Int, places: [Place])], failure: String?) -> (writeback: [Int], close: Bool) {
            var due: [Int] = []
            for chunk in chunks {
                writing.remove(chunk.digest)
                if failure != nil { continue }
                written.insert(chunk.digest)
                for place in chunk.places {
                    unflushed[place.file] += chunk.bytes
                    if unflushed[place.file] >= StagedTree.writebackEvery {
                        unflushed[place.file] = 0
                        due.append(place.file)
                    }
                }
            }
            if let failure, self.failure == nil { self.failure = failure }
            return (due, takeClose())
        }

        /// A claimed chunk left unwritten (given back, to be read or fetched again).
        mutating func giveBack(_ digest: Digest256) -> Bool {
            writing.remove(digest)
            return takeClose()
        }

        /// True once, when the tree is closed and nothing uses the descriptors: the caller closes them.
        mutating func takeClose() -> Bool {
            guard closed, writing.isEmpty, borrowers == 0, !descriptorsClosed else { return false }
            descriptorsClosed = true
            return true
        }
    }

    /// Lays out the tree for `manifest` beside its final place.
    public init(_ manifest: Manifest, installer: Installer) throws {
        self.manifest = manifest
        self.installer = installer
        try AtomicWrite.makeDirectories(installer.directory(app: manifest.app))
        root = installer.stagingPath(for: manifest)
        var files: [(fd: Int32, path: String)] = []
        var places: [Digest256: [Place]] = [:]
        var sizes: [Digest256: Int] = [:]
        var layout: [Position] = []
        do {
            try installer.layOut(manifest, into: root) { path, executable, size, refs in
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, executable ? 0o755 : 0o644)
                guard fd >= 0 else { throw FileError.errno("create", path) }
                files.append((fd, path))
                // The mode asked for at creation is filtered by the umask; set it exactly.
                fchmod(fd, executable ? 0o755 : 0o644)
                // Blocks reserved at once: a full disk fails the layout (``NoRoomForTree``), before
                // anything is downloaded, and each write skips the file system's reservation of its
                // blocks (less CPU per byte written on ext4; docs/benchmarks.md, *Delta release*).
                if size > 0, cfileops_reserve(fd, Int(size)) != 0 {
                    let code = errno
                    let error = FileError.errno("reserve room for", path)
                    switch code {
                    case EOPNOTSUPP: guard ftruncate(fd, off_t(size)) == 0 else { throw FileError.errno("size", path) }
                    case ENOSPC, EDQUOT: throw NoRoomForTree(app: manifest.app, version: manifest.version.description, error: error)
                    default: throw error
                    }
                }
                var offset: UInt64 = 0
                for ref in refs {
                    let place = Place(file: files.count - 1, offset: offset)
                    places[ref.digest, default: []].append(place)
                    sizes[ref.digest] = Int(ref.size)
                    layout.append(Position(digest: ref.digest, place: place, size: Int(ref.size)))
                    offset += UInt64(ref.size)
                }
            }
        } catch {
            for file in files { close(file.fd) }
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        self.places = places
        self.sizes = sizes
        self.layout = layout
        self.files = files
        state = Mutex(State(unflushed: Array(repeating: 0, count: files.count)))
    }

    deinit {
        if state.withLock({ s in s.closed = true; return s.takeClose() }) { closeDescriptors() }
    }

    /// How many bytes written to a file start its write-back: large enough that the disk gets
    /// big requests and the node few system calls, small enough that little is left at install.
    static let writebackEvery = 4 << 20

    /// Whether every chunk position is written.
    public var isComplete: Bool { state.withLock { $0.written.count == places.count && $0.failure == nil } }

    /// Seconds the commit spent in fsync (nil before a commit).
    public var syncSeconds: Double? { state.withLock { $0.syncSeconds } }

    /// Why the tree was not committed (a failed write, or chunks not written), for the log.
    public var problem: String? {
        state.withLock { s in
            s.failure ?? (s.written.count < places.count ? "\(places.count - s.written.count) of \(places.count) chunks not written" : nil)
        }
    }

    /// Writes a chunk that was checked against `digest` at each of its places (a chunk the
    /// manifest does not list, or one written or being written already, is ignored). Bytes
    /// not as long as the manifest says are not written: the tree fails.
    public func write(_ digest: Digest256, _ bytes: [UInt8]) {
        guard let at = places[digest] else { return }
        guard bytes.count == sizes[digest] else { return refuse(digest, length: bytes.count) }
        guard state.withLock({ $0.claim(digest) }) else { return }
        var failure: String?
        for place in at where failure == nil {
            let file = files[place.file]
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { pwrite(file.fd, $0.baseAddress! + done, $0.count - done, off_t(place.offset) + off_t(done)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    failure = FileError.errno("write", file.path).description
                    break
                }
                done += n
            }
        }
        finish([(digest, bytes.count, at)], failure: failure)
    }

    /// Ends a claimed write: books it, starts the write-back that is due, and closes the
    /// descriptors if the tree was closed meanwhile (all outside the lock).
    private func finish(_ chunks: [(digest: Digest256, bytes: Int, places: [Place])], failure: String?) {
        let (due, close) = state.withLock { $0.finish(chunks, failure: failure) }
        if close {
            closeDescriptors()
            return
        }
        for i in due { cfileops_start_writeback(files[i].fd, 0, 0) }
    }

    /// Fails the tree: `digest`'s bytes are `length` long, not the manifest's size for it.
    private func refuse(_ digest: Digest256, length: Int) {
        let problem = InstallError.wrongChunkSize(digest, listed: UInt32(clamping: sizes[digest] ?? 0), actual: length).description
        state.withLock { s in
            if s.failure == nil { s.failure = problem }
        }
    }

    private func giveBack(_ digest: Digest256) {
        if state.withLock({ $0.giveBack(digest) }) { closeDescriptors() }
    }

    private func closeDescriptors() {
        for file in files { close(file.fd) }
    }

    /// Writes every chunk not written yet that the store holds, file by file and front to
    /// back: runs of neighbouring chunks are read into one buffer and written with one
    /// `pwrite` of whole pages (``runBytes``), a chunk the manifest places more than once is
    /// copied to each place in the kernel. The store checks a chunk this process has not
    /// checked yet as it reads it. Waits for a fill already running.
    ///
    /// Why runs and not a kernel copy per chunk: chunks start anywhere in a page, so a copy
    /// per chunk writes most pages in two pieces, each zeroing the page first; whole-page
    /// writes from a buffer that stays in the cache cost less CPU (docs/benchmarks.md,
    /// *Delta release*).
    public func fill(from store: ChunkStore) {
        filling.withLock { _ in
            var buffer = [UInt8](repeating: 0, count: Self.runBytes)
            var run: [Position] = []
            var runBytes = 0
            buffer.withUnsafeMutableBytes { buffer in
                for position in layout {
                    let digest = position.digest
                    let contiguous = run.last.map { $0.place.file == position.place.file && $0.place.offset + UInt64($0.size) == position.place.offset } ?? true
                    if !contiguous || runBytes + position.size > buffer.count {
                        writeRun(run, from: buffer, store: store)
                        run.removeAll(keepingCapacity: true)
                        runBytes = 0
                    }
                    guard store.contains(digest),
                          state.withLock({ !$0.closed && $0.failure == nil && !$0.written.contains(digest) && !$0.writing.contains(digest) }) else {
                        writeRun(run, from: buffer, store: store)
                        run.removeAll(keepingCapacity: true)
                        runBytes = 0
                        continue
                    }
                    // Copied at the store's length, so it must be the manifest's. (Of a chunk found
                    // on disk at start, the length is its record's until it is read: a wrong one
                    // only sends install to the ordinary path, which checks the bytes.)
                    if let held = store.size(digest), held != position.size {
                        writeRun(run, from: buffer, store: store)
                        run.removeAll(keepingCapacity: true)
                        runBytes = 0
                        refuse(digest, length: held)
                        continue
                    }
                    if places[digest]!.count > 1 {
                        if !copy(digest, to: places[digest]!, from: store), let bytes = try? store.read(digest) { write(digest, bytes) }
                        continue
                    }
                    run.append(position)
                    runBytes += position.size
                }
                writeRun(run, from: buffer, store: store)
            }
            // What the store held (a delta release: most of the tree) starts for the disk now,
            // not in the fsync at install.
            guard state.withLock({ s -> Bool in
                guard !s.closed else { return false }
                s.borrowers += 1
                for i in s.unflushed.indices { s.unflushed[i] = 0 }
                return true
            }) else { return }
            for file in files { cfileops_start_writeback(file.fd, 0, 0) }
            if state.withLock({ s in s.borrowers -= 1; return s.takeClose() }) { closeDescriptors() }
        }
    }

    /// Bytes of neighbouring chunks ``fill(from:)`` writes at once: large enough for few
    /// system calls, small enough to stay in a core's cache between the read and the write.
    static let runBytes = 256 << 10

    /// Reads a run of neighbouring positions (each the only place of its chunk) into `buffer`
    /// and writes them with one `pwrite`. A chunk taken by a download meanwhile, or one the
    /// store no longer holds (dropped when it no longer matched its digest: it is fetched
    /// again), splits the run: what lies on either side is still written.
    private func writeRun(_ run: [Position], from buffer: UnsafeMutableRawBufferPointer, store: ChunkStore) {
        guard !run.isEmpty else { return }
        let claimed = state.withLock { s in run.map { s.claim($0.digest) } }
        var start = 0
        var length = 0
        func flush(upTo end: Int) {
            defer {
                start = end + 1
                length = 0
            }
            guard end > start else { return }
            let file = files[run[start].place.file]
            var done = 0
            var failure: String?
            while done < length {
                let n = pwrite(file.fd, buffer.baseAddress! + done, length - done, off_t(run[start].place.offset) + off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    failure = FileError.errno("write", file.path).description
                    break
                }
                done += n
            }
            finish(run[start..<end].map { ($0.digest, $0.size, [$0.place]) }, failure: failure)
        }
        for (i, position) in run.enumerated() {
            guard claimed[i] else {
                flush(upTo: i)
                continue
            }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[length..<length + position.size])
            if store.read(position.digest, into: target) == position.size {
                length += position.size
            } else {
                flush(upTo: i)
                giveBack(position.digest)
            }
        }
        flush(upTo: run.count)
    }

    /// Copies a verified chunk to its places in the kernel; false when it is not verified
    /// (the caller reads and checks it). True also when there is nothing to do.
    private func copy(_ digest: Digest256, to at: [Place], from store: ChunkStore) -> Bool {
        guard store.isVerified(digest) else { return false }
        guard state.withLock({ $0.claim(digest) }) else { return true }
        var failure: String?
        for place in at {
            let file = files[place.file]
            do {
                guard try store.copy(digest, toDescriptor: file.fd, at: place.offset, path: file.path) else {
                    // No longer verified or held (dropped meanwhile): read and checked by the caller.
                    giveBack(digest)
                    return false
                }
            } catch is InstallError {
                // Cut short in the store (now dropped): it is fetched again, or install takes the ordinary path.
                giveBack(digest)
                return true
            } catch {
                failure = "\(error)"
                break
            }
        }
        finish([(digest, Int(store.size(digest) ?? 0), at)], failure: failure)
        return true
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
            // Install waits for the fill, and every chunk is written (a write runs only for one that
            // is not), so nothing else uses the descriptors now: they are this commit's to close.
            guard s.writing.isEmpty, s.borrowers == 0 else {
                throw UpdateError("staging \(manifest.app) \(manifest.version): still being written")
            }
            s.closed = true
            s.descriptorsClosed = true
        }
        var failed: FileError?
        let started = ContinuousClock.now
        for file in files {
            if fsync(file.fd) != 0, failed == nil { failed = FileError.errno("sync", file.path) }
            close(file.fd)
        }
        let seconds = Updater.seconds(since: started)
        state.withLock { $0.syncSeconds = seconds }
        if let failed { throw failed }
        try installer.place(staging: root, at: target)
        return target
    }

    /// Gives the tree up and removes it.
    public func abandon() {
        if state.withLock({ s in s.closed = true; return s.takeClose() }) { closeDescriptors() }
        // After a commit nothing is left here (renamed, or the old tree already removed).
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// The disk cannot hold a version's tree: reserving its files' blocks failed with ENOSPC or
/// EDQUOT. The download is refused before it starts (install would fail the same way).
public struct NoRoomForTree: Error, CustomStringConvertible {
    public let app: String
    public let version: String
    public let error: FileError
    public var description: String { "no room on the disk for the files of \(app) \(version): \(error)" }
}
