import Gossip

/// Choosing the next request: random first, then rarest first, then endgame.
extension SwarmPlanner {
    /// A request the planner would issue next.
    struct Pick {
        let chunk: Int
        let peer: NodeID
        /// False for an endgame duplicate (it does not count toward random-first).
        let fresh: Bool
    }

    /// Issues requests until no peer has a free slot for a missing chunk, the
    /// byte cap is reached, or the rate limiter says wait.
    /// `only`: consider just this peer (it announced a chunk; no one else's options changed).
    mutating func plan(now: UInt64, only: NodeID? = nil) -> [Directive] {
        rateWakeup = nil
        var out: [Directive] = []
        while !isComplete, bytesInFlight == 0 || bytesInFlight < settings.maxBytesInFlight,
              let pick = nextPick(only: only) {
            let size = UInt64(sizes[pick.chunk])
            if bytesInFlight > 0, bytesInFlight + size > settings.maxBytesInFlight { break }
            if bucket != nil, !bucket!.take(size, now: now) {
                rateWakeup = Self.adding(now, bucket!.delay(for: size, now: now))
                break
            }
            issue(pick.chunk, to: pick.peer, now: now)
            if pick.fresh { picks += 1 }
            out.append(.request(peer: pick.peer, chunk: pick.chunk))
        }
        return out
    }

    /// The best request to issue now, if any.
    private mutating func nextPick(only: NodeID?) -> Pick? {
        let free = only.map { id in table[id]?.hasFreeSlot == true ? [id] : [] } ?? ids.filter { table[$0]!.hasFreeSlot }
        guard !free.isEmpty else { return nil }
        var unrequested = false
        if picks < settings.randomFirst {
            var candidates: [Pick] = []
            for chunk in sizes.indices where !held[chunk] && requestedFrom[chunk].isEmpty {
                unrequested = true
                guard availability[chunk] > 0, let peer = bestPeer(for: chunk, among: free) else { continue }
                candidates.append(Pick(chunk: chunk, peer: peer, fresh: true))
            }
            if !candidates.isEmpty {
                return candidates[Int.random(in: candidates.indices, using: &rng)]
            }
        } else {
            // Rarest first. Scan per free peer (its have-set hoisted out of the table), so a
            // pick costs one pass over the chunk list per free peer; a peer with nothing left
            // to offer is marked and skipped until news about it arrives.
            var best: (chunk: Int, rank: (Int, UInt64))?
            var sawAvoided = false
            for id in free where !table[id]!.exhausted {
                let peer = table[id]!
                let has = peer.has
                var offers = false
                for chunk in sizes.indices where has[chunk] && !held[chunk] && requestedFrom[chunk].isEmpty {
                    if peer.avoid.contains(chunk) {
                        sawAvoided = true
                        continue
                    }
                    offers = true
                    let rank = (availability[chunk], tieKey[chunk])
                    if let best, !(rank < best.rank) { continue }
                    best = (chunk, rank)
                }
                if !offers { table[id]!.exhausted = true }
            }
            if let best, let peer = bestPeer(for: best.chunk, among: free) {
                return Pick(chunk: best.chunk, peer: peer, fresh: true)
            }
            // Only chunks with a strike against every free peer that has them: the slow path
            // asks such a peer when no one else has the chunk.
            if sawAvoided {
                var slow: (pick: Pick, rank: (Int, UInt64))?
                for chunk in sizes.indices where !held[chunk] && requestedFrom[chunk].isEmpty {
                    let rank = (availability[chunk], tieKey[chunk])
                    guard rank.0 > 0 else { continue }
                    if let slow, !(rank < slow.rank) { continue }
                    guard let peer = bestPeer(for: chunk, among: free) else { continue }
                    slow = (Pick(chunk: chunk, peer: peer, fresh: true), rank)
                }
                if let slow { return slow.pick }
            }
            unrequested = sizes.indices.contains { !held[$0] && requestedFrom[$0].isEmpty }
        }
        // Missing chunks wait for a slot at a peer that has them: not endgame yet.
        return unrequested ? nil : endgamePick(among: free)
    }

    /// Every missing chunk is in flight: duplicate the least-duplicated one to
    /// a free peer that has it.
    private func endgamePick(among free: [NodeID]) -> Pick? {
        let limit = max(1, settings.endgameDuplicates)
        var best: (pick: Pick, rank: (Int, UInt64))?
        for chunk in sizes.indices where !held[chunk] && requestedFrom[chunk].count < limit {
            let rank = (requestedFrom[chunk].count, tieKey[chunk])
            if let best, !(rank < best.rank) { continue }
            guard let peer = bestPeer(for: chunk, among: free) else { continue }
            best = (Pick(chunk: chunk, peer: peer, fresh: false), rank)
        }
        return best?.pick
    }

    /// The preferred free peer that has `chunk` and is not already asked for
    /// it. A peer that failed this chunk before is chosen only when no one
    /// else (free or not) has it.
    private func bestPeer(for chunk: Int, among free: [NodeID]) -> NodeID? {
        var best: (id: NodeID, peer: SwarmPeer)?
        var fallback: NodeID?
        for id in free {
            let peer = table[id]!
            guard peer.has[chunk], !requestedFrom[chunk].contains(id) else { continue }
            if peer.avoid.contains(chunk) {
                if let current = fallback, !peer.isPreferred(id, over: table[current]!, current) { continue }
                fallback = id
                continue
            }
            if let current = best, !peer.isPreferred(id, over: current.peer, current.id) { continue }
            best = (id, peer)
        }
        if let best { return best.id }
        guard let fallback else { return nil }
        let someoneElse = ids.contains { table[$0]!.has[chunk] && !table[$0]!.avoid.contains(chunk) }
        return someoneElse ? nil : fallback
    }
}
