import BundlecastCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds and runs the origin: Hummingbird on SwiftNIO, state in SQLite,
/// graceful shutdown on SIGINT and SIGTERM.
public enum OriginServer {
    /// An application ready to run (tests run it inside their own service group).
    public static func application(
        settings: OriginSettings, store: OriginStore, logger: Logger,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    ) throws -> some ApplicationProtocol {
        let board = NoticeBoard(try store.allLatest())
        let metrics = OriginMetrics()
        // Each request is logged at debug; the middleware is left out otherwise so that
        // logging costs nothing on the hot path.
        let logRequests = logger.logLevel <= .debug
        var api = OriginAPI(store: store, board: board, metrics: metrics, settings: settings, logger: logger, clock: clock)
        api.guarded = true
        let router = Self.router(api, logRequests: logRequests)
        let cacheControl = api.cacheControl
        let readyPath = settings.readyFile
            ?? (URL(fileURLWithPath: settings.databasePath).deletingLastPathComponent().path + "/ready.json")
        // A ready file left by an earlier run must not be mistaken for this one's.
        try? FileManager.default.removeItem(atPath: readyPath)
        return Application(
            router: router,
            // At debug level every request goes through the router, so every one is logged.
            // The guard first, so that it sees the fast path's answers as well as the router's.
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(idleTimeout: .seconds(Int64(clamping: settings.idleTimeoutSeconds)))]
                    + (logRequests ? [] : [LatestFastPath(board: board, metrics: metrics, cacheControl: cacheControl)]))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                do {
                    try ReadyFile(http: port, pid: getpid()).write(to: readyPath)
                    logger.info("origin serving", metadata: ["address": "\(settings.host):\(port)", "ready": "\(readyPath)"])
                } catch {
                    logger.error("cannot write \(readyPath): \(error)")
                }
            },
            logger: logger
        )
    }

    /// Every route of `api` behind the metrics middleware: what the server runs behind the
    /// ``LatestFastPath``, and what tests drive without a socket (HummingbirdTesting's `.router`).
    static func router(_ api: OriginAPI, logRequests: Bool = false) -> Router<OriginRequestContext> {
        // HEAD answers every GET route with the same status and headers and no body: HTTP
        // caches and CDNs in front of the origin send HEAD to revalidate.
        let router = Router(context: OriginRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware(metrics: api.metrics))
        if logRequests { router.add(middleware: LogRequestsMiddleware(.debug)) }
        api.addRoutes(to: router)
        return router
    }

    /// Runs until SIGINT or SIGTERM; open long-polls end at once with 503.
    public static func run(settings: OriginSettings, store: OriginStore, logger: Logger) async throws {
        try await application(settings: settings, store: store, logger: logger).runService()
    }
}
