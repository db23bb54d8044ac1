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
struct OriginWatcher: Service {
    let origin: URL
    let apps: [String]
    let channel: String
    let held: @Sendable (String) -> UInt64
    /// Checks and records a notice; whether it was accepted.
    let deliver: @Sendable ([UInt8]) -> Bool
    /// Catches up on the app's key rotations from the origin (at start, and after a refused
    /// notice, which the back-off then spaces out).
    let catchUp: @Sendable (String) async -> Void
    /// With a pinned origin key: where a fetched timestamp goes.
    let timestamps: Timestamps?
    let logger: Logger

    struct Timestamps: Sendable {
        let deliver: @Sendable ([UInt8]) -> Void
        /// A timestamp is fetched at start, after each new notice, and then every this many seconds (the origin
        /// re-signs after half a validity, so a node is never more than this behind on its timestamps).
        var refreshAfter: Duration = .seconds(600)
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
        var timestampsOff = false
        var heldBefore = held(app)
        var heldAtLastPoll = heldBefore
        var lastTimestampFetch: ContinuousClock.Instant?
        while !Task.isCancelled {
            if let timestamps, !timestampsOff,
               lastTimestampFetch.map({ ContinuousClock.now - $0 >= timestamps.refreshAfter }) ?? true || held(app) != heldBefore {
                heldBefore = held(app)
                lastTimestampFetch = .now
                timestampsOff = await fetchTimestamp(app, into: timestamps)
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
            do {
                let (data, response) = try await HTTPFetch.data(for: request)
                switch (response as? HTTPURLResponse)?.statusCode ?? 0 {
                case 200:
                    reachable(resetBackoff: false)
                    let body = [UInt8](data)
                    if deliver(body) {
                        backoff = 1
                        continue
                    }
                    // Signed by a key this node does not know yet? Catch up on rotations, then try again.
                    await catchUp(app)
                    if deliver(body) {
                        backoff = 1
                        continue
                    }
                    // Still refused (a retired key, expired): asking again would get it again at once, so
                    // long-poll for a newer one; without its sequence, back off.
                    let etag = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "ETag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    if let sequence = etag.flatMap({ DecimalNumber.parse($0) }), sequence > after {
                        refused = sequence
                        backoff = 1
                        continue
                    }
                case 204:
                    reachable()
                    continue
                case 404:
                    // Nothing published for this app and channel yet: ask again later and later.
                    reachable(resetBackoff: false)
                case let status:
                    unreachable("HTTP \(status)")
                }
            } catch {
                if Task.isCancelled { return }
                unreachable(error.localizedDescription)
            }
            let delay = backoff * Double.random(in: 0.5...1.5)
            backoff = min(60, backoff * 2)
            try? await Task.sleep(for: .seconds(delay))
        }
    }

    /// Fetches the origin's timestamp for `app`; true when the origin signs none (no `--key`),
    /// which is said once: asking again is pointless until the node restarts.
    private func fetchTimestamp(_ app: String, into timestamps: Timestamps) async -> Bool {
        var request = URLRequest(url: origin.appendingPathComponent("/v1/apps/\(app)/channels/\(channel)/timestamp"))
        request.timeoutInterval = 10
        guard let (data, response) = try? await HTTPFetch.data(for: request) else { return false }
        switch (response as? HTTPURLResponse)?.statusCode ?? 0 {
        case 200:
            timestamps.deliver([UInt8](data))
        case 404 where String(decoding: data, as: UTF8.self).contains("signs no timestamps"):
            logger.warning("the origin signs no timestamps (it has no --key): freshness cannot be confirmed from it")
            return true
        case let status:
            logger.debug("origin answered \(status) for the timestamp of \(app)")
        }
        return false
    }
}
