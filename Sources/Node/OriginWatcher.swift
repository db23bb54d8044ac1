import BoundedHTTP
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle

/// The origin as a backstop: long-polls `latest` for each trusted app, so a
/// node learns of a release within a second even if gossip has not reached
/// it, and first catches up on the app's key rotations. Backs off with jitter
/// (1 s doubling to 60 s) while the origin is down or its notice is refused.
/// Nodes without `--origin` learn by gossip alone.
///
/// Nothing an answer says sticks unless it was checked: only a notice whose signature
/// verified, for the app and channel asked about, may move the `after` the node asks with
/// (never a header such as `ETag`), every error forgets it, and an origin that signs no
/// timestamps is asked again later.
/// Answers are read with a limit: ``noticeLimit``, ``timestampLimit``.
struct OriginWatcher: Service {
    /// Most bytes read of a `latest` answer: a notice is a `.minisig` of about 500 bytes, and
    /// the origin itself takes none over 64 KiB.
    static let noticeLimit = 64 << 10
    /// A long-poll asks the origin to wait 30 s for news; an empty answer sooner than this
    /// is not taken as that wait's end.
    static let earliestEmptyAnswer: Duration = .seconds(15)
    /// Most bytes read of a timestamp: two lines of about 300 bytes (the admin API takes 4 KiB too).
    static let timestampLimit = 4096

    let origin: URL
    let apps: [String]
    let channel: String
    let held: @Sendable (String) -> UInt64
    /// Checks and records a notice.
    let deliver: @Sendable ([UInt8]) -> Delivery
    /// Catches up on the app's key rotations from the origin (at start, and after a refused
    /// notice, which the back-off then spaces out).
    let catchUp: @Sendable (String) async -> Void
    /// With a pinned origin key: where a fetched timestamp goes.
    let timestamps: Timestamps?
    let logger: Logger

    /// What became of a notice from the origin.
    enum Delivery: Sendable, Equatable {
        case accepted
        /// Refused; `issued` only when its signature verified (it is stale or expired), so the
        /// publisher did issue that sequence for that app and channel.
        case refused(issued: Issued?)
    }

    /// The app, channel and sequence a refused notice names, when its signature verified. Asking
    /// past the sequence is safe only for the app and channel polled: sequences of another app
    /// (or another channel) say nothing of this one's, and a long-poll past one of them would
    /// sleep through this app's notices below it.
    struct Issued: Sendable, Equatable {
        let app: String
        let channel: String
        let sequence: UInt64
    }

