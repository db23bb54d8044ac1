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
/// - While bytes wait in NIO to be written, the client is judged by whether it takes them:
///   one that took none of them for `idleTimeout` (seen within twice that) is closed,
///   whatever it still has to answer (a client that pipelines and never reads), and one
///   that takes them, however slowly, is not cut by the rules below.
/// - Otherwise a connection with nothing to answer, or with a request still coming in, is
///   closed once `idleTimeout` has passed with nothing read and no answer ended (or its
///   bytes taken). A request being answered (a long-poll) is bounded by its own wait.
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
    /// Bytes waiting in NIO to be written (a parameter so that tests can say).
    private let waitingBytes: (ChannelHandlerContext) -> Int?
    private let presence = ClientPresence()
    /// The last request part read, or the last answer ended: the idle clock's start.
    private var lastActive = NIODeadline.uptimeNanoseconds(0)
    /// Request heads read whose answers have not ended.
    private var answering = 0
    /// A request's head has come and its end not yet.
    private var reading = false
    private var inputClosed = false
    private var outputClosedAt: NIODeadline?
    /// Since when the client has taken nothing of the bytes waiting, and how many waited at the last look.
    private var stalled: (since: NIODeadline, buffered: Int)?
    /// Answers to a half-closed client whose end's bytes (and all before them) have not
    /// reached the kernel yet. Only counted after the half-close: a promise per answer cost
    /// the fast path about 5% of its requests per second.
    private var unwritten = 0
    /// Closes held until every answer due is out.
    private var held: [() -> Void] = []
    private var drainCheck: Scheduled<Void>?
    private var check: Scheduled<Void>?

    init(idleTimeout: TimeAmount, waitingBytes: @escaping (ChannelHandlerContext) -> Int? = ConnectionGuard.buffered) {
        self.idleTimeout = idleTimeout
        self.waitingBytes = waitingBytes
    }

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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let closed = event as? ChannelEvent, closed == .inputClosed else { return context.fireUserInboundEventTriggered(event) }
        inputClosed = true
        presence.leave()
        context.fireUserInboundEventTriggered(event)
        if answering == 0 { whenDrained(context) { context.close(promise: nil) } }
    }

    /// Runs `action` (a close) once every answer due is out: the ones counted since the
    /// half-close, and the bytes NIO still held from before it (looked at again every 50 ms;
    /// a client that takes none of them is cut by the waiting-bytes rule).
    private func whenDrained(_ context: ChannelHandlerContext, _ action: @escaping () -> Void) {
        held.append(action)
        releaseHeld(context)
    }

    private func releaseHeld(_ context: ChannelHandlerContext) {
        guard !held.isEmpty, unwritten == 0 else { return }
        guard (waitingBytes(context) ?? 0) == 0 else {
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

    static func buffered(_ context: ChannelHandlerContext) -> Int? {
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
        let buffered = waitingBytes(context) ?? 0
        if buffered > 0 {
            // Fewer bytes waiting than at the last look: the client takes them, however slowly.
            let since = stalled.map { buffered < $0.buffered ? now : $0.since } ?? now
            stalled = (since, buffered)
            return rule(since) ? nil : next
        }
        if stalled != nil {
            // All taken: the idle and closed-side clocks start now, not at the answer's end.
            stalled = nil
            lastActive = max(lastActive, now)
            outputClosedAt = outputClosedAt.map { max($0, now) }
        }
        if let closedAt = outputClosedAt, rule(closedAt) { return nil }
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
