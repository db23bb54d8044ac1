/// FastCDC chunk sizes, fixed by the manifest format version: version 1 cuts
/// chunks of 16 KiB minimum, 64 KiB on average, 256 KiB maximum.
public struct ChunkingParameters: Hashable, Sendable {
    public let name: String
    public let minSize: Int
    public let averageSize: Int
    public let maxSize: Int

    /// Format version 1.
    public static let v1 = ChunkingParameters(name: "fastcdc-v1", minSize: 16 << 10, averageSize: 64 << 10, maxSize: 256 << 10)

    /// Every chunk between 1 byte and the maximum; every chunk but the last at
    /// least the minimum (that is how the chunker cuts).
    func validate(_ chunks: [ChunkRef], path: String) throws(ManifestError) {
        for (i, chunk) in chunks.enumerated() {
            let size = Int(chunk.size)
            guard size >= 1, size <= maxSize else {
                throw ManifestError("\"\(path)\": chunk \(i) has size \(size), outside 1...\(maxSize)")
            }
            guard i == chunks.count - 1 || size >= minSize else {
                throw ManifestError("\"\(path)\": chunk \(i) has size \(size), below the minimum \(minSize) for a chunk that is not the last")
            }
        }
    }
}
