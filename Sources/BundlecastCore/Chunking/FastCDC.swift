/// FastCDC content-defined chunking (Xia et al., 2016/2020): a gear rolling
/// hash with normalized chunking, so cut points depend only on nearby bytes
/// and an insertion moves few of them.
///
/// Format version 1: minimum 16 KiB, average 64 KiB, maximum 256 KiB; below
/// the average the stricter mask (18 bits) is used, above it the looser one
/// (14 bits), which pulls chunk sizes towards the average. A cut is made
/// after the byte where `hash & mask == 0`. The masks use alternating high
/// bits, which depend on the last 30 to 64 bytes.
public struct FastCDC: Sendable {
    public let parameters: ChunkingParameters
    /// 18 one bits: 63, 61, ..., 29.
    public static let maskSmall: UInt64 = 0xAAAA_AAAA_A000_0000
    /// 14 one bits: 63, 61, ..., 37 (a subset of the small mask).
    public static let maskLarge: UInt64 = 0xAAAA_AAA0_0000_0000

    public init(parameters: ChunkingParameters = .v1) {
        self.parameters = parameters
    }

    /// Length of the chunk that starts at `bytes`.
    ///
    /// `bytes` must hold at least `maxSize` bytes unless it reaches the end of
    /// the file, in which case its last chunk may be shorter than the minimum.
    public func cut(_ bytes: UnsafeRawBufferPointer) -> Int {
        let n = bytes.count
        let minSize = parameters.minSize
        if n <= minSize { return n }
        let end = min(n, parameters.maxSize)
        let normal = min(end, parameters.averageSize)
        let p = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return gearTableV1.withUnsafeBufferPointer { table in
            let gear = table.baseAddress!
            var hash: UInt64 = 0
            var i = minSize
            while i < normal {
                hash = (hash &<< 1) &+ gear[Int(p[i])]
                if hash & Self.maskSmall == 0 { return i + 1 }
                i += 1
            }
            while i < end {
                hash = (hash &<< 1) &+ gear[Int(p[i])]
                if hash & Self.maskLarge == 0 { return i + 1 }
                i += 1
            }
            return end
        }
    }

    /// Every chunk length of a whole in-memory buffer (tests, small files).
    public func chunkLengths(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        var lengths: [Int] = []
        var offset = 0
        while offset < bytes.count {
            let length = cut(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            lengths.append(length)
            offset += length
        }
        return lengths
    }
}
