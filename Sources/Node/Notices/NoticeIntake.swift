import BundlecastCore

/// The gate every notice passes before a node stores it or gossips it on,
/// whoever sent it (the origin, a peer, the admin API): it must parse, name a
/// trusted app, carry that app's pinned key id, verify, and not be expired.
/// Whether it is newer than what the node holds is the store's check, made
/// in the same transaction that records it.
public struct NoticeIntake: Sendable {
    /// The publisher key pinned per app.
    public let trusted: [String: PublicKey]

    public init(trusted: [String: PublicKey]) { self.trusted = trusted }

    /// Why a notice was dropped; `reason` is the metric label.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(String)
        case untrustedApp(String)
        case wrongKey(app: String, signedBy: KeyID, pinned: KeyID)
        case badSignature(String)
        case expired(app: String, sequence: UInt64, at: UInt64)
        case stale(app: String, channel: String, sequence: UInt64, held: UInt64)

        public var reason: String {
            switch self {
            case .malformed: return "malformed"
            case .untrustedApp: return "untrusted_app"
            case .wrongKey: return "wrong_key"
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
        guard let key = trusted[n.app] else { return .failure(.untrustedApp(n.app)) }
        guard signed.signature.keyID == key.keyID else {
            return .failure(.wrongKey(app: n.app, signedBy: signed.signature.keyID, pinned: key.keyID))
        }
        do { try signed.verify(with: key) } catch { return .failure(.badSignature("\(error)")) }
        guard !n.isExpired(at: now) else { return .failure(.expired(app: n.app, sequence: n.sequence, at: n.expires)) }
        return .success(signed)
    }
}
