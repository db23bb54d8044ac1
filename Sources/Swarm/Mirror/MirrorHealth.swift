/// Which of an app's mirrors one download may ask now, in the operator's order.
///
/// A mirror that served bytes that are not the release (a digest that does not match, or
/// an answer that breaks the range rules) is *refused*: not asked again by this download,
/// since whatever it holds is not this release. One that did not answer (time-out, a 5xx,
/// a 404 while it is still being filled) waits `mirrorRetry`, doubled with each failure in
/// a row up to `mirrorRetryMax`, and the next mirror is asked meanwhile.
///
/// Pure: time is passed in (monotonic nanoseconds).
public struct MirrorHealth: Sendable, Equatable {
    /// How one request to a mirror ended.
    public enum Outcome: Sendable, Equatable {
        /// Bytes that matched their digest.
        case served
        /// No usable answer this time (no connection, time-out, 5xx, 404): try again later.
        case failed
        /// Bytes that are not the release, or an answer that breaks the range rules.
        case refused
    }

    struct State: Sendable, Equatable {
        var refused = false
        /// Failures in a row since the last bytes it served.
        var failures = 0
        /// Not asked before this.
        var retryAt: UInt64 = 0
    }

    private(set) var mirrors: [State]
    let retry: UInt64
    let retryMax: UInt64

    /// - Parameters:
    ///   - count: the app's mirrors, in the operator's order.
    ///   - refused: mirrors refused for this release before (by an earlier download of it).
    public init(count: Int, refused: [Bool] = [], retry: UInt64, retryMax: UInt64) {
        mirrors = (0..<max(0, count)).map { State(refused: $0 < refused.count && refused[$0]) }
        self.retry = retry
        self.retryMax = max(retry, retryMax)
    }

    public var count: Int { mirrors.count }

    /// The first mirror, in the operator's order, not refused and not waiting after a failure.
    public func usable(now: UInt64) -> Int? {
        mirrors.indices.first { !mirrors[$0].refused && mirrors[$0].retryAt <= now }
    }

    /// Every mirror is refused: none can help this download any more.
    public var allRefused: Bool { mirrors.allSatisfy(\.refused) }

    public func isRefused(_ mirror: Int) -> Bool { mirrors.indices.contains(mirror) && mirrors[mirror].refused }

    /// When the earliest mirror waiting after a failure may be asked again, if one waits.
    public func nextRetry(after now: UInt64) -> UInt64? {
        mirrors.filter { !$0.refused && $0.retryAt > now }.map(\.retryAt).min()
    }

    /// Records how a request ended; true when it made the mirror refused (the first time).
    @discardableResult
    public mutating func record(_ outcome: Outcome, mirror: Int, now: UInt64) -> Bool {
        guard mirrors.indices.contains(mirror) else { return false }
        switch outcome {
        case .served:
            mirrors[mirror].failures = 0
            return false
        case .failed:
            // A request issued before an earlier failure may fail after it: each counts once.
            guard mirrors[mirror].retryAt <= now else { return false }
            mirrors[mirror].failures = min(mirrors[mirror].failures + 1, 32)
            mirrors[mirror].retryAt = SwarmPlanner.adding(now, backoff(failures: mirrors[mirror].failures))
            return false
        case .refused:
            defer { mirrors[mirror].refused = true }
            return !mirrors[mirror].refused
        }
    }

    /// `retry` doubled for each failure after the first, at most `retryMax`; no overflow.
    func backoff(failures: Int) -> UInt64 {
        var wait = retry
        for _ in 1..<max(1, failures) where wait < retryMax {
            wait = wait > retryMax / 2 ? retryMax : wait * 2
        }
        return min(wait, retryMax)
    }
}
