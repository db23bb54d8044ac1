import NIOCore

/// The address a client is counted under by a per-address limit.
///
/// An IPv4 address as itself (and an IPv4 client of a dual-stack socket, `::ffff:a.b.c.d`,
/// as that address); an IPv6 address by its first 64 bits (`2001:db8:0:1::/64`), since one
/// host commonly holds a whole /64 and, counted by /128, could take any per-address limit
/// alone.
struct ClientAddressKey: Hashable, Sendable {
    let text: String
    /// 127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`: a program on this machine.
    let isLoopback: Bool
}

extension ClientAddressKey {
    /// nil for a socket with no IP address (a Unix socket).
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let a):
            self.init(v4: UInt32(bigEndian: a.address.sin_addr.s_addr))
        case .v6(let a):
            let b = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            guard b.count == 16 else { return nil }
            if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff {
                self.init(v4: b[12...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                return
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
            self.init(text: groups.joined(separator: ":") + "::/64", isLoopback: b[0..<15].allSatisfy { $0 == 0 } && b[15] == 1)
        case .unixDomainSocket:
            return nil
        }
    }

    private init(v4 address: UInt32) {
        self.init(text: [24, 16, 8, 0].map { String((address >> UInt32($0)) & 0xff) }.joined(separator: "."), isLoopback: address >> 24 == 127)
    }
}
