/// A fixed-size set of chunk numbers (or of their rarest-first positions, ``RarityIndex``),
/// one bit each, so the planner can ask "which chunks does this peer have that are still
/// to request" a word (64 chunks) at a time instead of chunk by chunk.
struct ChunkBitset: Sendable, Equatable {
    private(set) var words: [UInt64]
    let count: Int

    /// `count` chunks, all absent, or all present with `filled`.
    init(count: Int, filled: Bool = false) {
        self.count = count
        words = Array(repeating: filled ? ~0 : 0, count: (count + 63) / 64)
        if filled, count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    subscript(chunk: Int) -> Bool {
        get { words[chunk >> 6] & (1 << UInt64(chunk & 63)) != 0 }
        set {
            if newValue { words[chunk >> 6] |= 1 << UInt64(chunk & 63) } else { words[chunk >> 6] &= ~(1 << UInt64(chunk & 63)) }
        }
    }

    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// Calls `body` with every chunk in this set, ascending.
    func forEach(_ body: (Int) -> Void) {
        for w in words.indices where words[w] != 0 {
            var bits = words[w]
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
    }
}
