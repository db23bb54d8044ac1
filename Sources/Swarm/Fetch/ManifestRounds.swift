import Gossip

/// Whom a node asks for a manifest it lacks: a few candidates at a time, same zone first,
/// each round given `patience` to answer before the next few are asked. Once every candidate
/// has been asked it starts over; with no candidate yet (gossip of who holds the release can
/// be a hop or two behind the notice) it looks again after `firstLook`, then twice as long
/// each time up to `lookAgain`: a notice often arrives just before the gossip that says who
/// holds the release, so the first look again comes soon, and later ones back off.
///
/// Pure: the shuffle is seeded and time is the caller's.
public struct ManifestRounds: Sendable {
    /// Candidates asked at once.
    public let perRound: Int
    /// Nanoseconds a round waits for an answer.
    public let patience: UInt64
    /// Nanoseconds before looking again when there is no one to ask, at most (each look walks
    /// every member's metadata, so not at every wake-up).
    public let lookAgain: UInt64
    /// Nanoseconds before the first look again after a round with no one to ask.
    public let firstLook: UInt64
    private var nextLook: UInt64
    private var asked: Set<NodeID> = []
    private var rng: SplitMix64

    public init(seed: UInt64, perRound: Int = 3, patience: UInt64 = 5_000_000_000, lookAgain: UInt64 = 50_000_000,
                firstLook: UInt64 = 10_000_000) {
        rng = SplitMix64(seed: seed)
        self.perRound = perRound
        self.patience = patience
        self.lookAgain = lookAgain
        self.firstLook = min(firstLook, lookAgain)
        nextLook = self.firstLook
    }

    /// The next round: whom to ask now (the shell has left out banned peers and itself), and
    /// how long to wait before the next round.
    public mutating func next(_ candidates: [FetchPolicy.Candidate]) -> (ask: [NodeID], wait: UInt64) {
        var fresh = candidates.filter { !asked.contains($0.id) }
        fresh.shuffle(using: &rng)
        var round: [NodeID] = []
        for candidate in fresh.filter(\.sameZone) + fresh.filter({ !$0.sameZone }) where round.count < perRound && !round.contains(candidate.id) {
            round.append(candidate.id)
        }
        asked.formUnion(round)
        guard !round.isEmpty else {
            asked.removeAll()
            let wait = nextLook
            nextLook = min(lookAgain, nextLook * 2)
            return (round, wait)
        }
        nextLook = firstLook
        return (round, patience)
    }
}