    struct Timestamps: Sendable {
        let deliver: @Sendable ([UInt8]) -> Void
        /// A timestamp is fetched at start, after each new notice, and then every this many seconds (the origin
        /// re-signs after half a validity, so a node is never more than this behind on its timestamps).
        var refreshAfter: Duration = .seconds(600)
        /// After a failed fetch (an error, or an origin that says it signs none), the next try comes this much later.
        var retryAfter: Duration = .seconds(60)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for app in apps { group.addTask { await watch(app) } }
            }
        }
    }

    private func watch(_ app: String) async {
        var backoff: Double = 1
        // Said once when the origin stops answering and once when it is back, not at every retry.
        var down = false
        func reachable(resetBackoff: Bool = true) {
            if resetBackoff { backoff = 1 }
            if down { logger.notice("origin \(origin) answers again (\(app))") }
            down = false
        }
        func unreachable(_ why: String) {
            if !down { logger.warning("origin \(origin) unreachable for \(app): \(why); retrying with back-off, peers still spread notices") }
            else { logger.debug("origin still unreachable: \(why)") }
            down = true
        }
        // The sequence of the origin's newest notice when this node refused it: wait for a newer one.
        var refused: UInt64 = 0
        // A node that was away during a rotation learns the new key before its first notice.
        await catchUp(app)
        var heldBefore = held(app)
        var heldAtLastPoll = heldBefore
        var nextTimestampFetch = ContinuousClock.now
        var timestampsMissing = false
        while !Task.isCancelled {
            if let timestamps, ContinuousClock.now >= nextTimestampFetch || held(app) != heldBefore {
                heldBefore = held(app)
                let fetched = await fetchTimestamp(app, into: timestamps, missing: &timestampsMissing)
                nextTimestampFetch = .now + (fetched ? timestamps.refreshAfter : min(timestamps.retryAfter, timestamps.refreshAfter))
            }
            let url = origin.appendingPathComponent("/v1/apps/\(app)/channels/\(channel)/latest")
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
            // A rotation lowers the held sequence to its floor: what was refused before it (perhaps a
            // thief's notice at 2^63-1) must not keep the long-poll above the new key's notices.
            if held(app) < heldAtLastPoll { refused = 0 }
            heldAtLastPoll = held(app)
            let after = max(heldAtLastPoll, refused)
            components.queryItems = [URLQueryItem(name: "after", value: String(after)), URLQueryItem(name: "wait", value: "30")]
            var request = URLRequest(url: components.url!)
            request.timeoutInterval = 45
            let asked = ContinuousClock.now
            do {
                let (data, response) = try await HTTPFetch.data(for: request, limit: Self.noticeLimit)
                switch response.statusCode {
                case 200:
                    reachable(resetBackoff: false)
                    let body = [UInt8](data)
                    if deliver(body) == .accepted {
                        backoff = 1
                        continue
                    }
                    // Signed by a key this node does not know yet? Catch up on rotations, then try again.
                    await catchUp(app)
                    let delivery = deliver(body)
                    if delivery == .accepted {
                        backoff = 1
                        continue
                    }
                    // Still refused: asking again would get it again at once. A genuine notice of this
                    // app and channel (expired, or not newer) names a sequence to long-poll past; anything
                    // else (forged, malformed, a retired key, another app's or channel's notice) says
                    // nothing that can be trusted here, not even in its headers: back off.
                    if case .refused(let issued?) = delivery, issued.app == app, issued.channel == channel, issued.sequence > after {
                        refused = issued.sequence
                        backoff = 1
                        continue
                    }
                    refused = 0
                case 204:
                    // Nothing new within the wait asked for. An answer of nothing long before the
                    // wait is up (a proxy, or a server that does not long-poll) is waited out as
                    // a failure is, or the node would ask again and again as fast as it can.
                    if ContinuousClock.now - asked >= Self.earliestEmptyAnswer {
                        reachable()
                        continue
                    }
                    reachable(resetBackoff: false)
                case 404:
                    // Nothing published for this app and channel yet: ask again later and later.
                    reachable(resetBackoff: false)
                    refused = 0
                case let status:
                    unreachable("HTTP \(status)")
                    refused = 0
                }
            } catch {
                if Task.isCancelled { return }
                unreachable(HTTPFetchError.describe(error))
                refused = 0
            }
            let delay = backoff * Double.random(in: 0.5...1.5)
            backoff = min(60, backoff * 2)
            try? await Task.sleep(for: .seconds(delay))
        }
    }

    /// Fetches the origin's timestamp for `app`; whether one came. An origin that says it signs
    /// none is said once (`missing`) and asked again later: one answer, perhaps a cache's or a
    /// forger's, or from an origin restarted without `--key`, must not turn timestamps off for good.
    private func fetchTimestamp(_ app: String, into timestamps: Timestamps, missing: inout Bool) async -> Bool {
        var request = URLRequest(url: origin.appendingPathComponent("/v1/apps/\(app)/channels/\(channel)/timestamp"))
        request.timeoutInterval = 10
        let data: Data
        let response: HTTPURLResponse
        do { (data, response) = try await HTTPFetch.data(for: request, limit: Self.timestampLimit) } catch {
            logger.debug("cannot fetch the timestamp of \(app) from the origin: \(HTTPFetchError.describe(error))")
            return false
        }
        switch response.statusCode {
        case 200:
            if missing { logger.notice("the origin signs timestamps for \(app) again") }
            missing = false
            timestamps.deliver([UInt8](data))
            return true
        case 404 where String(decoding: data, as: UTF8.self).contains("signs no timestamps"):
            if !missing {
                logger.warning("the origin says it signs no timestamps (no --key): freshness cannot be confirmed from it; asking again every \(timestamps.retryAfter)")
            }
            missing = true
        case let status:
            logger.debug("origin answered \(status) for the timestamp of \(app)")
        }
        return false
    }
}
