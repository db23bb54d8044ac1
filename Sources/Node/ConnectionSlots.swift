import NIOCore
import Synchronization

/// How many connections a local server (the admin API, the content server) may hold at
/// once: in all, and from one address.
///
/// Every connection holds a descriptor and a few buffers, and the idle time-out frees one
/// only after a minute, so without a cap anyone who can reach the port (every local user;
/// everyone on the network when a server is bound off loopback, token or not, since the
/// token is read only once a request comes) could open connections until the process runs
/// out of descriptors or memory, and with them the transfer and gossip sockets it needs;
/// and with only a total, one remote host could hold every connection and shut out the
/// apps and pages on the machine itself.
/// A connection over a cap is closed as it arrives, before anything is read from it: a
/// refusal costs an accept and a pipeline set up and torn down.
///
/// The per-address cap keeps one remote host from taking the whole of it (an IPv6 host is
/// counted by its /64, which a single host commonly holds); it does not apply to
/// loopback, where every local program shares one address. Connections from off loopback
/// leave an eighth of the total free for loopback, so that however many remote hosts fill
/// their part, the operator's commands on the machine itself still get in. The total is
/// above the 256 status event streams, so that a fleet page's streams leave room for
/// commands.
final class ConnectionSlots: Sendable {
    let total: Int
    let perAddress: Int
    /// The most connections from off loopback: the total less the loopback reserve.
    let remoteTotal: Int
    private let state = Mutex(State())

    private struct State {
        var open = 0
        var remote = 0
        var byAddress: [String: Int] = [:]
    }

    static let defaultTotal = 1024
    static let defaultPerAddress = 64

    init(total: Int = defaultTotal, perAddress: Int = defaultPerAddress) {
        precondition(total > 0 && perAddress > 0, "connection caps must be positive")
        self.total = total
        self.perAddress = perAddress
        // With a total of 1 there is nothing to reserve: the one connection is anyone's.
        remoteTotal = max(1, total - max(1, total / 8))
    }

    /// Takes a slot for a connection from `address` (nil: unknown, counted in the total
    /// only). Returns the key to give back to ``release(_:)``, or nil when a cap is reached.
    func take(from address: SocketAddress?) -> Slot? {
        let key = address.flatMap(Self.key(of:))
        return state.withLock { s -> Slot? in
            guard s.open < total else { return nil }
            if let key {
                let held = s.byAddress[key, default: 0]
                guard held < perAddress, s.remote < remoteTotal else { return nil }
                s.byAddress[key] = held + 1
                s.remote += 1
            }
            s.open += 1
            return Slot(address: key)
        }
    }

    func release(_ slot: Slot) {
        state.withLock { s in
            s.open -= 1
            guard let key = slot.address, let held = s.byAddress[key] else { return }
            s.remote -= 1
            s.byAddress[key] = held > 1 ? held - 1 : nil
        }
    }

    /// Connections open now (for tests).
    var open: Int { state.withLock { $0.open } }

    struct Slot: Sendable {
        /// The address counted against the per-address cap, if any.
        let address: String?
    }

    /// The address a connection is counted under (``ClientAddressKey``); nil on loopback
    /// (only the total counts there) or for a socket with no IP (a Unix socket).
    static func key(of address: SocketAddress) -> String? {
        ClientAddressKey(address).flatMap { $0.isLoopback ? nil : $0.text }
    }
}
