import NIOCore
import NIOHTTPTypes

/// Closes an origin connection its client has left, let go idle or stopped reading, so
/// that none holds one of the origin's descriptors for nothing.
///
/// - A client that closed its side (a FIN) is taken as leaving, as nginx takes it: its
///   long-polls end at once (``ClientPresence``), the answers already due are still
///   written (a client may half-close after sending), and the connection closes after
///   the last. Without this a client could open a 60 s long-poll and hang up, many times
///   a second, and hold a descriptor for each.
/// - A connection with nothing to answer, or with a request still coming in, is closed
///   once nothing has been read for `idleTimeout`. A request being answered (a long-poll)
///   is bounded by its own wait instead.
/// - A connection whose socket has taken no writes for `idleTimeout` (a client that
///   pipelines and never reads) is closed, whatever it still has to answer.
///
/// Time is the event loop's (`now`), so tests can move it. It sits first after the HTTP codec, so it sees the fast path's answers too. Every
/// request head gets exactly one answer's end, from the fast path or the router.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let idleTimeout: TimeAmount
    private let presence = ClientPresence()
    /// The last request part read, or the last answer ended: the idle clock's start.
    private var lastActive = NIODeadline.uptimeNanoseconds(0)
    /// Request heads read whose answers have not ended.
    private var answering = 0
    /// A request's head has come and its end not yet.
    private var reading = false
    private var inputClosed = false
    private var unwritableSince: NIODeadline?
    private var check: Scheduled<Void>?

    init(idleTimeout: TimeAmount) { self.idleTimeout = idleTimeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { started(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        started(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopped(context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopped(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = context.eventLoop.now
        switch unwrapInboundIn(data) {
        case .head:
            answering += 1
            reading = true
        case .body:
            break
        case .end:
            reading = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        answering = max(0, answering - 1)
        lastActive = context.eventLoop.now
        guard inputClosed, answering == 0 else { return context.write(data, promise: promise) }
        // The client closed its side and this was the last answer due: close once it is out.
        let written = context.eventLoop.makePromise(of: Void.self)
        let channel = context.channel
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        if let promise { written.futureResult.cascade(to: promise) }
        context.write(data, promise: written)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        unwritableSince = context.channel.isWritable ? nil : (unwritableSince ?? context.eventLoop.now)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            presence.leave()
            if answering == 0 { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func started(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        ClientPresence.register(presence, for: context.channel)
        lastActive = context.eventLoop.now
        schedule(context, at: lastActive + idleTimeout)
    }

    private func stopped(_ context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        presence.leave()
        ClientPresence.unregister(context.channel)
    }

    /// The next moment a rule could close the connection, or nil when one closes it now.
    private func due(_ now: NIODeadline) -> NIODeadline? {
        var next = now + idleTimeout
        if let since = unwritableSince {
            if now >= since + idleTimeout { return nil }
            next = min(next, since + idleTimeout)
        }
        if answering == 0 || reading {
            if now >= lastActive + idleTimeout { return nil }
            next = min(next, lastActive + idleTimeout)
        }
        return next
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        check?.cancel()
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            if let next = due(context.eventLoop.now) {
                schedule(context, at: next)
            } else {
                context.close(promise: nil)
            }
        }
    }
}
