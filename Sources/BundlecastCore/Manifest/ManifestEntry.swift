/// One chunk of a file: its BLAKE2b-256 digest and its length.
public struct ChunkRef: Hashable, Sendable {
    public let digest: Digest256
    public let size: UInt32

    public init(digest: Digest256, size: UInt32) {
        self.digest = digest
        self.size = size
    }
}

/// A file or symlink of a bundle. Directories are implied by paths and not
/// recorded (empty directories are not kept, as in git).
public struct ManifestEntry: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A regular file; only the executable bit of its mode is kept.
        case file(executable: Bool, size: UInt64, digest: Digest256, chunks: [ChunkRef])
        /// A symlink, with its target as stored in the link.
        case symlink(target: String)
    }

    public let path: String
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// A file entry whose size and digest are derived from its chunks.
    public static func file(path: String, executable: Bool, chunks: [ChunkRef]) -> ManifestEntry {
        let size = chunks.reduce(UInt64(0)) { $0 + UInt64($1.size) }
        return ManifestEntry(
            path: path,
            kind: .file(executable: executable, size: size, digest: FileDigest.of(chunks), chunks: chunks))
    }

    public var size: UInt64 {
        if case .file(_, let size, _, _) = kind { return size }
        return 0
    }

    public var chunks: [ChunkRef] {
        if case .file(_, _, _, let chunks) = kind { return chunks }
        return []
    }
}

/// A file's digest: BLAKE2b-256 of its chunk list, each chunk as its 32-byte
/// digest followed by its size as a little-endian u64. Every byte of content
/// is hashed once (into its chunk digest), never twice.
public enum FileDigest {
    public static func of(_ chunks: [ChunkRef]) -> Digest256 {
        var buffer = [UInt8]()
        buffer.reserveCapacity(chunks.count * 40)
        for chunk in chunks {
            chunk.digest.withUnsafeBytes { buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt64(chunk.size).littleEndian) { buffer.append(contentsOf: $0) }
        }
        return Blake2b.digest256(buffer)
    }
}
