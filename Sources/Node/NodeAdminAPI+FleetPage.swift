import Foundation
import Hummingbird

/// The fleet page: `GET /ui`, and the stream of status events it draws from,
/// `GET /v1/status/events`. ``AdminAddress/admitsBrowser(_:)`` lets a browser on this
/// machine load both and nothing else.
extension NodeAdminAPI {
    /// The status as `GET /v1/status` encodes it, for the ``StatusFeed``; nil when it cannot be read now.
    func statusJSON() -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? status()).flatMap { try? encoder.encode($0) }.map { Array($0) }
    }

    /// Adds `GET` and `HEAD /ui`, and `GET /v1/status/events` fed by `feed`.
    static func addFleetPageRoutes(to router: Router<BasicRequestContext>, feed: StatusFeed) {
        router.get("/ui") { _, _ in FleetPage.response() }
        router.head("/ui") { _, _ in FleetPage.response().createHeadResponse() }
        router.get("/v1/status/events") { _, _ in StatusEventStream.response(feed) }
    }
}
