import Foundation
import Hummingbird

/// The stream of status events the fleet page draws from, `GET /v1/status/events`.
extension NodeAdminAPI {
    /// The status as `GET /v1/status` encodes it, for the ``StatusFeed``; nil when it cannot be read now.
    func statusJSON() -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? status()).flatMap { try? encoder.encode($0) }.map { Array($0) }
    }

    /// Adds `GET /v1/status/events` fed by `feed`.
    static func addFleetPageRoutes(to router: Router<BasicRequestContext>, feed: StatusFeed) {
        router.get("/v1/status/events") { _, _ in StatusEventStream.response(feed) }
    }
}
