/// What a node that holds one version must fetch to get another: the chunks
/// of the new manifest that the old one lacks (each distinct chunk once, as
/// the chunk store deduplicates).
public struct ManifestDiff: Codable, Equatable, Sendable {
    /// Distinct chunks of NEW that OLD does not have: what must be fetched.
    public var chunks: Int
    /// Bytes of those chunks.
    public var bytes: UInt64
    /// Distinct chunks of NEW.
    public var totalChunks: Int
    /// Size of NEW's files (the notice's `size`).
    public var totalBytes: UInt64
    /// Bytes of NEW's distinct chunks: what a node holding nothing fetches.
    public var uniqueBytes: UInt64
    /// Paths in NEW only, in OLD only, and in both with other content, type or mode.
    public var filesAdded: Int
    public var filesRemoved: Int
    public var filesChanged: Int

    public init(from old: Manifest, to new: Manifest) {
        let have = Set(old.entries.flatMap { $0.chunks.map(\.digest) })
        var seen = Set<Digest256>()
        chunks = 0
        bytes = 0
        uniqueBytes = 0
        for chunk in new.entries.lazy.flatMap(\.chunks) where seen.insert(chunk.digest).inserted {
            uniqueBytes += UInt64(chunk.size)
            if !have.contains(chunk.digest) {
                chunks += 1
                bytes += UInt64(chunk.size)
            }
        }
        totalChunks = seen.count
        totalBytes = new.totalSize
        // Paths by their bytes, as they are on disk (a String would take "é" for "e\u{301}").
        let oldByPath = Dictionary(old.entries.map { (Array($0.path.utf8), $0.kind) }, uniquingKeysWith: { a, _ in a })
        let newPaths = Set(new.entries.map { Array($0.path.utf8) })
        filesAdded = new.entries.filter { oldByPath[Array($0.path.utf8)] == nil }.count
        filesRemoved = old.entries.filter { !newPaths.contains(Array($0.path.utf8)) }.count
        filesChanged = new.entries.filter { e in oldByPath[Array(e.path.utf8)].map { $0 != e.kind } ?? false }.count
    }
}
