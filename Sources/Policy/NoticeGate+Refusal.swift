import BundlecastCore

extension NoticeGate {
    /// Why a notice was refused. `reason` is the node's metric label and `description` the
    /// node's words; the origin maps each case to its own HTTP status and text.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(String)
        case untrustedApp(String)
        case wrongKey(app: String, signedBy: KeyID, pinned: KeyID)
        /// Signed by a key that a rotation retired.
        case retiredKey(app: String, signedBy: KeyID, epoch: UInt64, pinned: KeyID)
        case badSignature(String)
        /// Posted for one app (the origin's route) but naming another.
        case wrongApp(notice: String, postedTo: String)
        /// Above ``Notice/maxSequence``: no store could hold it.
        case sequenceTooLarge(app: String, sequence: UInt64)
        case expired(app: String, sequence: UInt64, at: UInt64)
        case stale(app: String, channel: String, sequence: UInt64, held: UInt64)

        public var reason: String {
            switch self {
            case .malformed, .sequenceTooLarge: return "malformed"
            case .untrustedApp: return "untrusted_app"
            case .wrongKey: return "wrong_key"
            case .retiredKey: return "retired_key"
            case .badSignature: return "bad_signature"
            case .wrongApp: return "wrong_app"
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
            case .wrongApp(let notice, let postedTo): return "the notice is for app \(notice), not \(postedTo)"
            case .sequenceTooLarge(let app, let sequence): return "notice \(app) #\(sequence): sequences above 2^63-1 cannot be stored"
            case .expired(let app, let sequence, let at): return "expired notice \(app) #\(sequence) (expired at \(at))"
            case .stale(let app, let channel, let sequence, let held):
                return "stale notice \(app)/\(channel) #\(sequence): this node already accepted #\(held)"
            }
        }
    }
}
