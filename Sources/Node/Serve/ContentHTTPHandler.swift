import Foundation
import NIOCore
import NIOHTTP1

/// Sends what ``ContentRouter`` answers on one connection: files as zero-copy regions of
/// the installed tree, event streams through ``InstallEventHub``.
///
/// A file is opened without following a final symlink and its size checked against the
/// manifest before the head goes out, so a file cut short or grown on disk gives a 500
/// (the tree's bytes were checked at install; nothing re-hashes them here). Request bodies are not read (every route is GET or HEAD).
final class ContentHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: ContentRouter
    private var request: HTTPRequestHead?
    /// The event stream this connection carries, if any.
    private var subscription: UInt64?
    /// An answer is being written (a large file to a slow client may take minutes).
    private var responding = false
    /// The deadline of the answers being written, cancelled when the last is done or the
    /// connection closes; `deadlineAt` is when it fires.
    private(set) var deadline: Scheduled<Void>?
    private var deadlineAt: NIODeadline?
    /// Answers begun on this connection: a pipelined request's answer can begin before
    /// the previous one's write completes, which must then leave the new one's state alone.
    private var answers = 0
    /// The deadline for the next whole request, while the connection waits for one.
    private var nextRequest: Scheduled<Void>?

    /// How long a connection may take to send a whole request once it waits for one
    /// (accepted, or its last answer written), counted from then and not from its last
    /// byte: a client that drips a header a byte at a time would otherwise hold one of
    /// ``ContentServer/maxConnections`` for as long as it likes.
    static let requestWait = TimeAmount.seconds(30)

    /// The slowest reader an answer waits for: a client that takes less than this (after a
    /// minute's grace) is cut, so connections that never read cannot be held for ever.
    static let slowestReader: UInt64 = 64 << 10

    init(router: ContentRouter) {
        self.router = router
    }

    func channelActive(context: ChannelHandlerContext) {
        awaitRequest(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            nextRequest?.cancel()
            nextRequest = nil
            answers += 1
            respond(router.answer(head), keepAlive: head.isKeepAlive, version: head.version, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let subscription { router.releases.events.unsubscribe(subscription) }
        subscription = nil
        nextRequest?.cancel()
        nextRequest = nil
        // A scheduled task holds the channel and this handler until it fires.
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// Nothing read for a while: closed, unless an answer or an event stream is under way
    /// (neither needs the client to send anything).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !responding && subscription == nil { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(_ answer: ContentAnswer, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        responding = true
        var answer = answer
        switch answer.body {
        case .file(let path, let offset, let length, let size):
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                let why = String(cString: strerror(errno))
                var failed = ContentAnswer.text(.internalServerError, "cannot open the installed file: \(why)")
                failed.headOnly = answer.headOnly
                return respond(failed, keepAlive: keepAlive, version: version, context: context)
            }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, UInt64(clamping: st.st_size) == size else {
                close(fd)
                var failed = ContentAnswer.text(.internalServerError, "the installed file is not the size its manifest signs")
                failed.headOnly = answer.headOnly
                return respond(failed, keepAlive: keepAlive, version: version, context: context)
            }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            setDeadline(for: answer.headOnly ? 0 : length, context: context)
            writeHead(answer, keepAlive: keepAlive, version: version, context: context)
            if !answer.headOnly, length > 0, let start = Int(exactly: offset), let end = Int(exactly: offset + length) {
                let region = FileRegion(fileHandle: handle, readerIndex: start, endIndex: end)
                context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
            }
            finish(keepAlive: keepAlive, context: context) { try? handle.close() }
        case .events(let app):
            answer.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
            guard !answer.headOnly else {
                setDeadline(for: 0, context: context)
                writeHead(answer, keepAlive: keepAlive, version: version, context: context)
                return finish(keepAlive: keepAlive, context: context)
            }
            let channel = context.channel
            let id = router.releases.events.subscribe(app: app) { bytes in
                guard channel.isActive else { return false }
                guard channel.isWritable else {
                    channel.close(promise: nil)
                    return false
                }
                channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(bytes)), promise: nil)
                return true
            }
            guard let id else {
                return respond(.text(.serviceUnavailable, "too many event streams on this node", headers: [("Retry-After", "10")]),
                               keepAlive: false, version: version, context: context)
            }
            subscription = id
            // A stream has no end to wait for: an earlier answer's deadline must not cut it
            // (a reader that stops is closed when its socket stops taking writes).
            deadline?.cancel()
            deadline = nil
            writeHead(answer, keepAlive: true, version: version, context: context)
            let opening = InstallEventHub.opening(router.releases.current(app: app))
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: opening)))), promise: nil)
        case .text(let text):
            setDeadline(for: UInt64(text.utf8.count), context: context)
            writeHead(answer, keepAlive: keepAlive, version: version, context: context)
            if !answer.headOnly { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil) }
            finish(keepAlive: keepAlive, context: context)
        case .none:
            setDeadline(for: 0, context: context)
            writeHead(answer, keepAlive: keepAlive, version: version, context: context)
            finish(keepAlive: keepAlive, context: context)
        }
    }

    /// Closes the connection if this answer is still being written after a minute plus its
    /// length at ``slowestReader`` (cancelled when the answer is done): a client that asks and
    /// never reads (pipelined small answers fill its socket too) cannot hold a connection.
    /// A pipelined answer waits behind the ones before it: it may move the deadline later,
    /// never sooner.
    private func setDeadline(for length: UInt64, context: ChannelHandlerContext) {
        let seconds = 60 + Int64(clamping: length / Self.slowestReader)
        let at = context.eventLoop.now + .seconds(seconds)
        if deadline != nil, let current = deadlineAt, current >= at { return }
        let channel = context.channel
        deadline?.cancel()
        deadlineAt = at
        deadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) {
            channel.close(promise: nil)
        }
    }

    private func writeHead(_ answer: ContentAnswer, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: version, status: answer.status, headers: answer.headers)
        head.headers.replaceOrAdd(name: "Server", value: "bundlecast")
        if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func finish(keepAlive: Bool, context: ChannelHandlerContext, then cleanup: (@Sendable () -> Void)? = nil) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        let answer = answers
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        let channel = context.channel
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            cleanup?()
            if !keepAlive {
                deadline?.cancel()
                deadline = nil
                return channel.close(promise: nil)
            }
            // A later answer (pipelined) began meanwhile: its deadline and flag are its own.
            guard answer == answers else { return }
            responding = false
            deadline?.cancel()
            deadline = nil
            awaitRequest(context: context)
        }
    }

    /// Closes the connection unless a whole request comes within ``requestWait``.
    private func awaitRequest(context: ChannelHandlerContext) {
        let channel = context.channel
        guard channel.isActive else { return }
        nextRequest?.cancel()
        nextRequest = context.eventLoop.assumeIsolated().scheduleTask(in: Self.requestWait) {
            channel.close(promise: nil)
        }
    }
}
