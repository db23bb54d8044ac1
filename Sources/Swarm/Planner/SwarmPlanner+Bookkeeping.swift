import Gossip

/// Keeping the per-chunk and per-peer records in step with each other.
extension SwarmPlanner {
    /// Records a request: the peer's in-flight set, the chunk's requesters, the byte count.
    mutating func issue(_ chunk: Int, to peer: NodeID, now: UInt64) {
        table[peer]!.inFlight[chunk] = now
        expiryCheckAt = min(expiryCheckAt, Self.adding(now, settings.requestTimeout))
        requestedFrom[chunk].append(peer)
        setOpen(chunk, false)
        bytesInFlight += UInt64(sizes[chunk])
    }

    /// Forgets a request, if there was one; returns when it was issued.
    @discardableResult
    mutating func removeRequest(_ chunk: Int, from peer: NodeID) -> UInt64? {
        guard let issuedAt = table[peer]?.inFlight.removeValue(forKey: chunk) else { return nil }
        requestedFrom[chunk].removeAll { $0 == peer }
        arriving.remove(chunk)
        if requestedFrom[chunk].isEmpty, !held[chunk] { setOpen(chunk, true) }
        bytesInFlight -= UInt64(sizes[chunk])
        return issuedAt
    }

    /// A chunk became requestable again: every peer may have something to offer.
    mutating func refreshOffers() {
        for id in ids where table[id]!.exhausted { table[id]!.exhausted = false }
    }

    /// Forgets a peer: what it has no longer counts, what it was asked for is requestable.
    mutating func drop(_ peer: NodeID) {
        guard let state = table[peer] else { return }
        if !state.inFlight.isEmpty { refreshOffers() }
        for chunk in state.inFlight.keys.sorted() {
            removeRequest(chunk, from: peer)
        }
        forget(state)
        table[peer] = nil
        ids.removeAll { $0 == peer }
    }

    /// Drops requests past their time-out so they can be asked elsewhere; each
    /// peer with time-outs has its window halved once for the pass.
    mutating func expire(now: UInt64) {
        // Every event calls this: skip the scan until the oldest request can have expired.
        guard now >= expiryCheckAt else { return }
        expiryCheckAt = .max
        var anyExpired = false
        defer { if anyExpired { refreshOffers() } }
        for id in ids {
            // A bench ends at its time (a tick is due then: ``nextDeadline``).
            if table[id]!.benchedUntil != 0 {
                if now >= table[id]!.benchedUntil {
                    table[id]!.benchedUntil = 0
                    anyExpired = true
                } else {
                    expiryCheckAt = min(expiryCheckAt, table[id]!.benchedUntil)
                }
            }
            for issued in table[id]!.inFlight.values where Self.adding(issued, settings.requestTimeout) > now {
                expiryCheckAt = min(expiryCheckAt, Self.adding(issued, settings.requestTimeout))
            }
            let expired = table[id]!.inFlight
                .filter { Self.adding($0.value, settings.requestTimeout) <= now }
                .keys.sorted()
            guard !expired.isEmpty else { continue }
            anyExpired = true
            for chunk in expired {
                removeRequest(chunk, from: id)
                table[id]!.avoid.insert(chunk)
            }
            table[id]!.recordTimeouts(expired.count, minWindow: windows.lowerBound, now: now, spacing: settings.requestTimeout)
            if table[id]!.missesSinceDelivery >= max(1, settings.timeoutsToBench), !isSoleSource(id) {
                table[id]!.benchedUntil = max(1, Self.adding(now, settings.benchFor))
                table[id]!.missesSinceDelivery = 0
                table[id]!.lastMissCounted = 0
                expiryCheckAt = min(expiryCheckAt, table[id]!.benchedUntil)
            }
        }
    }
}
