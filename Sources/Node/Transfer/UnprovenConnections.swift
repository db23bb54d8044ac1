import NIOCore

/// Accepted transfer connections whose peer has not proven its id yet.
///
/// Anyone who can reach the port can open one, for the price of a TCP handshake, while a
/// node's slots for proven peers are few (``TransferNode/Settings/maxConnections``). So
/// until its proof verifies, a connection holds one of at most ``maxTotal`` slots, at most
/// ``maxPerAddress`` of them from one host (``ClientAddressKey``: an IPv6 one by its /64),
/// buffers no frame larger than a hello or a proof (``TransferFrame/Stage``), and is closed
/// if the handshake takes longer than ``deadline``. Honest handshakes take milliseconds; a
/// fleet dialling a node at once on loopback stays well under the per-address bound.
struct UnprovenConnections {
    static let maxTotal = 128
    static let maxPerAddress = 32
    static let deadline = TimeAmount.seconds(5)

    private(set) var total = 0
    private var byAddress: [String: Int] = [:]

    /// Takes a slot for a connection from `address`; false when none is free.
    mutating func admit(_ address: String) -> Bool {
        let held = byAddress[address, default: 0]
        guard total < Self.maxTotal, held < Self.maxPerAddress else { return false }
        total += 1
        byAddress[address] = held + 1
        return true
    }

    /// Gives back a slot taken by ``admit(_:)`` (once per slot).
    mutating func release(_ address: String) {
        guard let held = byAddress[address] else { return }
        total -= 1
        byAddress[address] = held > 1 ? held - 1 : nil
    }
}
