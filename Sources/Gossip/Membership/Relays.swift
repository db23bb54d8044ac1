/// Which members send to a lagging member: of the members that hold what it lacks, the
/// `relays` ranked first for it by a hash of the two ids. Every member computes the same
/// ranking from the ids alone, so a laggard gets a few senders, not one from every member,
/// with no coordination.
public enum Relays {
    /// Whether `me` ranks among the first `relays` of `others` and itself for `laggard`. The
    /// scan stops at the `relays`-th member ranked before `me` and costs a multiply-and-shift
    /// per member, so even a table of made-up members costs microseconds per laggard.
    public static func isRelay(_ me: NodeID, for laggard: NodeID, among others: [NodeID], relays: Int) -> Bool {
        let mine = rank(me, laggard)
        return others.lazy.filter { $0 != me && rank($0, laggard) < mine }.prefix(relays).count < relays
    }

    /// A well-mixed 64-bit value of two ids (SplitMix64's finaliser).
    static func rank(_ a: NodeID, _ b: NodeID) -> UInt64 {
        var z = a.high &+ b.high &* 0x9E37_79B9_7F4A_7C15 ^ a.low &+ (b.low << 1 | 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
