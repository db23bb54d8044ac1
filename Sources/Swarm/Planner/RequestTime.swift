/// How long a download's requests take to be answered, smoothed as TCP smooths round trips
/// (RFC 6298: gains 1/8 and 1/4), and when a request has waited so much longer that it is
/// late: the smoothed time plus four deviations, TCP's retransmission time-out.
///
/// Endgame moves a late request to another peer. A fixed age (``SwarmSettings/endgameAfter``)
/// is right for no fleet: where requests take 80 ms, a request stuck 400 ms behind a busy
/// peer's queue is long late; on a loaded machine 400 ms may be the norm.
struct RequestTime: Sendable, Equatable {
    private(set) var smoothed: UInt64
    private(set) var deviation: UInt64

    /// The first sample.
    init(_ sample: UInt64) {
        smoothed = sample
        deviation = sample / 2
    }

    mutating func add(_ sample: UInt64) {
        let error = sample > smoothed ? sample - smoothed : smoothed - sample
        deviation = deviation - deviation / 4 + error / 4
        smoothed = smoothed - smoothed / 8 + sample / 8
    }

    /// How old a request is when it is late, and never younger than ``minimumLate``.
    var late: UInt64 { max(Self.minimumLate, SwarmPlanner.adding(smoothed, 4 * min(deviation, UInt64.max / 8))) }

    /// Younger than this a request is never late: its chunk may be on the wire, and a move
    /// would pay for it twice to save less than that.
    static let minimumLate: UInt64 = 10_000_000
}
