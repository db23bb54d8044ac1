/// What a `--trust APP=KEY.pub` given at start does to the key stored for the
/// app, on an origin or a node: the rule both apply.
///
/// The stored key always wins over a key the rotation chain retired (an old
/// `--trust` left in a unit file after a rotation). Any other mismatch stops
/// the start, unless the operator re-pins: the recovery path when the
/// publisher lost its current key and so cannot sign a rotation.
public enum TrustDecision: Equatable, Sendable {
    /// Nothing stored yet: `KEY` is pinned at epoch 0.
    case added
    /// `KEY` is the stored key.
    case unchanged
    /// `KEY` was retired by the rotation to epoch `at`: the stored key wins.
    case retired(at: UInt64, current: PinnedKey)
    /// `--repin`: `KEY` replaces `previous` at epoch 0, and the old chain is dropped.
    case repinned(previous: PinnedKey)
    /// Another key the chain does not know, without `--repin`: nothing changes and the start fails.
    case conflict(current: PinnedKey)

    /// - Parameters:
    ///   - stored: the key pinned now, if any.
    ///   - retiredAt: the epoch whose rotation retired `key`, if the chain did.
    public static func decide(stored: PinnedKey?, key: PublicKey, retiredAt: UInt64?, repin: Bool) -> TrustDecision {
        guard let stored else { return .added }
        if stored.key == key { return .unchanged }
        if let retiredAt { return .retired(at: retiredAt, current: stored) }
        return repin ? .repinned(previous: stored) : .conflict(current: stored)
    }
}
