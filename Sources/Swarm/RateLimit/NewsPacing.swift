/// When a node's `has` news to one peer goes out.
///
/// The first news after a quiet spell goes at once: in a small release a chunk's second hop
/// waits on it (a peer the seed refused asks the node that got the chunk only once it hears
/// of it). While chunks keep arriving, news goes out together at most once per `delay`: one
/// write and one wake-up per peer for many chunks, the batching a full-size download needs.
public struct NewsPacing: Sendable {
    /// Least nanoseconds between two sends.
    public let delay: UInt64
    private var lastSent: UInt64?

    public init(delay: UInt64) {
        self.delay = delay
    }

    /// Nanoseconds from `now` until news queued now (to an empty queue) should go out.
    public func wait(now: UInt64) -> UInt64 {
        guard let lastSent else { return 0 }
        let (due, overflow) = lastSent.addingReportingOverflow(delay)
        guard !overflow, now < due else { return 0 }
        // Never more than one delay, even with a clock that went back.
        return min(due - now, delay)
    }

    /// The queued news went out at `now`.
    public mutating func sent(now: UInt64) {
        lastSent = now
    }
}
