import BundlecastCore
import Synchronization

/// The origin's timestamps (``SignedTimestamp``), one per app and channel: signed with the
/// origin's own key when first asked, and again when the newest sequence changes or half the
/// validity has passed, so a node always gets one with at least half its life left.
final class TimestampSigner: Sendable {
    let key: SecretKey
    /// Seconds a timestamp is valid.
    let validity: UInt64
    private let cache = Mutex<[String: SignedTimestamp]>([:])

    init(key: SecretKey, validity: UInt64) {
        self.key = key
        self.validity = min(max(2, validity), OriginSettings.maxTimestampValidity)
    }

    func timestamp(app: String, channel: String, sequence: UInt64, now: UInt64) throws -> SignedTimestamp {
        let name = app + "/" + channel
        if let held = cache.withLock({ $0[name] }), held.sequence == sequence, now >= held.created, now - held.created < validity / 2 {
            return held
        }
        let (expires, overflow) = now.addingReportingOverflow(validity)
        let fresh = try SignedTimestamp.sign(app: app, channel: channel, sequence: sequence, created: now,
                                             expires: overflow ? .max : expires, key: key)
        cache.withLock { $0[name] = fresh }
        return fresh
    }
}
