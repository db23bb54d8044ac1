import BundlecastCore

/// Which notices from gossip go on to be checked: gossip delivers each one dozens of times,
/// and a repeat of one seen lately needs no signature check and no database.
///
/// Rotation statements are not filtered (``digest(of:)`` is nil): one refused as a gap may be
/// resent by a member that lags less, after the statement it lacked; they are rare and a
/// repeat of a held one costs no signature check. A notice refused now (a key this node does
/// not know yet, expired at its clock) is forgotten, so the same bytes sent again later, once
/// the reason may be gone, are checked again.
struct NoticeFilter: Sendable {
    /// Notices remembered (the oldest is forgotten first).
    static let capacity = 256
    private var recent: [Digest256] = []

    /// The digest the filter knows the bytes by; nil for a rotation statement (never filtered).
    static func digest(of body: [UInt8]) -> Digest256? {
        SignedRotation.looksLike(body) ? nil : Blake2b.digest256(body)
    }

    /// True the first time a digest is seen lately (it is remembered from now on).
    mutating func admit(_ digest: Digest256) -> Bool {
        guard !recent.contains(digest) else { return false }
        recent.append(digest)
        if recent.count > Self.capacity { recent.removeFirst() }
        return true
    }

    /// The notice was refused: checked again if it comes again.
    mutating func forget(_ digest: Digest256) {
        recent.removeAll { $0 == digest }
    }
}
