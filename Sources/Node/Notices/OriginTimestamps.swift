import BundlecastCore
import Synchronization

/// The newest origin timestamp per trusted app on this node's channel (``SignedTimestamp``),
/// each checked against the pinned origin key (`--origin-key`) before it is kept or passed on.
/// Kept in memory: a restarted node waits for the next one (every half validity at most).
final class OriginTimestamps: Sendable {
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case noOriginKey
        case malformed(String)
        case notFollowed(app: String, channel: String)
        case forged(signedBy: KeyID)
        case fromTheFuture(created: UInt64)
        case expired(at: UInt64)
        case notNewer

        /// The refusal counter's name; nil for what is not worth counting (repeats, other channels).
        var reason: String? {
            switch self {
            case .noOriginKey, .notFollowed, .notNewer: return nil
            case .malformed: return "timestamp_malformed"
            case .forged: return "timestamp_forged"
            case .fromTheFuture: return "timestamp_future"
            case .expired: return "timestamp_expired"
            }
        }

        var description: String {
            switch self {
            case .noOriginKey: return "this node pins no origin key (--origin-key): timestamps are not checked"
            case .malformed(let why): return "\(why)"
            case .notFollowed(let app, let channel): return "timestamp for \(app)/\(channel), which this node does not follow"
            case .forged(let by): return "timestamp signed by \(by), not by the pinned origin key"
            case .fromTheFuture(let created): return "timestamp created at \(created), in the future of this node's clock"
            case .expired(let at): return "timestamp expired at \(at)"
            case .notNewer: return "not newer than the timestamp held"
            }
        }
    }

    let originKey: PublicKey?
    let channel: String
    let apps: Set<String>
    /// How far in the future a timestamp's creation may be (clock skew).
    static let skew: UInt64 = 300
    private let held = Mutex<[String: SignedTimestamp]>([:])

    init(originKey: PublicKey?, channel: String, apps: [String]) {
        self.originKey = originKey
        self.channel = channel
        self.apps = Set(apps)
    }

    func receive(_ bytes: [UInt8], now: UInt64) -> Result<SignedTimestamp, Refusal> {
        guard let originKey else { return .failure(.noOriginKey) }
        let t: SignedTimestamp
        do { t = try SignedTimestamp(bytes: bytes) } catch { return .failure(.malformed(error.description)) }
        guard apps.contains(t.app), t.channel == channel else { return .failure(.notFollowed(app: t.app, channel: t.channel)) }
        guard t.isSigned(by: originKey) else { return .failure(.forged(signedBy: t.keyID)) }
        guard t.created <= now + Self.skew else { return .failure(.fromTheFuture(created: t.created)) }
        guard t.expires > now else { return .failure(.expired(at: t.expires)) }
        return held.withLock { h in
            if let old = h[t.app], old.created >= t.created, old.sequence >= t.sequence { return .failure(.notNewer) }
            h[t.app] = t
            return .success(t)
        }
    }

    func newest(_ app: String) -> SignedTimestamp? { held.withLock { $0[app] } }

    /// What the node can say about `app`'s freshness; nil when it pins no origin key.
    func freshness(app: String, held sequence: UInt64, now: UInt64, threshold: UInt64) -> Freshness? {
        guard originKey != nil else { return nil }
        return Freshness.evaluate(held: sequence, timestamp: newest(app), now: now, threshold: threshold)
    }
}
