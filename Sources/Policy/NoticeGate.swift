import BundlecastCore

/// The one rule by which a notice is taken in: by a node (from a peer, the origin or the admin
/// API), by the origin (a publisher's post) and by the simulator's nodes. A notice must parse,
/// carry the key id of its app's key as pinned now (after any rotation), verify, name the app it
/// was posted for, have a sequence the stores can hold, not be expired, and be newer than what is
/// held. Keys and time are passed in, so the three cannot drift apart.
///
/// Whether a notice is newer is decided by ``isNewer(_:than:)`` inside the transaction that
/// records it, so that two notices arriving together cannot lower the accepted sequence.
public struct NoticeGate: Sendable {
    /// The publisher key pinned per app, now.
    private let key: @Sendable (String) -> PublicKey?
    /// The epoch whose rotation retired a key of an app, if one did.
    private let retirement: @Sendable (String, KeyID) -> UInt64?

    /// Fixed keys: `retired` lists, per app, keys a rotation retired and the epoch it reached.
    public init(trusted: [String: PublicKey], retired: [String: [KeyID: UInt64]] = [:]) {
        key = { trusted[$0] }
        retirement = { retired[$0]?[$1] }
    }

    /// Keys that change as rotations arrive: both are asked at each check.
    public init(key: @escaping @Sendable (String) -> PublicKey?, retirement: @escaping @Sendable (String, KeyID) -> UInt64?) {
        self.key = key
        self.retirement = retirement
    }

    /// Checks everything but freshness. `postedTo` is the app a notice was posted for (the
    /// origin's route): its key is the one asked for, and the notice must name it.
    public func check(_ bytes: [UInt8], postedTo: String? = nil, now: UInt64) -> Result<SignedNotice, Refusal> {
        let signed: SignedNotice
        do { signed = try SignedNotice(bytes: bytes) } catch { return .failure(.malformed("\(error)")) }
        let n = signed.notice
        let app = postedTo ?? n.app
        guard let key = key(app) else { return .failure(.untrustedApp(app)) }
        guard signed.signature.keyID == key.keyID else {
            return .failure(wrongKey(app: app, signedBy: signed.signature.keyID, pinned: key.keyID))
        }
        do { try signed.verify(with: key) } catch { return .failure(.badSignature("\(error)")) }
        guard n.app == app else { return .failure(.wrongApp(notice: n.app, postedTo: app)) }
        guard n.sequence <= Notice.maxSequence else { return .failure(.sequenceTooLarge(app: n.app, sequence: n.sequence)) }
        guard !n.isExpired(at: now) else { return .failure(.expired(app: n.app, sequence: n.sequence, at: n.expires)) }
        return .success(signed)
    }

    /// A notice signed by another key than `pinned`: a key a rotation retired, or a stranger's.
    /// Also for a store that finds the key changed under it (a rotation committed meanwhile).
    public func wrongKey(app: String, signedBy: KeyID, pinned: KeyID) -> Refusal {
        if let epoch = retirement(app, signedBy) {
            return .retiredKey(app: app, signedBy: signedBy, epoch: epoch, pinned: pinned)
        }
        return .wrongKey(app: app, signedBy: signedBy, pinned: pinned)
    }

    /// Sequences only go up: a notice is newer only above the highest sequence held (at a node
    /// per app and channel, at the origin per app, whose channels share one counter); nil: none held.
    public static func isNewer(_ notice: Notice, than held: UInt64?) -> Bool {
        guard notice.sequence <= Notice.maxSequence else { return false }
        return held.map { notice.sequence > $0 } ?? true
    }

    /// The refusal of a notice that is not newer than `held`.
    public static func stale(_ notice: Notice, held: UInt64) -> Refusal {
        .stale(app: notice.app, channel: notice.channel, sequence: notice.sequence, held: held)
    }
}
