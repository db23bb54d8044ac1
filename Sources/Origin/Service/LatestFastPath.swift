import BundlecastCore
import CoreMetrics
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `GET /v1/apps/{app}/channels/{channel}/latest` (without a query:
/// not a long-poll) straight from the ``NoticeBoard`` on the event loop.
///
/// This is the route every node and every cache in front of the origin hits;
/// going through the async router costs several task hops per request, which
/// halved throughput in `make bench`. The answers are the same as the
/// router's (status, ETag, Cache-Control, 304 on If-None-Match); anything
/// else — a query, an unknown app, no notice yet, `Connection: close` — is
/// passed on to the router unchanged, as is every request that arrives while the
/// socket cannot take more writes. Responses stay in request order: while
/// the router is still answering an earlier request on this connection,
/// later ones are passed on too.
final class LatestFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let route = "/v1/apps/{app}/channels/{channel}/latest"

    private let board: NoticeBoard
    private let served: CoreMetrics.Counter
    private let notModified: CoreMetrics.Counter
    private let cacheControl: String
    /// Requests passed to the router whose response has not ended yet.
    private var forwarded = 0
    /// The answer to send once the current request's end arrives.
    private var pending: HTTPResponsePart?
    private var pendingBody: ByteBuffer?
    private var answering = false
    private var date = HTTPDate()
    /// The header fields of the last notice answered, without `Date` (its tag names its body).
    private var cached: (etag: String, ok: HTTPFields, notModified: HTTPFields)?

    init(board: NoticeBoard, metrics: OriginMetrics, cacheControl: String) {
        self.board = board
        served = metrics.requestCounter(route: Self.route, status: 200)
        notModified = metrics.requestCounter(route: Self.route, status: 304)
        self.cacheControl = cacheControl
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            // While the socket cannot take more, requests go to the router, whose writer waits
            // and stops reading: a client that pipelines and never reads cannot queue answers here.
            if forwarded == 0, context.channel.isWritable, let notice = eligible(request) {
                answering = true
                answer(request, notice)
            } else {
                forwarded += 1
                context.fireChannelRead(data)
            }
        case .body:
            if !answering { context.fireChannelRead(data) }
        case .end:
            guard answering else { return context.fireChannelRead(data) }
            answering = false
            if let head = pending { context.write(wrapOutboundOut(head), promise: nil) }
            if let body = pendingBody { context.write(wrapOutboundOut(.body(body)), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            pending = nil
            pendingBody = nil
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { forwarded = max(0, forwarded - 1) }
        context.write(data, promise: promise)
    }

    private func eligible(_ request: HTTPRequest) -> StoredNotice? {
        guard request.method == .get, let path = request.path, !path.contains("?"),
              request.headerFields[.connection]?.lowercased() != "close"
        else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0].isEmpty, parts[1] == "v1", parts[2] == "apps", parts[4] == "channels", parts[6] == "latest"
        else { return nil }
        let app = String(parts[3])
        let channel = String(parts[5])
        guard Identifier.problem(app) == nil, Identifier.problem(channel) == nil else { return nil }
        return board.latest(app: app, channel: channel)
    }

    private func fields(for notice: StoredNotice) -> (ok: HTTPFields, notModified: HTTPFields) {
        if let cached, cached.etag == notice.etag { return (cached.ok, cached.notModified) }
        var notModified = HTTPFields()
        notModified[.eTag] = notice.etag
        notModified[.cacheControl] = cacheControl
        var ok = notModified
        notModified[.contentLength] = "0"
        ok[.contentType] = "text/plain; charset=utf-8"
        ok[.contentLength] = String(notice.buffer.readableBytes)
        cached = (notice.etag, ok, notModified)
        return (ok, notModified)
    }

    private func answer(_ request: HTTPRequest, _ notice: StoredNotice) {
        var (ok, notModified) = fields(for: notice)
        if let match = request.headerFields[.ifNoneMatch], notice.isMatched(byIfNoneMatch: match) {
            notModified[.date] = date.now()
            pending = .head(HTTPResponse(status: .notModified, headerFields: notModified))
            self.notModified.increment()
            return
        }
        ok[.date] = date.now()
        pending = .head(HTTPResponse(status: .ok, headerFields: ok))
        pendingBody = notice.buffer
        served.increment()
    }
}

/// The `Date` header's text, formatted at most once a second.
struct HTTPDate {
    private var second = 0
    private var text = ""

    mutating func now() -> String {
        let t = Int(Date().timeIntervalSince1970)
        if t != second {
            second = t
            var time = time_t(t)
            var parts = tm()
            gmtime_r(&time, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }
}
