import NIOCore
import NIOHTTPTypes
import Synchronization

/// How many admin API connections may be open at once: in all, and from one address.
///
/// Every connection holds a descriptor and a few buffers, and the idle time-out frees one
/// only after a minute, so without a cap anyone who can reach the port (every local user;
/// everyone on the network when the API is bound off loopback, token or not, since the
/// token is read only once a request comes) could open connections until the process runs
/// out of descriptors or memory, and with them the transfer and gossip sockets it needs.
/// A connection over either cap is closed as it arrives, so the node's cost per refusal is
/// one accept and one close. The per-address cap keeps one remote host from taking the
/// whole of it; it does not apply to loopback, where every local program shares one
/// address and only the total is bounded. Above the 256 status event streams, so that a
/// fleet page's streams leave room for commands.
final class AdminConnectionSlots: Sendable {
    let total: Int
    let perAddress: Int
    private let state = Mutex(State())

    private struct State {
        var open = 0
        var byAddress: [String: Int] = [:]
    }

    static let defaultTotal = 1024
    static let defaultPerAddress = 64

    init(total: Int = defaultTotal, perAddress: Int = defaultPerAddress) {
        precondition(total > 0 && perAddress > 0, "connection caps must be positive")
        self.total = total
        self.perAddress = perAddress
    }

    /// Takes a slot for a connection from `address` (nil: unknown, counted in the total
    /// only). Returns the key to give back to ``release(_:)``, or nil when a cap is reached.
    func take(from address: SocketAddress?) -> Slot? {
        let key = address.flatMap(Self.key(of:))
        return state.withLock { s -> Slot? in
            guard s.open < total else { return nil }
            if let key {
                let held = s.byAddress[key, default: 0]
                guard held < perAddress else { return nil }
                s.byAddress[key] = held + 1
            }
            s.open += 1
            return Slot(address: key)
        }
    }

    func release(_ slot: Slot) {
        state.withLock { s in
            s.open -= 1
            guard let key = slot.address, let held = s.byAddress[key] else { return }
            s.byAddress[key] = held > 1 ? held - 1 : nil
        }
    }

    /// Connections open now (for tests).
    var open: Int { state.withLock { $0.open } }

    struct Slot: Sendable {
        /// The address counted against the per-address cap, if any.
        let address: String?
    }

    /// The address a connection is counted under: its IP without the port; nil on loopback
    /// (only the total counts there) or for a socket with no IP (a Unix socket).
    static func key(of address: SocketAddress) -> String? {
        switch address {
        case .v4(let a):
            // 127.0.0.0/8
            return (UInt32(bigEndian: a.address.sin_addr.s_addr) >> 24) == 127 ? nil : address.ipAddress
        case .v6:
            guard let ip = address.ipAddress?.lowercased() else { return nil }
            if ip == "::1" { return nil }
            // An IPv4 client of a dual-stack socket (::ffff:a.b.c.d): counted as that IPv4 address.
            if ip.hasPrefix("::ffff:"), ip.contains(".") {
                let v4 = String(ip.dropFirst("::ffff:".count))
                return v4.hasPrefix("127.") ? nil : v4
            }
            return ip
        case .unixDomainSocket:
            return nil
        }
    }
}

/// Holds one of ``AdminConnectionSlots``' slots for as long as its connection is open, and
/// closes a connection that gets none. Sits after the HTTP codec (where Hummingbird puts its
/// extra handlers) and passes every part through.
final class AdminConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let slots: AdminConnectionSlots
    private var slot: AdminConnectionSlots.Slot?
    private var decided = false

    init(slots: AdminConnectionSlots) {
        self.slots = slots
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
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

    private func admit(_ context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        slot = slots.take(from: context.channel.remoteAddress)
        if slot == nil { context.close(promise: nil) }
    }

    private func giveBack() {
        if let slot { slots.release(slot) }
        slot = nil
    }
}
