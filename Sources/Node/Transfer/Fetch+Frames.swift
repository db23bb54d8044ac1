import BundlecastCore
import Gossip
import NIOCore
import Swarm
import TransferWire

/// The download's events: frames from peers, their news, and the planner's directives carried out.
extension Fetch {
    /// A frame from a peer that answers one of our requests; false if it is not ours.
    func handle(_ frame: TransferFrame, from peer: NodeID) -> Bool {
        switch frame {
        case .have(let d, let count, let bits) where d == digest:
            // The count is the peer's word: checked against the manifest before any bit is read.
            guard Int(count) == distinct.count else {
                node.count { $0.badHaveSets? += 1 }
                drop(peer, reason: "have-set of \(count) chunks for a manifest of \(distinct.count)")
                return true
            }
            let presence = TransferFrame.presence(bits, count: distinct.count)
            let now = Self.now()
            let complete = presence.allSatisfy { $0 }
            apply { s in
                // The answer to a have-query times the round trip, also to peers that dialled us.
                if let rtt = s.policy.answered(peer, complete: complete, now: now) { s.planner.peerRTT(peer, nanoseconds: rtt) }
                return complete ? s.planner.peerHasAll(peer, now: now) : s.planner.peerHas(peer, bitfield: presence, now: now)
            }
            return true
        case .missing(let d) where d == digest:
            // The peer holds nothing of it (yet); a later refresh asks again.
            return true
        case .haveQuery(let d) where d == digest:
            // A peer fetching the same manifest connected to us: it is a source too.
            let now = Self.now()
            var fresh = false
            apply { s in
                fresh = s.policy.peerAsked(peer, now: now)
                return fresh ? s.planner.addPeer(peer, sameZone: false, now: now) : []
            }
            if fresh { node.send(.haveQuery(digest), to: peer) }
            return true
        case .missing(let d):
            guard let i = index[d] else { return false }
            apply { $0.planner.refused(chunk: i, by: peer, now: Self.now()) }
            return true
        case .chunk(let d, let bytes):
            guard let i = index[d] else { return false }
            let asked = state.withLock { $0.planner.arriving(chunk: i, from: peer) }
            // Not asked of this peer (or asked and since cancelled) and already held: dropped
            // unchecked, so a replay costs a lookup, not a hash, a write and news to every peer
            // (this download learns it is held, as when another download stored it).
            if !asked, node.chunks.contains(d) {
                apply { $0.planner.storedElsewhere(chunk: i, now: Self.now()) }
                return true
            }
            // Checked and stored on the event loop that read it, with no hop to another
            // thread and back for the next request (docs/benchmarks.md, *CPU per chunk*); the
            // loop waits while a mirror's chunk is being stored, which the queue orders with
            // this one and with the download's final drain.
            writes.sync { store(i, d, bytes, from: peer) }
            return true
        default:
            return false
        }
    }

    /// Checks a chunk against its digest and stores it, on the `writes` queue.
    ///
    /// Bytes that hash to the digest are the chunk, whatever the manifest says of their
    /// length: at another length than the manifest's, the signed manifest is at fault, not the
    /// peer. No strike (three would ban an honest peer node-wide for a day) and nothing stored
    /// or written; the download fails, since no peer can send what the manifest describes.
    private func store(_ i: Int, _ d: Digest256, _ bytes: [UInt8], from peer: NodeID) {
        let valid = Blake2b.digest256(bytes) == d
        if valid, bytes.count != Int(distinct[i].size) {
            let error = InstallError.wrongChunkSize(d, listed: distinct[i].size, actual: bytes.count)
            logger.error("download of manifest \(digest.short) stopped: \(error)")
            finish(.failure(error))
            return
        }
        if valid {
            do {
                try node.chunks.putVerified(d, bytes)
                node.announce(chunk: d, of: digest)
                stored?(d, bytes)
            } catch {
                logger.error("cannot store chunk \(d.short): \(error)")
                finish(.failure(error))
                return
            }
        }
        node.count {
            if valid {
                $0.bytesIn += UInt64(bytes.count)
                $0.chunksIn += 1
            } else {
                $0.badChunks += 1
            }
        }
        if !valid { logger.warning("chunk \(d.short) from peer \(peer.short) does not match its digest") }
        apply { $0.planner.received(chunk: i, from: peer, valid: valid, now: Self.now()) }
    }

    /// A peer now holds these chunks (its `has` frames of one read): one planner event.
    func peerHas(_ chunks: [Digest256], from peer: NodeID) {
        let held = chunks.compactMap { index[$0] }
        guard !held.isEmpty else { return }
        let now = Self.now()
        apply { s in held.flatMap { s.planner.peerHas(peer, chunk: $0, now: now) } }
    }

    /// A peer's connection closed.
    func peerGone(_ peer: NodeID) {
        let now = Self.now()
        apply { s in s.policy.remove(peer) ? s.planner.removePeer(peer, now: now) : [] }
    }

    private func drop(_ peer: NodeID, reason: String) {
        logger.info("dropping peer \(peer.short) from download \(digest.short): \(reason)")
        let now = Self.now()
        apply { s in
            s.policy.remove(peer)
            return s.planner.removePeer(peer, now: now)
        }
    }

    /// What one event left to do, read under the same lock.
    /// (A struct, not a tuple: a generic over a tuple looks its metadata up on every call.)
    private struct Outcome {
        let directives: [SwarmPlanner.Directive]
        /// Held bytes, when they changed since `progress` was last called.
        let held: UInt64?
        let total: UInt64
    }

    /// Runs one event on the state (one lock) and performs its directives outside the lock.
    func apply(_ event: (inout State) -> [SwarmPlanner.Directive]) {
        let outcome = state.withLock { s in
            let directives = event(&s)
            let held = s.planner.heldBytes
            // Progress moves only when a chunk arrives: most events (a peer's `has`) leave it alone.
            let changed = s.reported != held
            if s.timeline.firstChunk == nil {
                s.timeline.note(peers: !s.planner.peers.isEmpty, requested: directives.contains { if case .request = $0 { true } else { false } },
                                held: changed && s.reported != .max, now: Self.now())
            }
            s.reported = held
            return Outcome(directives: directives, held: changed ? held : nil, total: s.planner.totalBytes)
        }
        perform(outcome.directives)
        if let held = outcome.held { progress(held, outcome.total) }
    }

    /// The shell side of the planner's decisions.
    private func perform(_ directives: [SwarmPlanner.Directive]) {
        guard !directives.isEmpty else { return }
        // Requests and cancels go out together per peer, in the planner's order.
        struct Outgoing {
            let peer: NodeID
            var frames: [TransferFrame]
        }
        var outgoing: [Outgoing] = []
        func queue(_ frame: TransferFrame, to peer: NodeID) {
            if let i = outgoing.firstIndex(where: { $0.peer == peer }) {
                outgoing[i].frames.append(frame)
            } else {
                outgoing.append(Outgoing(peer: peer, frames: [frame]))
            }
        }
        for directive in directives {
            switch directive {
            case .request(let peer, let chunk): queue(.request(distinct[chunk].digest), to: peer)
            case .cancel(let peer, let chunk): queue(.cancel(distinct[chunk].digest), to: peer)
            case .ban(let peer): node.ban(peer, reason: "sent chunks that do not match their digests")
            case .complete: finish(.success(()))
            }
        }
        for batch in outgoing { node.send(batch.frames, to: batch.peer) }
    }
}
