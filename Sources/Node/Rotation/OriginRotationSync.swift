import BoundedHTTP
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// Catches up on an app's key rotations from the origin (`GET /v1/apps/APP/rotations`):
/// once per app when the node starts watching the origin, and whenever a notice
/// signed by a key this node does not know arrives (it may be a rotation the
/// node missed). Each statement is checked like any other, oldest first.
final class OriginRotationSync: Service, Sendable {
    /// Most bytes read of a rotation chain: a statement is under 1 KiB (the admin API takes
    /// 4 KiB), so this holds hundreds of rotations, far more than an app ever makes.
    static let chainLimit = 1 << 20
    let origin: URL
    /// Checks and records one statement (and spreads it when it moved the key on).
    let apply: @Sendable ([UInt8]) -> Void
    let logger: Logger
    /// At most one fetch per app in this time for requests from the gossip path (a peer
    /// flooding notices signed by unknown keys must not make the node flood the origin).
    let minimumInterval: Duration
    private let last = Mutex<[String: ContinuousClock.Instant]>([:])
    private let requests: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init(origin: URL, logger: Logger, minimumInterval: Duration = .seconds(2), apply: @escaping @Sendable ([UInt8]) -> Void) {
        self.origin = origin
        self.logger = logger
        self.minimumInterval = minimumInterval
        self.apply = apply
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(16))
    }

    /// Asks for a catch-up of `app` soon, without waiting (from the gossip path).
    func request(_ app: String) { continuation.yield(app) }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await app in self.requests { await self.sync(app, force: false) }
        }
    }

    /// Fetches the chain and applies it; unless `force`, not when it was fetched a moment ago.
    func sync(_ app: String, force: Bool) async {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if !force, let at = last[app], now - at < minimumInterval { return false }
            last[app] = now
            return true
        }
        guard due else { return }
        var request = URLRequest(url: origin.appendingPathComponent("/v1/apps/\(app)/rotations"))
        request.timeoutInterval = 15
        struct Chain: Decodable {
            struct Item: Decodable { let statement: String }
            let rotations: [Item]
        }
        do {
            let (data, response) = try await HTTPFetch.data(for: request, limit: Self.chainLimit)
            guard response.statusCode == 200 else {
                logger.debug("origin answered \(response.statusCode) for the rotations of \(app)")
                return
            }
            for item in try JSONDecoder().decode(Chain.self, from: data).rotations { apply(Array(item.statement.utf8)) }
        } catch {
            logger.debug("cannot fetch the rotations of \(app) from the origin: \((error as? HTTPFetchError)?.description ?? "\(error)")")
        }
    }
}
