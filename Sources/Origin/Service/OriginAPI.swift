import BundlecastCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Policy
import ServiceLifecycle

/// The origin's HTTP API: signatures and version notices, never bundle bytes.
///
/// | route | answers |
/// |---|---|
/// | `POST /v1/apps/{app}/notices` | 201 new, 200 the same signed notice again (whatever its unsigned comment), 409 stale/expired, 401 bad signature, 403 another key or app, 404 unknown app, 400 malformed, 413 over the limit |
/// | `GET /v1/apps/{app}/channels/{channel}/latest` | the `.minisig` text, `ETag` = sequence and body hash, 304 on `If-None-Match`; `?after=SEQ&wait=S` long-polls: 200, or 204 when nothing newer came, 503 when the origin shuts down; polls waiting above the channel's newest when a rotation lowers it are answered at once (200 the newest, 404 none: ``NoticeBoard``) |
/// | `GET /v1/apps/{app}/channels/{channel}/timestamp` | the origin's signed timestamp of the newest sequence (with `--key`), `Cache-Control: max-age=60`; 404 without a key |
/// | `GET /v1/apps/{app}/notices?after=SEQ` | later notices, oldest first |
/// | `GET /v1/apps`, `GET /v1/apps/{app}` | registered apps, key ids and epochs, latest sequences |
/// | `POST /v1/apps/{app}/rotations` | 201 rotated (notices of the app above its floor deleted), 200 the statement that brought the registered key, 409 replay or gap, 401 bad signature, 403 another app or old key, 404, 400, 413 |
/// | `GET /v1/apps/{app}/rotations` | the rotation chain, oldest first |
/// | `GET /healthz`, `GET /metrics` | liveness, Prometheus text |
struct OriginAPI: Sendable {
    let store: OriginStore
    let board: NoticeBoard
    let metrics: OriginMetrics
    let settings: OriginSettings
    let logger: Logger
    let clock: @Sendable () -> UInt64
    let timestamps: TimestampSigner?
    /// Held around each write to the store and the board update that follows it, so the
    /// board changes in the order the database did: a notice committed just before a
    /// rotation cannot be put back on the board after the rotation dropped it.
    let boardWrites = NSLock()
    /// Every connection has a ``ConnectionGuard`` (a real server, not a test driving the
    /// router): a connection with no ``ClientPresence`` has closed.
    var guarded = false

    static let pageSize = 500
    /// Precomputed: `latest` is the hot path.
    let cacheControl: String

    init(store: OriginStore, board: NoticeBoard, metrics: OriginMetrics, settings: OriginSettings, logger: Logger,
         clock: @escaping @Sendable () -> UInt64) {
        self.store = store
        self.board = board
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.clock = clock
        timestamps = settings.signingKey.map { TimestampSigner(key: $0, validity: settings.timestampValidity) }
        cacheControl = "public, max-age=\(settings.cacheMaxAge)"
    }

    func addRoutes(to router: Router<OriginRequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
        router.get("/v1/apps") { _, _ in try await answer { try apps() } }
        router.get("/v1/apps/:app") { _, context in try await answer { try app(context) } }
        router.post("/v1/apps/:app/notices") { request, context in try await answerAsync { try await submit(request, context) } }
        router.get("/v1/apps/:app/notices") { request, context in try await answer { try notices(request, context) } }
        router.get("/v1/apps/:app/channels/:channel/latest") { request, context in
            try await answerAsync { try await latest(request, context) }
        }
        router.get("/v1/apps/:app/channels/:channel/timestamp") { _, context in try await answer { try timestamp(context) } }
        addRotationRoutes(to: router)
    }

