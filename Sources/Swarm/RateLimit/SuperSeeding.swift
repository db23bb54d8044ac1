import Gossip

/// Which requester each recently queued upload went to, and whether a seed refuses a chunk
/// (BitTorrent's super-seeding).
///
/// A seed with an upload cap (`refuses`) refuses a chunk it queued for another peer less than
/// `resendAfter` ago while its link is busy, so its scarce upload goes to
/// chunks the fleet does not have yet; the
/// requester fetches that chunk from whoever got it (who announces it). After `resendAfter`
/// the chunk is served again, so a peer that got it and vanished delays the others by that
/// much at most. The window runs from the request, as the simulator has it too. A node that
/// is itself downloading does not refuse (its upload is what spreads the seed's chunks), but
/// keeps the same books to count resends.
///
/// Pure, like ``UploadQueue``: time is passed in, and memory is bounded (the oldest records
/// go first once `capacity` are held).
public struct SuperSeeding<Chunk: Hashable & Sendable>: Sendable {
    /// What became of a request.
    public enum Admission: Sendable, Equatable {
        /// Queued, never queued before (as far as the books remember).
        case first
        /// Queued again: last queued for `peer`.
        case resent(lastTo: NodeID)
        /// Refused: queued for another peer less than `resendAfter` ago.
        case refused
    }

    public let refuses: Bool
    public let resendAfter: UInt64
    public let capacity: Int
    @usableFromInline var byChunk: [Chunk: (peer: NodeID, at: UInt64)] = [:]
    /// Chunks in the order they were first recorded (the oldest are forgotten first).
    @usableFromInline var order: [Chunk] = []

    public init(refuses: Bool, resendAfter: UInt64 = 5_000_000_000, capacity: Int = 65_536) {
        self.refuses = refuses
        self.resendAfter = resendAfter
        self.capacity = max(4, capacity)
    }

    /// Records `chunk` as queued for `peer` now, unless it is refused. `linkIdle`: nothing
    /// waits for the link or is being sent, so serving this one holds no fresh chunk back: it is
    /// served even if it is a resend (at the end of a release every chunk went out less than
    /// `resendAfter` ago, and a seed that refused them all sat idle while its last chunks
    /// spread hop by hop).
    ///
    /// A resend to the same peer (its retry) keeps the time of the first: a peer that asks for
    /// a chunk again every few seconds must not hold it from everyone else for good.
    @inlinable public mutating func admit(_ chunk: Chunk, to peer: NodeID, linkIdle: Bool = false, now: UInt64) -> Admission {
        let last = byChunk[chunk]
        if refuses, !linkIdle, let last, last.peer != peer, now < last.at + resendAfter { return .refused }
        let since = last.flatMap { $0.peer == peer ? $0.at : nil } ?? now
        if byChunk.updateValue((peer, since), forKey: chunk) == nil { order.append(chunk) }
        if order.count > capacity {
            let dropped = capacity / 4
            for old in order.prefix(dropped) { byChunk[old] = nil }
            order.removeFirst(dropped)
        }
        return last.map { .resent(lastTo: $0.peer) } ?? .first
    }

    /// A request for `chunk` from `peer` left the queue unsent (cancelled, or its connection
    /// closed): a chunk never sent holds no one off.
    @inlinable public mutating func unsent(_ chunk: Chunk, to peer: NodeID) {
        if byChunk[chunk]?.peer == peer { byChunk[chunk] = nil }
    }

    /// Chunks on the books.
    @inlinable public var count: Int { byChunk.count }
}
