/// What a bundle contains, and only that: app, version, chunking parameters
/// and the entries in path order. No sequence, no timestamps, so the same
/// content and version give the same bytes on any machine, and the
/// BLAKE2b-256 of those bytes is the manifest's id.
///
/// Every `Manifest` value is valid: the initialiser enforces the path rules,
/// the order, the chunk sizes (one size per digest) and each file's digest. See FORMAT.md.
public struct Manifest: Hashable, Sendable {
    public let app: String
    public let version: SemanticVersion
    public let entries: [ManifestEntry]

    public init(app: String, version: SemanticVersion, entries: [ManifestEntry]) throws {
        try Identifier.validateApp(app)
        self.app = app
        self.version = version
        self.entries = entries
        try Self.validate(entries)
    }

    /// The most bytes a bundle (and so any one file of it) may hold: 1 PiB. Far above any
    /// real bundle, and low enough that sizes add up without overflow wherever they are summed.
    public static let maxSize: UInt64 = 1 << 50

    /// The most bytes a manifest's encoding may take: what a node accepts from a peer, a
    /// mirror or the admin API (a 16 MiB transfer frame, less its header). A release whose
    /// manifest is larger could be signed but never delivered.
    public static let maxEncodedBytes = (16 << 20) - 64

    /// Total bytes of all files (at most ``maxSize``, checked when the manifest was made).
    public var totalSize: UInt64 { entries.reduce(0) { $0 + $1.size } }

    /// Every chunk reference, in entry order, duplicates included.
    public var chunkCount: Int { entries.reduce(0) { $0 + $1.chunks.count } }

    /// The canonical bytes (see ``ManifestCoder``).
    public func encoded() -> [UInt8] { ManifestCoder.encode(self) }

    /// The manifest's id: BLAKE2b-256 of its canonical bytes.
    public var digest: Digest256 { Blake2b.digest256(encoded()) }

    /// Paths are compared by their UTF-8 bytes (a `String` compares by canonical equivalence,
    /// while the installer writes bytes), and the tree refuses names that fold together.
    ///
    /// A digest names one content, so one length: a chunk listed twice must have the same size
    /// both times. The node takes the size from the manifest (what it asks for, where it writes
    /// the bytes), so two sizes would make the true bytes wrong at one of them. A single size its
    /// bytes do not have cannot be seen without the bytes; the node checks it when they come.
    static func validate(_ entries: [ManifestEntry]) throws {
        var tree = BundleTree()
        var previous: String?
        var total: UInt64 = 0
        // Each chunk's size, and the first path that lists it.
        var sizes: [Digest256: (size: UInt32, path: String)] = [:]
        for entry in entries {
            try BundlePath.validate(entry.path)
            if let previous {
                let order = BundlePath.order(previous, entry.path)
                if order == 0 { throw PathError(path: entry.path, reason: .duplicate) }
                guard order < 0 else {
                    throw ManifestError("entries are not in byte order of their paths at \"\(entry.path)\"")
                }
            }
            previous = entry.path
            if case .file(_, let size, let digest, let chunks) = entry.kind {
                try ChunkingParameters.v1.validate(chunks, path: entry.path)
                for chunk in chunks {
                    if let seen = sizes[chunk.digest] {
                        guard seen.size == chunk.size else {
                            throw ManifestError("\"\(entry.path)\": chunk \(chunk.digest.hex) has size \(chunk.size) here and \(seen.size) in \"\(seen.path)\": one digest, one length")
                        }
                    } else {
                        sizes[chunk.digest] = (size: chunk.size, path: entry.path)
                    }
                }
                // Chunks are at most 256 KiB: overflowing this sum would take 2^46 of them.
                guard chunks.reduce(UInt64(0), { $0 + UInt64($1.size) }) == size else {
                    throw ManifestError("\"\(entry.path)\": size \(size) is not the sum of its chunk sizes")
                }
                let (sum, overflow) = total.addingReportingOverflow(size)
                guard !overflow, sum <= Self.maxSize else {
                    throw ManifestError("\"\(entry.path)\": the bundle's files add up to more than \(Self.maxSize) bytes")
                }
                total = sum
                guard FileDigest.of(chunks) == digest else {
                    throw ManifestError("\"\(entry.path)\": digest does not match its chunk list")
                }
            }
            // No entry may sit below a file or symlink (installing it would write through the
            // link or fail half-way), nor share a name with another under folding.
            try tree.add(entry)
        }
        var links = SymlinkCheck(tree: tree)
        for entry in entries {
            if case .symlink(let target) = entry.kind {
                try links.check(path: entry.path, target: target)
            }
        }
    }
}
