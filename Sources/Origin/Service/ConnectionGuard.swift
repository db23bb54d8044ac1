import NIOCore
import NIOHTTPTypes

/// Closes an origin connection its client has left, let go idle or stopped reading, so
/// that none holds one of the origin's descriptors for nothing.
///
/// - A client that closed its side (a FIN) is taken as leaving, as nginx takes it: its
///   long-polls end at once (``ClientPresence``), the answers already due are still
///   written in full (a client may half-close after sending), and the connection closes
///   after the last. Without this a client could open a 60 s long-poll and hang up, many
///   times a second, and hold a descriptor for each.
/// - A connection with nothing to answer, or with a request still coming in, is closed
///   once nothing has been read for `idleTimeout`. A request being answered (a long-poll)
///   is bounded by its own wait instead.
/// - A connection whose socket took no bytes of what waits to be written for
///   `idleTimeout` (a client that pipelines and never reads) is closed, whatever it
///   still has to answer.
/// - Once the server closed its side (after `Connection: close`), requests pipelined
///   after it are never answered: the connection closes `idleTimeout` later, reads or not.
///
/// Time is the event loop's (`now`), so tests can move it. It sits first after the HTTP
/// codec, so it sees the fast path's answers too.
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
    private var outputClosedAt: NIODeadline?
    /// Since when the socket has taken nothing of what waits, and how much waited then.
    private var stalled: (since: NIODeadline, buffered: Int)?
    /// Answers to a half-closed client whose end's bytes (and all before them) have not
    /// reached the kernel yet. Only counted after the half-close: a promise per answer cost
    /// the fast path about 5% of its requests per second.
    private var unwritten = 0
    /// Closes held until every answer due is out.
    private var held: [() -> Void] = []
    private var drainCheck: Scheduled<Void>?
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
        guard inputClosed else { return context.write(data, promise: promise) }
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        unwritten += 1
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            unwritten -= 1
            releaseHeld(context)
        }
        context.write(data, promise: written)
        if answering == 0 { whenDrained(context) { context.close(promise: nil) } }
    }

    /// A close while answers to a client that half-closed are still going out waits for
    /// them (a full close would drop them).
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output, outputClosedAt == nil {
            outputClosedAt = context.eventLoop.now
            answering = 0
        }
        guard inputClosed else { return context.close(mode: mode, promise: promise) }
        whenDrained(context) { context.close(mode: mode, promise: promise) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalled = nil
        } else if stalled == nil {
            stalled = (context.eventLoop.now, Self.buffered(context) ?? 0)
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            presence.leave()
            if answering == 0 { whenDrained(context) { context.close(promise: nil) } }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Runs `action` (a close) once every answer due is out: the ones counted since the
    /// half-close, and the bytes NIO still held from before it (looked at again every 50 ms;
    /// a client that reads none of them is cut by the stalled-socket rule).
    private func whenDrained(_ context: ChannelHandlerContext, _ action: @escaping () -> Void) {
        held.append(action)
        releaseHeld(context)
    }

    private func releaseHeld(_ context: ChannelHandlerContext) {
        guard !held.isEmpty, unwritten == 0 else { return }
        guard (Self.buffered(context) ?? 0) == 0 else {
            if drainCheck == nil {
                drainCheck = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(50)) { [self] in
                    drainCheck = nil
                    releaseHeld(context)
                }
            }
            return
        }
        let actions = held
        held = []
        for action in actions { action() }
    }

    private static func buffered(_ context: ChannelHandlerContext) -> Int? {
        try? context.channel.syncOptions?.getOption(ChannelOptions.Types.BufferedWritableBytesOption())
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
        drainCheck?.cancel()
        drainCheck = nil
        // Closes held for answers that can no longer go out: run now, so their promises end.
        let actions = held
        held = []
        for action in actions { action() }
        presence.leave()
        ClientPresence.unregister(context.channel)
    }

    /// The next moment a rule could close the connection, or nil when one closes it now.
    private func due(_ context: ChannelHandlerContext) -> NIODeadline? {
        let now = context.eventLoop.now
        var next = now + idleTimeout
        func rule(_ start: NIODeadline) -> Bool {
            if now >= start + idleTimeout { return true }
            next = min(next, start + idleTimeout)
            return false
        }
        if let closedAt = outputClosedAt, rule(closedAt) { return nil }
        if var waiting = stalled {
            // Bytes taken since the last look: the client reads, however slowly.
            if let held = Self.buffered(context), held < waiting.buffered { waiting = (now, held) }
            stalled = waiting
            if rule(waiting.since) { return nil }
        }
        if answering == 0 || reading, rule(lastActive) { return nil }
        return next
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        check?.cancel()
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            if let next = due(context) {
                schedule(context, at: next)
            } else {
                context.close(promise: nil)
            }
        }
    }
}
