import NIOCore
import NIOHTTPTypes

/// Holds one of ``ConnectionSlots``' slots for as long as its connection is open, and
/// closes a connection that gets none. Sits after the HTTP codec (where Hummingbird puts its
/// extra handlers) and passes every part through.
final class AdminConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let slots: ConnectionSlots
    private var slot: ConnectionSlots.Slot?
    private var decided = false

    init(slots: ConnectionSlots) {
        self.slots = slots
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive, !admit(context) { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A refused connection is started for the handlers after this one (Hummingbird's)
        // before it is closed: they will see it end, and a close fires that at once, so
        // closing first would show them its end before its start.
        let admitted = admit(context)
        context.fireChannelActive()
        if !admitted { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A connection refused is closing: nothing it sent is passed on.
        guard slot != nil else { return }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        giveBack()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        giveBack()
    }

    /// Takes a slot the first time it is called; whether the connection holds one (the
    /// caller closes it if not).
    private func admit(_ context: ChannelHandlerContext) -> Bool {
        if !decided {
            decided = true
            slot = slots.take(from: context.channel.remoteAddress)
        }
        return slot != nil
    }

    private func giveBack() {
        if let slot { slots.release(slot) }
        slot = nil
    }
}
