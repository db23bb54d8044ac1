/// What a node can say about the freshness of what it holds for an app, from the newest valid
/// origin timestamp it has (see ``SignedTimestamp``).
public enum Freshness: Equatable, Sendable {
    /// A timestamp younger than the threshold names no sequence above the one held.
    case confirmed(sequence: UInt64, age: UInt64)
    /// The origin says a newer notice exists than the one held: the node is behind (still
    /// catching up, or kept on old notices by the peers it hears from).
    case behind(originSequence: UInt64, held: UInt64, age: UInt64)
    /// No timestamp younger than the threshold (`age` of the newest, if any): the node cannot
    /// tell whether it is being kept on old notices.
    case stale(age: UInt64?)

    /// - Parameters:
    ///   - held: the sequence of the newest notice the node accepted (0: none).
    ///   - timestamp: the newest valid timestamp for the app and the node's channel.
    ///   - threshold: how old a timestamp may be and still confirm anything.
    public static func evaluate(held: UInt64, timestamp: SignedTimestamp?, now: UInt64, threshold: UInt64) -> Freshness {
        guard let t = timestamp else { return .stale(age: nil) }
        let age = now > t.created ? now - t.created : 0
        if t.sequence > held { return .behind(originSequence: t.sequence, held: held, age: age) }
        guard age <= threshold, now < t.expires else { return .stale(age: age) }
        return .confirmed(sequence: t.sequence, age: age)
    }
}
