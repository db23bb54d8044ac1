/// A token bucket for byte rates: `bytesPerSecond` tokens flow in, at most
/// `burst` are kept, and a take spends as many tokens as it moves bytes.
///
/// Time is passed in (monotonic nanoseconds), never read, so the same bucket
/// runs in the node and in the simulator. The arithmetic is exact: the part of
/// a byte earned so far is carried over in `carry` (billionths of a byte), so
/// refilling in many small steps gives exactly what one large step gives.
///
/// A take larger than `burst` could never succeed if it had to fit the bucket;
/// instead it succeeds when the bucket is full and leaves it in debt, so the
/// long-run rate still holds.
public struct TokenBucket: Sendable {
    private static let nanosPerSecond: UInt128 = 1_000_000_000

    /// Bytes per second flowing in.
    public let bytesPerSecond: UInt64
    /// The most tokens the bucket holds.
    public let burst: UInt64

    /// Whole tokens at `last`; negative while in debt.
    private var tokens: Int64
    /// Billionths of a token earned at `last` beyond `tokens` (always < 1e9).
    private var carry: UInt64
    private var last: UInt64

    /// The bucket starts full.
    /// - Parameters:
    ///   - burst: should be at least the largest single take (larger takes go into debt).
    ///   - now: monotonic nanoseconds.
    public init(bytesPerSecond: UInt64, burst: UInt64, now: UInt64) {
        self.bytesPerSecond = bytesPerSecond
        // Clamped so that token arithmetic in Int64 cannot overflow.
        self.burst = min(burst, UInt64(Int64.max / 4))
        tokens = Int64(self.burst)
        carry = 0
        last = now
    }

    /// Takes `bytes` tokens if there are enough (or, for a take larger than
    /// the burst, if the bucket is full); returns whether it did.
    public mutating func take(_ bytes: UInt64, now: UInt64) -> Bool {
        let level = level(at: now)
        tokens = level.tokens
        carry = level.carry
        last = max(last, now)
        guard Self.allows(bytes, tokens: tokens, burst: burst) else { return false }
        tokens -= Int64(min(bytes, UInt64(Int64.max / 4)))
        return true
    }

    /// Nanoseconds from `now` until `take(bytes)` would succeed: 0 if it would
    /// now, `UInt64.max` if it never will (a rate of 0).
    public func delay(for bytes: UInt64, now: UInt64) -> UInt64 {
        let level = level(at: now)
        if Self.allows(bytes, tokens: level.tokens, burst: burst) { return 0 }
        guard bytesPerSecond > 0 else { return .max }
        // A take beyond the burst waits for a full bucket, not for `bytes`.
        let target = Int64(min(bytes, burst))
        let needed = UInt128(target - level.tokens) * Self.nanosPerSecond - UInt128(level.carry)
        let rate = UInt128(bytesPerSecond)
        let wait = (needed + rate - 1) / rate
        return wait > UInt128(UInt64.max) ? .max : UInt64(wait)
    }

    private static func allows(_ bytes: UInt64, tokens: Int64, burst: UInt64) -> Bool {
        if bytes == 0 { return true }
        if bytes > burst { return tokens >= Int64(burst) }
        return tokens >= Int64(bytes)
    }

    /// Tokens and carry at `now` (earlier times count as `last`: the clock is monotonic).
    private func level(at now: UInt64) -> (tokens: Int64, carry: UInt64) {
        let full = Int64(burst)
        guard tokens < full, now > last else { return (tokens, carry) }
        let deficit = UInt128(full - tokens) * Self.nanosPerSecond
        let earned = UInt128(now - last) * UInt128(bytesPerSecond) + UInt128(carry)
        if earned >= deficit { return (full, 0) }
        // earned < deficit, so the whole tokens fit in Int64.
        let whole = Int64(earned / Self.nanosPerSecond)
        return (tokens + whole, UInt64(earned % Self.nanosPerSecond))
    }
}
