/// The open chunks (not held, not requested) in rarest-first order, so a pick finds a
/// peer's rarest open chunk by looking at words of 64 chunks and stopping at the first
/// it has, instead of visiting every open chunk the peer has.
///
/// Rarest first ranks a chunk by (availability, tie key), lowest first. Each chunk has a
/// fixed *position*: its rank among all chunks by tie key (ties by index). Level `a`
/// holds the positions of the open chunks that `a` peers have, so reading level 0, 1, ...
/// and each level's bits in ascending order visits open chunks in exactly the planner's
/// rank order. A peer's have-set is kept in the same positions (``SwarmPeer/hasRanked``),
/// so "its first open chunk at this level" is a word-wise AND.
///
/// Visiting every open chunk a peer has made each pick cost the size of the bundle: a
/// receiving node spent more instructions in it than in hashing the chunk for bundles of
/// 256 MiB and up (callgrind, docs/benchmarks.md).
struct RarityIndex: Sendable {
    /// Chunk number -> position in tie-key order.
    let position: [Int32]
    /// Position -> chunk number.
    let chunkAt: [Int32]
    /// Words of 64 positions per level (a bitset over all positions).
    let wordsPerLevel: Int
    /// Level `a`'s words at `a * wordsPerLevel...`: the positions of the open chunks that
    /// `a` peers have. One flat array, so a move touches one buffer. Grows as availability
    /// does (at most the peers a planner knows, each a connection).
    private(set) var levelWords: [UInt64]
    /// Open chunks per level, so empty levels are skipped without reading their words.
    private(set) var counts: [Int]
    /// The positions of every open chunk: the union of the levels.
    private(set) var open: ChunkBitset

    /// `tieKey[chunk]` ranks the chunks; `open` holds the open ones, all with availability 0.
    init(tieKey: [UInt64], open: ChunkBitset) {
        let order = tieKey.indices.sorted { tieKey[$0] != tieKey[$1] ? tieKey[$0] < tieKey[$1] : $0 < $1 }
        var position = [Int32](repeating: 0, count: tieKey.count)
        for (rank, chunk) in order.enumerated() { position[chunk] = Int32(rank) }
        self.position = position
        chunkAt = order.map { Int32($0) }
        var level0 = ChunkBitset(count: tieKey.count)
        var count = 0
        open.forEach { level0[Int(position[$0])] = true; count += 1 }
        wordsPerLevel = level0.words.count
        levelWords = level0.words
        counts = [count]
        self.open = level0
    }

    /// Whether the chunk at `position` is open with `availability` holders.
    func isListed(_ position: Int, at availability: Int) -> Bool {
        availability < counts.count && levelWords[availability * wordsPerLevel + (position >> 6)] & (1 << UInt64(position & 63)) != 0
    }

    mutating func insert(_ chunk: Int, availability: Int) {
        let spot = Int(position[chunk])
        add(spot, at: availability)
        open[spot] = true
    }

    mutating func remove(_ chunk: Int, availability: Int) {
        let spot = Int(position[chunk])
        levelWords[availability * wordsPerLevel + (spot >> 6)] &= ~(1 << UInt64(spot & 63))
        counts[availability] -= 1
        open[spot] = false
    }

    /// An open chunk's availability changed.
    mutating func move(_ chunk: Int, from old: Int, to new: Int) {
        let spot = Int(position[chunk])
        levelWords[old * wordsPerLevel + (spot >> 6)] &= ~(1 << UInt64(spot & 63))
        counts[old] -= 1
        add(spot, at: new)
    }

    private mutating func add(_ spot: Int, at level: Int) {
        if counts.count <= level {
            levelWords.append(contentsOf: repeatElement(0, count: (level + 1 - counts.count) * wordsPerLevel))
            counts.append(contentsOf: repeatElement(0, count: level + 1 - counts.count))
        }
        levelWords[level * wordsPerLevel + (spot >> 6)] |= 1 << UInt64(spot & 63)
        counts[level] += 1
    }

    /// Where a scan stopped: the rank (availability, position) of the open chunk found.
    struct Rank: Comparable, Sendable {
        let availability: Int
        let position: Int
        static func < (a: Rank, b: Rank) -> Bool {
            (a.availability, a.position) < (b.availability, b.position)
        }
    }

    /// What one peer's scan found.
    struct Scan {
        /// The peer's rarest open chunk that is not in its `avoid` set, if it ranks before the bound.
        var found: (chunk: Int, rank: Rank)?
        /// An open chunk the peer has was skipped for its `avoid` set.
        var avoided = false
        /// Every open chunk the peer has was looked at (no bound cut the scan short).
        var complete = false
    }

    /// The first open chunk, in rank order, that `has` (ranked, ``SwarmPeer/hasRanked``)
    /// holds and `avoid` does not, ranking before `bound`. One pass over the words finds
    /// where the peer has open chunks at all; each level is read only in those words, so a
    /// peer with little to offer costs that pass, and one with much is found in the first
    /// words of the rarest level it has. Level 0 is never read: a chunk a known peer has
    /// counts that peer in its availability.
    func first(in has: ChunkBitset, avoiding avoid: Set<Int>, before bound: Rank?) -> Scan {
        let lastLevel = min(counts.count - 1, bound?.availability ?? .max)
        guard lastLevel >= 1 else { return Scan(complete: bound == nil) }
        let wordCount = min(has.words.count, open.words.count)
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, wordCount)) { candidates in
            var n = 0
            for w in 0..<wordCount where has.words[w] & open.words[w] != 0 {
                candidates[n] = w
                n += 1
            }
            var scan = Scan()
            guard n > 0 else {
                scan.complete = bound == nil
                return scan
            }
            for level in 1...lastLevel where counts[level] > 0 {
                let base = level * wordsPerLevel
                var endWord = Int.max
                var lastMask = UInt64.max
                if let bound, level == bound.availability {
                    // Only positions before the bound's: its word, masked, is the last read.
                    endWord = bound.position >> 6
                    lastMask = (1 << UInt64(bound.position & 63)) &- 1
                }
                for i in 0..<n {
                    let w = candidates[i]
                    if w > endWord { break }
                    var bits = levelWords[base + w] & has.words[w]
                    if w == endWord { bits &= lastMask }
                    while bits != 0 {
                        let spot = w << 6 | bits.trailingZeroBitCount
                        let chunk = Int(chunkAt[spot])
                        if !avoid.isEmpty, avoid.contains(chunk) {
                            scan.avoided = true
                            bits &= bits - 1
                            continue
                        }
                        scan.found = (chunk, Rank(availability: level, position: spot))
                        return scan
                    }
                }
            }
            scan.complete = bound == nil
            return scan
        }
    }
}
