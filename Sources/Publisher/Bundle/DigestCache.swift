import BundlecastCore

/// The chunk lists of a bundle's files as they were last hashed, each with the
/// ``FileStamp`` the file had then: a release uses an entry only for a file whose stamp
/// is the same now, so unchanged files are not read again.
///
/// The cache is advisory. An entry is used only when the file's device, inode, size,
/// mtime and ctime all match and its chunks add up to the size with every chunk a size
/// the chunker can cut; a file whose last change is too recent to be told apart from a
/// change in the same clock tick is never recorded (``BundleHasher``). A cache that does
/// not decode, or was made for another bundle or another chunker, is ignored whole.
public struct DigestCache: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var stamp: FileStamp
        public var chunks: [ChunkRef]

        public init(stamp: FileStamp, chunks: [ChunkRef]) {
            self.stamp = stamp
            self.chunks = chunks
        }
    }

    /// The bundle directory's real path: a cache belongs to one bundle.
    public let root: String
    public let parameters: ChunkingParameters
    /// By path relative to the root.
    public private(set) var entries: [String: Entry] = [:]

    public init(root: String, parameters: ChunkingParameters = .v1) {
        self.root = root
        self.parameters = parameters
    }

    /// The chunks recorded for `path` if the file still has `stamp`.
    public func chunks(for path: String, stamp: FileStamp) -> [ChunkRef]? {
        guard let entry = entries[path], entry.stamp == stamp else { return nil }
        return entry.chunks
    }

    /// Records `chunks` for `path` if they could be the file's (sizes add up, each chunk a
    /// size the chunker cuts); returns whether it did.
    @discardableResult
    public mutating func record(_ path: String, stamp: FileStamp, chunks: [ChunkRef]) -> Bool {
        guard Self.plausible(chunks, size: stamp.size, parameters: parameters) else { return false }
        entries[path] = Entry(stamp: stamp, chunks: chunks)
        return true
    }

    static func plausible(_ chunks: [ChunkRef], size: UInt64, parameters: ChunkingParameters) -> Bool {
        var total: UInt64 = 0
        for (i, chunk) in chunks.enumerated() {
            guard chunk.size >= 1, Int(chunk.size) <= parameters.maxSize else { return false }
            guard i == chunks.count - 1 || Int(chunk.size) >= parameters.minSize else { return false }
            total += UInt64(chunk.size)
            guard total <= size else { return false }
        }
        return total == size
    }
}
