import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle

/// The origin as a backstop: long-polls `latest` for each trusted app, so a
/// node learns of a release within a second even if gossip has not reached
/// it. Backs off with jitter (1 s doubling to 60 s) while the origin is down.
/// Nodes without `--origin` learn by gossip alone.
struct OriginWatcher: Service {
    let origin: URL
    let apps: [String]
    let channel: String
    let held: @Sendable (String) -> UInt64
    let deliver: @Sendable ([UInt8]) -> Void
    let logger: Logger

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
        while !Task.isCancelled {
            let url = origin.appendingPathComponent("/v1/apps/\(app)/channels/\(channel)/latest")
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
            components.queryItems = [URLQueryItem(name: "after", value: String(held(app))), URLQueryItem(name: "wait", value: "30")]
            var request = URLRequest(url: components.url!)
            request.timeoutInterval = 45
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                switch (response as? HTTPURLResponse)?.statusCode ?? 0 {
                case 200:
                    reachable()
                    deliver([UInt8](data))
                    continue
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
}
