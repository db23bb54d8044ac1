import BundlecastCore

/// The gate every notice passes before a node stores it or gossips it on,
/// whoever sent it (the origin, a peer, the admin API): it must parse, name a
/// trusted app, carry the key id of that app's key as pinned now (after any
/// rotation), verify, and not be expired.
/// Whether it is newer than what the node holds is the store's check, made
/// in the same transaction that records it.
public struct NoticeIntake: Sendable {
    /// The publisher key pinned per app, now.
    private let key: @Sendable (String) -> PublicKey?
    /// The epoch whose rotation retired a key of an app, if one did.
    private let retirement: @Sendable (String, KeyID) -> UInt64?

    /// Fixed keys, no rotation.
    public init(trusted: [String: PublicKey]) {
        key = { trusted[$0] }
        retirement = { _, _ in nil }
    }

    /// The keys as rotated.
    public init(keys: PublisherKeys) {
        key = { keys.key($0) }
        retirement = { keys.retirement($0, $1) }
    }

    /// Why a notice was dropped; `reason` is the metric label.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(String)
        case untrustedApp(String)
        case wrongKey(app: String, signedBy: KeyID, pinned: KeyID)
        /// Signed by a key that a rotation retired.
        case retiredKey(app: String, signedBy: KeyID, epoch: UInt64, pinned: KeyID)
        case badSignature(String)
        case expired(app: String, sequence: UInt64, at: UInt64)
        case stale(app: String, channel: String, sequence: UInt64, held: UInt64)

        public var reason: String {
            switch self {
            case .malformed: return "malformed"
            case .untrustedApp: return "untrusted_app"
            case .wrongKey: return "wrong_key"
            case .retiredKey: return "retired_key"
            case .badSignature: return "bad_signature"
            case .expired: return "expired"
            case .stale: return "stale"
            }
        }

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed notice: \(why)"
            case .untrustedApp(let app): return "notice for \(app), which this node does not trust (no --trust \(app)=KEY)"
            case .wrongKey(let app, let signedBy, let pinned): return "notice for \(app) signed by key \(signedBy), but the pinned key is \(pinned)"
            case .retiredKey(let app, let signedBy, let epoch, let pinned):
                return "notice for \(app) signed by key \(signedBy), which the rotation to epoch \(epoch) retired; the pinned key is \(pinned)"
            case .badSignature(let why): return "forged notice: \(why)"
            case .expired(let app, let sequence, let at): return "expired notice \(app) #\(sequence) (expired at \(at))"
            case .stale(let app, let channel, let sequence, let held):
                return "stale notice \(app)/\(channel) #\(sequence): this node already accepted #\(held)"
            }
        }
    }

    /// A notice that passed every check but the freshness one.
    public func check(_ bytes: [UInt8], now: UInt64) -> Result<SignedNotice, Refusal> {
        let signed: SignedNotice
        do { signed = try SignedNotice(bytes: bytes) } catch { return .failure(.malformed("\(error)")) }
        let n = signed.notice
        guard let key = key(n.app) else { return .failure(.untrustedApp(n.app)) }
        guard signed.signature.keyID == key.keyID else {
            if let epoch = retirement(n.app, signed.signature.keyID) {
                return .failure(.retiredKey(app: n.app, signedBy: signed.signature.keyID, epoch: epoch, pinned: key.keyID))
            }
            return .failure(.wrongKey(app: n.app, signedBy: signed.signature.keyID, pinned: key.keyID))
        }
        do { try signed.verify(with: key) } catch { return .failure(.badSignature("\(error)")) }
        guard !n.isExpired(at: now) else { return .failure(.expired(app: n.app, sequence: n.sequence, at: n.expires)) }
        return .success(signed)
    }
}
