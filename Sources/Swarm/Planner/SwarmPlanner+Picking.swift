import Gossip

/// Choosing the next request: random first, then rarest first, then endgame.
extension SwarmPlanner {
    /// A request the planner would issue next.
    struct Pick {
        let chunk: Int
        let peer: NodeID
        /// False for an endgame duplicate (it does not count toward random-first).
        let fresh: Bool
        /// An endgame pick that moves the request (the late peer gets a cancel) rather than
        /// racing it.
        var moves = false
    }

    /// Issues requests until no peer has a free slot for a missing chunk, the
    /// byte cap is reached, or the rate limiter says wait.
    /// `only`: consider just this peer (it announced a chunk; no one else's options changed).
    mutating func plan(now: UInt64, only: NodeID? = nil) -> [Directive] {
        rateWakeup = nil
        // A full plan finds every endgame wake-up again; one peer's plan only adds its own.
        if only == nil { endgameWakeup = nil }
        var out: [Directive] = []
        // In endgame with moves, a full byte cap does not stop a pick: a move adds nothing in flight.
        while !isComplete, bytesInFlight == 0 || bytesInFlight < settings.maxBytesInFlight || (open.isEmpty && settings.endgameMoves),
              let pick = nextPick(only: only, now: now) {
            let size = UInt64(sizes[pick.chunk])
            let moves = !pick.fresh && pick.moves && !requestedFrom[pick.chunk].isEmpty
            if !moves, bytesInFlight > 0, bytesInFlight + size > settings.maxBytesInFlight { break }
            if bucket != nil, !bucket!.take(size, now: now) {
                rateWakeup = Self.adding(now, bucket!.delay(for: size, now: now))
                break
            }
            if moves, let late = requestedFrom[pick.chunk].first {
                // Moved, not raced: the late peer is told to drop it (a request still waiting
                // in its queue costs nothing) and asked for it again only if no one else has it.
                removeRequest(pick.chunk, from: late)
                table[late]!.avoid.insert(pick.chunk)
                out.append(.cancel(peer: late, chunk: pick.chunk))
            }
            issue(pick.chunk, to: pick.peer, now: now)
            if pick.fresh {
                picks += 1
            } else {
                // A move adds bytes only if the late peer was already sending it: counted as a
                // duplicate all the same, so the budget bounds what a download moves either way.
                duplicateBytes += size
                stats.endgame += 1
            }
            out.append(.request(peer: pick.peer, chunk: pick.chunk))
        }
        return out
    }

    /// A peer with a free slot, copied out of the table once per pick.
    struct FreePeer {
        let id: NodeID
        let peer: SwarmPeer
    }

    /// The best request to issue now, if any. Every scan goes a word (64
    /// chunks) at a time through `open` (missing, not requested) and a
    /// peer's have-set, so a pick costs little however many chunks are held.
    private mutating func nextPick(only: NodeID?, now: UInt64) -> Pick? {
        var free: [FreePeer] = []
        if let only {
            if let peer = table[only], peer.hasFreeSlot, now >= peer.benchedUntil { free.append(FreePeer(id: only, peer: peer)) }
        } else {
            for id in ids {
                let peer = table[id]!
                if peer.hasFreeSlot, now >= peer.benchedUntil { free.append(FreePeer(id: id, peer: peer)) }
            }
        }
        guard !free.isEmpty else { return nil }
        if picks < settings.randomFirst {
            var candidates: [Pick] = []
            open.forEach { chunk in
                guard availability[chunk] > 0, let peer = bestPeer(for: chunk, among: free) else { return }
                candidates.append(Pick(chunk: chunk, peer: peer, fresh: true))
            }
            if !candidates.isEmpty {
                return candidates[Int.random(in: candidates.indices, using: &rng)]
            }
        } else {
            // Rarest first: each free peer's rarest open chunk, read in rank order
            // (``RarityIndex``), a later peer only before the best so far; a peer with
            // nothing left to offer is marked and skipped until news about it arrives.
            var best: (chunk: Int, rank: RarityIndex.Rank)?
            var sawAvoided = false
            for candidate in free where !candidate.peer.exhausted {
                let scan = rarity.first(in: candidate.peer.hasRanked, avoiding: candidate.peer.avoid, before: best?.rank)
                if let found = scan.found { best = found }
                // Complete whenever no pick is found, the only case where the slow path reads it.
                sawAvoided = sawAvoided || scan.avoided
                // Exhausted only with nothing open at all: a peer whose open chunks all failed here
                // before may still be the only one that has them, and the slow path below asks it
                // then. Marked exhausted, it was skipped, the slow path never ran again, and a
                // download whose only holder had timed out stopped with chunks missing.
                if scan.offersNothing { table[candidate.id]!.exhausted = true }
            }
            if let best, let peer = bestPeer(for: best.chunk, among: free) {
                return Pick(chunk: best.chunk, peer: peer, fresh: true)
            }
            // Only chunks with a strike against every free peer that has them: the slow path
            // asks such a peer when no one else has the chunk.
            if sawAvoided {
                var slow: (pick: Pick, rank: (Int, UInt64))?
                open.forEach { chunk in
                    let rank = (availability[chunk], tieKey[chunk])
                    guard rank.0 > 0 else { return }
                    if let slow, !(rank < slow.rank) { return }
                    guard let peer = bestPeer(for: chunk, among: free) else { return }
                    slow = (Pick(chunk: chunk, peer: peer, fresh: true), rank)
                }
                if let slow { return slow.pick }
            }
        }
        // Missing chunks wait for a slot at a peer that has them: not endgame yet.
        return open.isEmpty ? endgamePick(among: free, now: now) : nil
    }

