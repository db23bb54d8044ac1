import BundlecastCore
import Synchronization

/// The origin's timestamps (``SignedTimestamp``), one per app and channel: signed with the
/// origin's own key when first asked, and again when the newest sequence changes or half the
/// validity has passed, so a node always gets one with at least half its life left.
///
/// Only channels that hold a notice are kept, and at most `capacity` of them (the oldest
/// signed goes first): the channel is any name in a request, and a flood of names must cost
/// neither memory nor a growing map. A channel without a notice is signed on each request.
final class TimestampSigner: Sendable {
    let key: SecretKey
    /// Seconds a timestamp is valid.
    let validity: UInt64
    /// Most timestamps kept at once.
    let capacity: Int
    private let cache = Mutex<[String: SignedTimestamp]>([:])

    init(key: SecretKey, validity: UInt64, capacity: Int = 4096) {
        self.key = key
        self.validity = min(max(2, validity), OriginSettings.maxTimestampValidity)
        self.capacity = max(1, capacity)
    }

    /// Timestamps held now.
    var count: Int { cache.withLock { $0.count } }

    /// - Parameter keep: whether the channel holds a notice (else nothing is remembered).
    func timestamp(app: String, channel: String, sequence: UInt64, now: UInt64, keep: Bool) throws -> SignedTimestamp {
        let name = app + "/" + channel
        if let held = cache.withLock({ $0[name] }), held.sequence == sequence, now >= held.created, now - held.created < validity / 2 {
            return held
        }
        let (expires, overflow) = now.addingReportingOverflow(validity)
        let fresh = try SignedTimestamp.sign(app: app, channel: channel, sequence: sequence, created: now,
                                             expires: overflow ? .max : expires, key: key)
        guard keep else { return fresh }
        cache.withLock { cache in
            if cache[name] == nil, cache.count >= capacity, let oldest = cache.min(by: { $0.value.created < $1.value.created })?.key {
                cache[oldest] = nil
            }
            cache[name] = fresh
        }
        return fresh
    }
}
