import Gossip

/// The events. Each one first applies what happened, then expires requests
/// past their time-out, then re-plans, and returns every directive that led to.
extension SwarmPlanner {
    /// A peer connected. A banned peer stays out; a known one keeps its state
    /// and only takes the new zone.
    public mutating func addPeer(_ peer: NodeID, sameZone: Bool, now: UInt64) -> [Directive] {
        if !banned.contains(peer) {
            if table[peer] != nil {
                table[peer]!.sameZone = sameZone
            } else {
                var state = SwarmPeer(sameZone: sameZone, chunkCount: chunkCount,
                                      window: min(max(settings.initialWindow, windows.lowerBound), windows.upperBound))
                state.rtt = rtts[peer]
                state.minRTT = minRTTs[peer]
                state.tieKey = rng.next()
                table[peer] = state
                ids.insert(peer, at: ids.firstIndex { $0 > peer } ?? ids.endIndex)
            }
        }
        return step(now: now)
    }

    /// A peer went away: its in-flight chunks become requestable again. Its
    /// strikes are kept, so reconnecting does not clear them.
    public mutating func removePeer(_ peer: NodeID, now: UInt64) -> [Directive] {
        drop(peer)
        return step(now: now)
    }

    /// The peer has every chunk (a seeder).
    public mutating func peerHasAll(_ peer: NodeID, now: UInt64) -> [Directive] {
        setHave(peer, ChunkBitset(count: chunkCount, filled: true))
        return step(now: now)
    }

    /// The peer's have-set, replacing what we knew. Missing entries count as
    /// not had; entries beyond the chunk count are ignored.
    public mutating func peerHas(_ peer: NodeID, bitfield: [Bool], now: UInt64) -> [Directive] {
        var has = ChunkBitset(count: chunkCount)
        for chunk in 0..<min(chunkCount, bitfield.count) where bitfield[chunk] { has[chunk] = true }
        setHave(peer, has)
        return step(now: now)
    }

    /// The peer announced one more chunk.
    public mutating func peerHas(_ peer: NodeID, chunk: Int, now: UInt64) -> [Directive] {
        guard sizes.indices.contains(chunk), setHas(peer, chunk, true) else { return [] }
        // Peers announce every chunk they store, dozens per second from each: re-plan only
        // when this one can change a decision (a chunk we lack, at a peer with a free slot).
        // Time-outs are still handled by the next event or tick.
        guard !held[chunk], table[peer]!.hasFreeSlot else { return [] }
        return step(now: now, only: peer)
    }

    /// A measured round trip to the peer, used to prefer nearer peers. It may
    /// come before ``addPeer(_:sameZone:now:)`` (measured while connecting).
    public mutating func peerRTT(_ peer: NodeID, nanoseconds: UInt64) {
        guard !banned.contains(peer) else { return }
        // Kept for peers that come and go; a memory, not a list: past the bound it starts over.
        if rtts[peer] == nil, rtts.count >= Self.keptOut {
            rtts.removeAll(keepingCapacity: true)
            minRTTs.removeAll(keepingCapacity: true)
        }
        let smoothed = SwarmPeer.smoothedRTT(rtts[peer], nanoseconds)
        rtts[peer] = smoothed
        table[peer]?.rtt = smoothed
        let least = min(minRTTs[peer] ?? .max, nanoseconds)
        minRTTs[peer] = least
        table[peer]?.minRTT = least
    }

    /// A requested chunk's bytes arrived from the peer; ``received(chunk:from:valid:now:)``
    /// follows once they are checked. Until then endgame does not take the request for late:
    /// on a loaded node the check can wait, and moving a chunk that already arrived paid
    /// for it twice. Returns whether the chunk is in flight from that peer (asked of it and
    /// not yet answered, cancelled or timed out).
    @discardableResult
    public mutating func arriving(chunk: Int, from peer: NodeID) -> Bool {
        guard sizes.indices.contains(chunk), table[peer]?.inFlight[chunk] != nil else { return false }
        arriving.insert(chunk)
        return true
    }

