/// When gossip rounds are due: a regular one every `interval`, and one for a fresh
/// rumour as soon as `freshDelay` has passed since the last round (memberlist waits for
/// the next regular round, up to `interval` per hop). A regular round right after a fresh
/// one is put off, so the same rumours are not sent again a few milliseconds later.
/// Pure; shared by ``SWIMMembership`` (membership rumours) and ``RumourQueue`` (notices).
struct GossipRounds: Sendable {
    let interval: UInt64
    let freshDelay: UInt64
    private var nextAt: UInt64
    private var lastAt: UInt64 = 0
    private var fresh = false

    init(interval: UInt64, freshDelay: UInt64, firstAt: UInt64) {
        self.interval = interval
        self.freshDelay = freshDelay
        nextAt = firstAt
    }

    /// A rumour arrived that has not gone out yet.
    mutating func markFresh() { fresh = true }

    /// Forgets a fresh rumour that was dropped before any round.
    mutating func clearFresh() { fresh = false }

    /// When the next round is due.
    var deadline: UInt64 { fresh ? min(nextAt, lastAt + freshDelay) : nextAt }

    /// Whether a round is due at `now`; if so it is taken (the caller sends it).
    mutating func take(now: UInt64) -> Bool {
        guard now >= deadline else { return false }
        nextAt = now >= nextAt ? now + interval : max(nextAt, now + freshDelay)
        lastAt = now
        fresh = false
        return true
    }
}