    private func timestamp(_ context: OriginRequestContext) throws -> Response {
        let app = try appName(context)
        let channel = try channelName(context)
        guard let timestamps else {
            throw APIFailure(.notFound, "this origin signs no timestamps: start it with --key (its own key, not a publisher's)")
        }
        _ = try registered(app)
        let latest = board.latest(app: app, channel: channel)
        let signed: SignedTimestamp
        do {
            signed = try timestamps.timestamp(app: app, channel: channel, sequence: latest?.sequence ?? 0, now: clock(), keep: latest != nil)
        } catch {
            throw APIFailure(.internalServerError, "cannot sign a timestamp: \(error)")
        }
        metrics.timestampsHeld(timestamps.count)
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "public, max-age=60"],
                        body: .init(byteBuffer: ByteBuffer(bytes: signed.bytes)))
    }

    /// Runs a handler's blocking work (SQLite reads and writes, signature checks) on the
    /// thread pool, not on one of the few cooperative threads: a flood of such requests must
    /// not stall long-poll answers and every other request with them.
    func answer(_ body: @escaping @Sendable () throws -> Response) async throws -> Response {
        do { return try await Self.blocking(body) } catch let failure as APIFailure { return failure.response }
    }

    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    func answerAsync(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let failure as APIFailure { return failure.response }
    }

    // MARK: - Parameters

    func appName(_ context: OriginRequestContext) throws -> String {
        let app = context.parameters.get("app") ?? ""
        if let problem = Identifier.problem(app) { throw APIFailure(.badRequest, "app name \(problem)") }
        return app
    }

    private func channelName(_ context: OriginRequestContext) throws -> String {
        let channel = context.parameters.get("channel") ?? ""
        if let problem = Identifier.problem(channel) { throw APIFailure(.badRequest, "channel \(problem)") }
        return channel
    }

    private func number(_ request: Request, _ name: String) throws -> UInt64? {
        guard let text = request.uri.queryParameters[name[...]] else { return nil }
        guard let value = DecimalNumber.parse(text) else { throw APIFailure(.badRequest, "\(name) must be a whole number") }
        return value
    }

    func registered(_ app: String) throws -> AppRecord {
        guard let record = try store.app(app) else { throw APIFailure(.notFound, "unknown app \(app): register it with `bundlecast origin add-app`") }
        return record
    }

    // MARK: - Notices in

    private func submit(_ request: Request, _ context: OriginRequestContext) async throws -> Response {
        let app = try appName(context)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: settings.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            metrics.notice("too_large")
            return APIResponse.error(.contentTooLarge, "body larger than \(settings.maxBodyBytes) bytes: a notice is a small .minisig file")
        }
        let bytes = Array(buffer: body)
        do {
            let (status, result) = try await Self.blocking { try accept(app: app, bytes: bytes) }
            metrics.notice(result.status)
            return APIResponse.json(status, result)
        } catch let failure as APIFailure {
            metrics.notice(failure.reason ?? "refused")
            logger.info("refused notice", metadata: ["app": "\(app)", "status": "\(failure.status.code)", "reason": "\(failure.logged)"])
            throw failure
        }
    }

    struct SubmitResult: Encodable {
        let app: String
        let channel: String
        let sequence: UInt64
        let version: String
        let status: String
    }

    /// ``NoticeGate``'s rule with the app's registered key, then the store's freshness check.
    private func accept(app: String, bytes: [UInt8]) throws -> (HTTPResponse.Status, SubmitResult) {
        let record = try registered(app)
        let gate = NoticeGate(key: { $0 == app ? record.key : nil },
                              retirement: { [store] app, key in (try? store.retirement(app: app, key: key)) ?? nil })
        let signed: SignedNotice
        switch gate.check(bytes, postedTo: app, now: clock()) {
        case .success(let s): signed = s
        case .failure(let refusal):
            // The gate hears "not retired" when the lookup failed: ask again, so a database error is a 500, not a wrong key.
            if case .wrongKey(_, let signedBy, _) = refusal { _ = try store.retirement(app: app, key: signedBy) }
            throw APIFailure(refusal)
        }
        let n = signed.notice
        let result = { (status: String) in
            SubmitResult(app: app, channel: n.channel, sequence: n.sequence, version: n.version.description, status: status)
        }
        // Stored and compared in its one byte form: anyone may change the unsigned comment
        // of a notice they relay, and must not make the publisher's own post a conflict.
        let canonical = signed.canonical
        let body = canonical.bytes
        let submission = try boardWrites.withLock {
            let submission = try store.submit(canonical, body: body, now: clock())
            if case .created = submission { board.publish(StoredNotice(app: app, channel: n.channel, sequence: n.sequence, body: body)) }
            return submission
        }
        switch submission {
        case .created:
            logger.info("accepted notice", metadata: ["app": "\(app)", "sequence": "\(n.sequence)", "channel": "\(n.channel)", "version": "\(n.version)"])
            return (.created, result("created"))
        case .duplicate:
            return (.ok, result("duplicate"))
        case .stale(let highest):
            throw APIFailure(NoticeGate.stale(n, held: highest))
        case .keyChanged(let current):
            throw APIFailure(gate.wrongKey(app: app, signedBy: signed.signature.keyID, pinned: current))
        }
    }

    // MARK: - Notices out

    private func latest(_ request: Request, _ context: OriginRequestContext) async throws -> Response {
        let app = try appName(context)
        let channel = try channelName(context)
        if let after = try number(request, "after") {
            let wait = Int(min(try number(request, "wait") ?? 0, UInt64(settings.maxWaitSeconds)))
            if board.latest(app: app, channel: channel) == nil { _ = try await Self.blocking { try registered(app) } }
            // On SIGTERM the wait is cancelled, so shutdown never waits for long-polls; nor
            // does a client that left hold one (``ConnectionGuard`` tells it, and the wait ends).
            let result = await metrics.longPoll {
                await cancelWhenGracefulShutdown { await untilLeft(context.channel, app: app, channel: channel, after: after, seconds: wait) }
            }
            switch result {
            case .notice(let n): return noticeResponse(n, cacheControl: "no-store")
            case .noneHeld:
                return APIResponse.error(.notFound, "no notice yet for \(app) on channel \(channel)", headers: [.cacheControl: "no-store"])
            case .timedOut: return Response(status: .noContent, headers: [.cacheControl: "no-store"])
            case .cancelled:
                return APIResponse.error(.serviceUnavailable, "the origin is shutting down: retry", headers: [.retryAfter: "1", .cacheControl: "no-store"])
            }
        }
        guard let n = board.latest(app: app, channel: channel) else {
            _ = try await Self.blocking { try registered(app) }
            throw APIFailure(.notFound, "no notice yet for \(app) on channel \(channel)")
        }
        if let match = request.headers[.ifNoneMatch], n.isMatched(byIfNoneMatch: match) {
            return Response(status: .notModified, headers: [.eTag: n.etag, .cacheControl: cacheControl])
        }
        return noticeResponse(n, cacheControl: cacheControl)
    }

    /// ``NoticeBoard/wait(app:channel:after:seconds:)``, ended early when the connection's
    /// client leaves (answered as nothing new: it is no failure of the origin's). A client
    /// already gone, or a connection already closed, waits for nothing.
    func untilLeft(_ connection: (any Channel)?, app: String, channel: String, after: UInt64, seconds: Int) async -> NoticeBoard.WaitResult {
        // No presence: a connection already closed (waits for nothing), or none guarded (a
        // test driving the router).
        guard let connection, let presence = ClientPresence.of(connection) else {
            return await board.wait(app: app, channel: channel, after: after, seconds: guarded ? 0 : seconds)
        }
        if presence.hasLeft { return await board.wait(app: app, channel: channel, after: after, seconds: 0) }
        return await withTaskGroup(of: NoticeBoard.WaitResult?.self) { group in
            group.addTask { await board.wait(app: app, channel: channel, after: after, seconds: seconds) }
            group.addTask {
                await presence.untilLeft()
                return Task.isCancelled ? nil : .timedOut
            }
            defer { group.cancelAll() }
            return await group.next().flatMap { $0 } ?? .cancelled
        }
    }

    private func noticeResponse(_ n: StoredNotice, cacheControl: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "text/plain; charset=utf-8", .eTag: n.etag, .cacheControl: cacheControl],
                 body: .init(byteBuffer: n.buffer))
    }

    struct NoticeList: Encodable {
        struct Item: Encodable {
            let sequence: UInt64
            let channel: String
            let minisig: String
        }

        let app: String
        let notices: [Item]
        /// More notices follow: ask again with `after` = the last sequence.
        let more: Bool
    }

    private func notices(_ request: Request, _ context: OriginRequestContext) throws -> Response {
        let app = try appName(context)
        _ = try registered(app)
        let after = try number(request, "after") ?? 0
        let page = try store.notices(app: app, after: after, limit: Self.pageSize + 1)
        let items = page.prefix(Self.pageSize).map {
            NoticeList.Item(sequence: $0.sequence, channel: $0.channel, minisig: String(decoding: $0.body, as: UTF8.self))
        }
        return APIResponse.json(.ok, NoticeList(app: app, notices: Array(items), more: page.count > Self.pageSize),
                                headers: [.cacheControl: "no-store"])
    }

    // MARK: - Apps

    struct AppSummary: Encodable {
        let name: String
        let keyId: String
        /// Rotations since the key was first registered (or re-pinned).
        let epoch: UInt64
        let sequence: UInt64
        let channels: [String: UInt64]

        init(_ r: AppRecord) {
            name = r.name
            keyId = r.key.keyID.description
            epoch = r.epoch
            sequence = r.sequence
            channels = Dictionary(r.channels.map { ($0.channel, $0.sequence) }, uniquingKeysWith: max)
        }
    }

    struct AppList: Encodable {
        let apps: [AppSummary]
    }

    private func apps() throws -> Response {
        APIResponse.json(.ok, AppList(apps: try store.apps().map(AppSummary.init)), headers: [.cacheControl: "no-store"])
    }

    private func app(_ context: OriginRequestContext) throws -> Response {
        APIResponse.json(.ok, AppSummary(try registered(try appName(context))), headers: [.cacheControl: "no-store"])
    }
}