    /// A chunk arrived from a peer and was checked against its digest.
    ///
    /// `valid == false` for a chunk in flight from that peer is a strike (a ban at
    /// `strikesToBan`) and the chunk is requested again, elsewhere if anyone else has it.
    /// Bad bytes nobody asked the peer for are dropped without a strike: identities cost
    /// nothing to make, and strikes unasked would let anyone fill the ban list (a row in
    /// `node.sqlite` each) with throwaway ones; a request cancelled on its way is the
    /// only honest source of those. A valid chunk is taken from anyone (it was verified),
    /// and cancels other peers' requests for it; one already held changes nothing.
    public mutating func received(chunk: Int, from peer: NodeID, valid: Bool, now: UInt64) -> [Directive] {
        var out: [Directive] = []
        if sizes.indices.contains(chunk) {
            if valid {
                accept(chunk, from: peer, now: now, into: &out)
            } else if table[peer]?.inFlight[chunk] != nil {
                strike(peer, chunk: chunk, into: &out)
            }
        }
        return out + step(now: now)
    }

    /// The chunk reached the store another way (seeded through the admin API, or fetched by
    /// another download): it is held now, and every request for it is cancelled.
    public mutating func storedElsewhere(chunk: Int, now: UInt64) -> [Directive] {
        var out: [Directive] = []
        if sizes.indices.contains(chunk) { markHeld(chunk, into: &out) }
        return out + step(now: now)
    }

    /// The peer does not have the chunk (or cannot serve it now): forget that
    /// it has it and ask elsewhere. Only a refusal of a request in flight re-plans: any peer
    /// may send `missing` for any chunk of the manifest, as often as it likes, and a step can
    /// walk every open chunk for every free peer (time-outs wait for the next event or tick).
    public mutating func refused(chunk: Int, by peer: NodeID, now: UInt64) -> [Directive] {
        guard sizes.indices.contains(chunk), table[peer] != nil else { return [] }
        let asked = removeRequest(chunk, from: peer) != nil
        if asked {
            stats.refusals += 1
            refreshOffers()
        }
        setHas(peer, chunk, false)
        return asked ? step(now: now) : []
    }

    /// Time passes: time-outs, rate-limit refills, re-planning. Call it at
    /// ``nextDeadline`` at the latest.
    public mutating func tick(now: UInt64) -> [Directive] {
        step(now: now)
    }

    // MARK: - Steps shared by the events

    private mutating func accept(_ chunk: Int, from peer: NodeID, now: UInt64, into out: inout [Directive]) {
        let size = UInt64(sizes[chunk])
        // Any good chunk from the peer, a late one too, shows it answers.
        table[peer]?.missesSinceDelivery = 0
        if let issuedAt = removeRequest(chunk, from: peer) {
            table[peer]!.recordDelivery(bytes: size, issuedAt: issuedAt, now: now,
                                        meanChunkSize: meanChunkSize, windows: windows)
            if now > issuedAt, now - issuedAt > stats.slowest?.nanoseconds ?? 0 { stats.slowest = (now - issuedAt, chunk, peer) }
            if now >= issuedAt {
                if requestTime == nil { requestTime = RequestTime(now - issuedAt) } else { requestTime!.add(now - issuedAt) }
            }
        }
        markHeld(chunk, into: &out)
    }

    private mutating func markHeld(_ chunk: Int, into out: inout [Directive]) {
        guard !held[chunk] else { return }
        let size = UInt64(sizes[chunk])
        held[chunk] = true
        wanted[chunk] = false
        setOpen(chunk, false)
        heldCount += 1
        heldBytes += size
        for other in requestedFrom[chunk].sorted() {
            removeRequest(chunk, from: other)
            out.append(.cancel(peer: other, chunk: chunk))
        }
        for id in ids where table[id]!.avoid.contains(chunk) {
            table[id]!.avoid.remove(chunk)
        }
    }

    private mutating func strike(_ peer: NodeID, chunk: Int, into out: inout [Directive]) {
        guard !banned.contains(peer) else { return }
        if table[peer] != nil {
            removeRequest(chunk, from: peer)
            table[peer]!.avoid.insert(chunk)
            refreshOffers()
        }
        // Ids cost nothing: a peer that stops short of a ban must not grow the table for good.
        if strikes[peer] == nil, strikes.count >= Self.keptOut { strikes.removeAll(keepingCapacity: true) }
        strikes[peer, default: 0] += 1
        if strikes[peer]! >= max(1, settings.strikesToBan) {
            drop(peer)
            banned.insert(peer)
            strikes[peer] = nil
            rtts[peer] = nil
            minRTTs[peer] = nil
            out.append(.ban(peer: peer))
        }
    }

    /// Expire, re-plan, and announce completion once.
    private mutating func step(now: UInt64, only: NodeID? = nil) -> [Directive] {
        expire(now: now)
        var out = plan(now: now, only: only)
        if isComplete, !completeEmitted {
            completeEmitted = true
            out.append(.complete)
        }
        return out
    }
}
