import NIOCore
import NIOHTTPTypes

/// Closes an origin connection its client has left or let go idle, so that neither
/// holds one of the origin's descriptors.
///
/// - A client that closed its side (a FIN) has gone, as nginx takes it: the connection
///   is closed at once, and a long-poll waiting on it ends (``OriginAPI`` races the wait
///   against the channel's close). Without this a client could open a 60 s long-poll and
///   hang up, many times a second, and hold a descriptor for each.
/// - A connection with no request being answered, or with a request whose head or body is
///   still coming in, is closed once nothing has been read for `idleTimeout`. A request
///   being answered (a long-poll) is bounded by its own wait instead.
///
/// It sits first after the HTTP codec, so it sees the fast path's answers too.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let idleTimeout: TimeAmount
    /// The last request part read, or the last answer ended: the idle clock's start.
    private var lastActive = NIODeadline.now()
    /// Requests read in full whose answers have not ended.
    private var answering = 0
    private var check: Scheduled<Void>?

    init(idleTimeout: TimeAmount) { self.idleTimeout = idleTimeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context, at: lastActive + idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActive = .now()
        schedule(context, at: lastActive + idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = .now()
        if case .end = unwrapInboundIn(data) { answering += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            answering = max(0, answering - 1)
            lastActive = .now()
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        check?.cancel()
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            let due = lastActive + idleTimeout
            if answering == 0, NIODeadline.now() >= due {
                context.close(promise: nil)
            } else {
                schedule(context, at: answering == 0 ? due : .now() + idleTimeout)
            }
        }
    }
}
