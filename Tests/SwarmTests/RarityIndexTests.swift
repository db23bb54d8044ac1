import Gossip
import Testing
@testable import Swarm

/// The rarest-first index: in step with the planner's records after every event, and a
/// scan that finds what visiting every open chunk would.
struct RarityIndexTests {
    /// Checks every record the index mirrors, chunk by chunk.
    static func expectInStep(_ p: SwarmPlanner, _ context: String) {
        let r = p.rarity
        for a in r.counts.indices {
            let n = (0..<p.chunkCount).filter { r.isListed($0, at: a) }.count
            #expect(n == r.counts[a], "level \(a) holds \(n), counted \(r.counts[a]) (\(context))")
        }
        for chunk in 0..<p.chunkCount {
            let holders = p.ids.filter { p.has(p.table[$0]!, chunk) }.count
            #expect(p.availability[chunk] == holders, "chunk \(chunk): availability \(p.availability[chunk]), \(holders) holders (\(context))")
            #expect(p.open[chunk] == (!p.held[chunk] && p.requestedFrom[chunk].isEmpty), "chunk \(chunk) open (\(context))")
            let position = Int(r.position[chunk])
            #expect(Int(r.chunkAt[position]) == chunk)
            for id in p.ids where p.table[id]!.exhausted {
                #expect(!(p.has(p.table[id]!, chunk) && p.open[chunk]), "exhausted peer \(id.short) has open chunk \(chunk) (\(context))")
            }
            #expect(r.open[position] == p.open[chunk], "chunk \(chunk) in the index's open set (\(context))")
            for a in r.counts.indices {
                let listed = r.isListed(position, at: a)
                #expect(listed == (p.open[chunk] && a == p.availability[chunk]),
                        "chunk \(chunk) at level \(a): \(listed), open \(p.open[chunk]), availability \(p.availability[chunk]) (\(context))")
            }
        }
    }

    @Test(arguments: [1, 63, 64, 65, 130, 517])
    func theIndexStaysInStepWithEveryEvent(chunks: Int) {
        var rng = SplitMix64(seed: UInt64(chunks))
        var p = planner(chunks: chunks, seed: UInt64(chunks)) {
            $0.initialWindow = 2; $0.minWindow = 1; $0.maxWindow = 4; $0.randomFirst = 2
            $0.requestTimeout = 50 * ms; $0.strikesToBan = 3
        }
        var now: UInt64 = 0
        var out: [SwarmPlanner.Directive] = []
        func random(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        for step in 0..<400 {
            now += UInt64(random(20)) * ms
            let who = peer(UInt64(1 + random(12)))
            let chunk = random(chunks)
            let event: String
            switch random(10) {
            case 0:
                event = "add"
                out = p.addPeer(who, sameZone: random(2) == 0, now: now)
            case 1:
                event = "bitfield"
                out = p.peerHas(who, bitfield: (0..<chunks).map { _ in random(3) == 0 }, now: now)
            case 2:
                event = "all"
                out = p.peerHasAll(who, now: now)
            case 3:
                event = "remove"
                out = p.removePeer(who, now: now)
            case 4:
                event = "refused"
                out = p.refused(chunk: chunk, by: who, now: now)
            case 5:
                // Answer a request in flight, sometimes with bad bytes.
                let asked = p.ids.flatMap { id in p.inFlight(to: id).map { (id, $0) } }
                if let (id, c) = asked.isEmpty ? nil : asked[random(asked.count)] {
                    event = "received"
                    out = p.received(chunk: c, from: id, valid: random(5) != 0, now: now)
                } else {
                    event = "tick"
                    out = p.tick(now: now)
                }
            case 6:
                event = "stored elsewhere"
                out = p.storedElsewhere(chunk: chunk, now: now)
            case 7:
                event = "tick"
                out = p.tick(now: now + 60 * ms)
            default:
                event = "has"
                out = p.peerHas(who, chunk: chunk, now: now)
            }
            _ = out
            Self.expectInStep(p, "step \(step), \(event)")
            if p.isComplete { break }
        }
    }

    /// Open chunks spread over levels, a have-set, an avoid set and a bound, against the
    /// smallest (availability, position) found by visiting every candidate.
    @Test func aScanFindsTheRarestCandidateBeforeTheBound() {
        var rng = SplitMix64(seed: 7)
        func random(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        for round in 0..<900 {
            let count = 1 + random(300)
            let tieKeys = (0..<count).map { _ in rng.next() % 50 }  // repeated keys: ties by index
            var index = RarityIndex(tieKey: tieKeys, open: ChunkBitset(count: count))
            var availability = Array(repeating: -1, count: count)  // -1: not open
            var has = ChunkBitset(count: count)
            var avoid = Set<Int>()
            let density = [3, 30, 90][round % 3]  // sparse peers are read candidate by candidate, full ones level by level
            let spread = [2, 5, 40][(round / 3) % 3]
            for chunk in 0..<count {
                if random(3) > 0 {
                    availability[chunk] = random(spread)
                    index.insert(chunk, availability: availability[chunk])
                }
                if random(100) < density { has[Int(index.position[chunk])] = true }
                if random(8) == 0 { avoid.insert(chunk) }
            }
            // The brute force: every candidate's rank, the best before `bound`.
            func best(before bound: RarityIndex.Rank?) -> (found: (chunk: Int, rank: RarityIndex.Rank)?, avoided: Bool) {
                var found: (chunk: Int, rank: RarityIndex.Rank)?
                var avoided = false
                for chunk in 0..<count where availability[chunk] >= 1 && has[Int(index.position[chunk])] {
                    let rank = RarityIndex.Rank(availability: availability[chunk], position: Int(index.position[chunk]))
                    if let bound, !(rank < bound) { continue }
                    if avoid.contains(chunk) { avoided = true; continue }
                    if found == nil || rank < found!.rank { found = (chunk, rank) }
                }
                return (found, avoided)
            }
            // No bound, any rank, or exactly the best one (nothing ranks before it).
            let bound: RarityIndex.Rank? = switch random(3) {
            case 0: nil
            case 1: RarityIndex.Rank(availability: 1 + random(spread), position: random(count))
            default: best(before: nil).found?.rank
            }
            let scan = index.first(in: has, avoiding: avoid, before: bound)
            let (expected, sawAvoided) = best(before: bound)
            let offers = (0..<count).contains { availability[$0] >= 0 && has[Int(index.position[$0])] }
            #expect(scan.found?.chunk == expected?.chunk, "round \(round)")
            #expect(scan.found?.rank == expected?.rank, "round \(round)")
            if expected == nil { #expect(scan.avoided == sawAvoided, "round \(round)") }
            #expect(scan.offersNothing == !offers, "round \(round)")
            // Positions follow the tie keys, ties by index.
            for pos in 1..<max(1, count) {
                let a = Int(index.chunkAt[pos - 1]), b = Int(index.chunkAt[pos])
                #expect(tieKeys[a] < tieKeys[b] || (tieKeys[a] == tieKeys[b] && a < b))
            }
        }
    }
}