    /// Every missing chunk is in flight: ask a free peer that has it for the least-duplicated
    /// one whose first request is late (``lateAfter``), and note when the next younger one
    /// comes of age. Late, it is raced (the first copy to arrive cancels the other); once
    /// `endgameAfter` old, it is moved (with `endgameMoves`; the late peer gets a cancel).
    /// `endgameDuplicates` of 1 turns endgame off.
    private mutating func endgamePick(among free: [FreePeer], now: UInt64) -> Pick? {
        let limit = max(1, settings.endgameDuplicates)
        let lateAfter = lateAfter
        var best: (pick: Pick, rank: (Int, UInt64))?
        var wakeup: UInt64?
        wanted.forEach { chunk in
            guard requestedFrom[chunk].count < limit, duplicateBytes + UInt64(sizes[chunk]) <= duplicateBudget,
                  !arriving.contains(chunk) else { return }
            var moves = false
            if let first = requestedFrom[chunk].first, let issued = table[first]?.inFlight[chunk] {
                // A request made in this very pass is not late, whatever `lateAfter` says: a
                // chunk moves at most once per pass.
                if settings.endgameMoves, issued == now { return }
                let due = Self.adding(issued, lateAfter)
                if lateAfter > 0, due > now {
                    // Worth waking for only if a free peer could take the duplicate.
                    if due < (wakeup ?? .max), bestPeer(for: chunk, among: free) != nil { wakeup = due }
                    return
                }
                moves = settings.endgameMoves && now >= Self.adding(issued, settings.endgameAfter)
            }
            let rank = (requestedFrom[chunk].count, tieKey[chunk])
            if let best, !(rank < best.rank) { return }
            guard let peer = bestPeer(for: chunk, among: free) else { return }
            best = (Pick(chunk: chunk, peer: peer, fresh: false, moves: moves), rank)
        }
        if let wakeup { endgameWakeup = min(endgameWakeup ?? .max, wakeup) }
        return best?.pick
    }

    /// How old an endgame request is when it is late: the download's smoothed answer time
    /// plus four deviations (``RequestTime``), at most `endgameAfter`, which is all there is
    /// until a request was answered. A request that late is waiting in a queue far longer
    /// than this download's others; racing it costs nothing when the racer's copy comes
    /// first (the cancel takes it out of the late peer's queue), and at most a copy, within
    /// `endgameBudget`, when the late peer was already sending it.
    var lateAfter: UInt64 { min(settings.endgameAfter, requestTime?.late ?? .max) }

    /// The preferred free peer that has `chunk` and is not already asked for
    /// it. A peer that failed this chunk before is chosen only when no one
    /// else (free or not) has it.
    private func bestPeer(for chunk: Int, among free: [FreePeer]) -> NodeID? {
        var best: FreePeer?
        var fallback: FreePeer?
        let spot = Int(rarity.position[chunk])
        for candidate in free {
            let peer = candidate.peer
            guard peer.hasRanked[spot], !requestedFrom[chunk].contains(candidate.id) else { continue }
            if !peer.avoid.isEmpty, peer.avoid.contains(chunk) {
                if let current = fallback, !peer.isPreferred(candidate.id, over: current.peer, current.id) { continue }
                fallback = candidate
                continue
            }
            if let current = best, !peer.isPreferred(candidate.id, over: current.peer, current.id) { continue }
            best = candidate
        }
        if let best { return best.id }
        guard let fallback else { return nil }
        let someoneElse = ids.contains { table[$0]!.hasRanked[spot] && !table[$0]!.avoid.contains(chunk) }
        return someoneElse ? nil : fallback.id
    }
}
