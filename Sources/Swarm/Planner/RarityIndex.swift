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
/// Visiting every open chunk a peer has instead makes each pick cost the bundle's size, and a
/// whole download the square of its chunk count.
struct RarityIndex: Sendable {
    /// Chunk number -> position in tie-key order.
    let position: [Int32]
    /// Position -> chunk number.
    let chunkAt: [Int32]
    /// Words of 64 positions per level (a bitset over all positions).
    let wordsPerLevel: Int
    /// Level `a`'s words at `a * wordsPerLevel...`: the positions of the open chunks that
    /// `a` peers have. One flat array, so a move touches one buffer. It grows with the
    /// highest availability of an open chunk (at most the peers a planner knows, each a
    /// connection) and shrinks when the top levels empty.
    private(set) var levelWords: [UInt64]
    /// Open chunks per level, so empty levels are skipped without reading their words.
    private(set) var counts: [Int]
    /// The positions of every open chunk: the union of the levels.
    private(set) var open: ChunkBitset
    /// Position -> the level it is listed at, for a scan that visits candidates one by one
    /// (meaningful only where `open` is set).
    private var levelAt: [Int32]

    /// `tieKey[chunk]` ranks the chunks; `open` holds the open ones, all with availability 0.
    /// At most `Int32.max` chunks (a manifest holds far fewer: it is at most 16 MiB).
    init(tieKey: [UInt64], open: ChunkBitset) {
        precondition(tieKey.count <= Int(Int32.max), "more chunks than positions")
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
        levelAt = [Int32](repeating: 0, count: tieKey.count)
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
        take(spot, from: availability)
        open[spot] = false
    }

    /// An open chunk's availability changed.
    mutating func move(_ chunk: Int, from old: Int, to new: Int) {
        let spot = Int(position[chunk])
        // Added first: taking first could empty the top levels, trim them, and grow them again.
        add(spot, at: new)
        take(spot, from: old)
    }

    private mutating func add(_ spot: Int, at level: Int) {
        if counts.count <= level {
            levelWords.append(contentsOf: repeatElement(0, count: (level + 1 - counts.count) * wordsPerLevel))
            counts.append(contentsOf: repeatElement(0, count: level + 1 - counts.count))
        }
        levelWords[level * wordsPerLevel + (spot >> 6)] |= 1 << UInt64(spot & 63)
        counts[level] += 1
        levelAt[spot] = Int32(level)
    }

    private mutating func take(_ spot: Int, from level: Int) {
        levelWords[level * wordsPerLevel + (spot >> 6)] &= ~(1 << UInt64(spot & 63))
        counts[level] -= 1
        while counts.count > 1, counts[counts.count - 1] == 0 {
            counts.removeLast()
            levelWords.removeLast(wordsPerLevel)
        }
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
        /// An open chunk the peer has was skipped for its `avoid` set. Complete only when
        /// nothing was found: a scan stops at its first find.
        var avoided = false
        /// The peer has no open chunk at all, avoided or not.
        var offersNothing = false
    }

    /// The first open chunk, in rank order, that `has` (ranked, ``SwarmPeer/hasRanked``)
    /// holds and `avoid` does not, ranking before `bound`.
    ///
    /// One pass over the words finds the peer's candidates (its open chunks). Then the
    /// cheaper of two reads: level by level in those words only, stopping at the first
    /// find, which costs (levels × candidate words) at most and is what a peer holding
    /// much of the bundle takes; or each candidate once, which costs their number and is
    /// what a peer with a few chunks spread over many levels takes. Either way a pick costs
    /// no more than visiting every candidate, however peers spread the chunks over levels.
    /// Level 0 is never read: a chunk a known peer has counts that peer in its availability.
    func first(in has: ChunkBitset, avoiding avoid: Set<Int>, before bound: Rank?) -> Scan {
        let wordCount = min(has.words.count, open.words.count)
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, wordCount)) { candidates in
            var n = 0
            var candidateCount = 0
            for w in 0..<wordCount {
                let both = has.words[w] & open.words[w]
                guard both != 0 else { continue }
                candidates[n] = w
                n += 1
                candidateCount += both.nonzeroBitCount
            }
            guard n > 0 else { return Scan(offersNothing: true) }
            let lastLevel = min(counts.count - 1, bound?.availability ?? .max)
            guard lastLevel >= 1 else { return Scan() }
            var levels = 0
            var lowest = 0
            for level in 1...lastLevel where counts[level] > 0 {
                levels += 1
                if lowest == 0 { lowest = level }
            }
            guard levels > 0 else { return Scan() }
            let words = UnsafeBufferPointer(rebasing: candidates[0..<n])
            return levels * n <= candidateCount
                ? byLevel(words, has, avoid, bound, lastLevel)
                : byCandidate(words, has, avoid, bound, lowest)
        }
    }

    private func byLevel(_ candidates: UnsafeBufferPointer<Int>, _ has: ChunkBitset, _ avoid: Set<Int>,
                         _ bound: Rank?, _ lastLevel: Int) -> Scan {
        var scan = Scan()
        for level in 1...lastLevel where counts[level] > 0 {
            let base = level * wordsPerLevel
            var endWord = Int.max
            var lastMask = UInt64.max
            if let bound, level == bound.availability {
                // Only positions before the bound's: its word, masked, is the last read.
                endWord = bound.position >> 6
                lastMask = (1 << UInt64(bound.position & 63)) &- 1
            }
            for w in candidates {
                if w > endWord { break }
                var bits = levelWords[base + w] & has.words[w]
                if w == endWord { bits &= lastMask }
                while bits != 0 {
                    let spot = w << 6 | bits.trailingZeroBitCount
                    let chunk = Int(chunkAt[spot])
                    bits &= bits - 1
                    if !avoid.isEmpty, avoid.contains(chunk) {
                        scan.avoided = true
                        continue
                    }
                    scan.found = (chunk, Rank(availability: level, position: spot))
                    return scan
                }
            }
        }
        return scan
    }

    /// Visits the candidates in position order, keeping the best; a candidate at the lowest
    /// non-empty level is the best there is (positions only grow from there).
    private func byCandidate(_ candidates: UnsafeBufferPointer<Int>, _ has: ChunkBitset, _ avoid: Set<Int>,
                             _ bound: Rank?, _ lowest: Int) -> Scan {
        var scan = Scan()
        for w in candidates {
            var bits = has.words[w] & open.words[w]
            while bits != 0 {
                let spot = w << 6 | bits.trailingZeroBitCount
                bits &= bits - 1
                let level = Int(levelAt[spot])
                guard level >= 1 else { continue }
                let rank = Rank(availability: level, position: spot)
                if let bound, !(rank < bound) { continue }
                if let best = scan.found, !(rank < best.rank) { continue }
                let chunk = Int(chunkAt[spot])
                if !avoid.isEmpty, avoid.contains(chunk) {
                    scan.avoided = true
                    continue
                }
                scan.found = (chunk, rank)
                if level == lowest { return scan }
            }
        }
        return scan
    }
}
