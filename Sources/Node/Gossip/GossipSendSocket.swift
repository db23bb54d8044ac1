#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Synchronization

/// The gossip UDP socket, opened and bound here: NIO reads datagrams from a duplicate of
/// its descriptor, and datagrams go out by `sendto` on this one, so a send that fails
/// fails alone.
///
/// Rule: no datagram is written through the NIO channel. NIO closes a datagram channel on
/// any send error but `EMSGSIZE` and `EHOSTUNREACH`, and the kernel refuses a send for
/// reasons a stranger chooses: port 0 (`EINVAL`), a broadcast address (`EACCES`), no route
/// (`ENETUNREACH`), the other address family (`EAFNOSUPPORT`). Written through NIO, one
/// ping-req or rumour naming such an address left the node deaf to gossip for good.
/// Here the datagram is dropped and counted, as a datagram lost on the way would be.
final class GossipSendSocket: Sendable {
    /// Nil once closed: a send after ``close()`` never reaches a descriptor number that the
    /// process may have reused for something else.
    private let descriptor: Mutex<CInt?>

    /// Opens a UDP socket bound to `address` (port 0 picks one) and returns it with a
    /// duplicate descriptor for NIO to read from (NIO closes that one with its channel).
    static func open(_ address: SocketAddress) throws -> (socket: GossipSendSocket, readDescriptor: CInt) {
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        default: throw GossipSocketError(call: "socket", errno: EAFNOSUPPORT)
        }
        #if canImport(Glibc)
        let fd = socket(family, CInt(SOCK_DGRAM.rawValue), 0)
        #else
        let fd = socket(family, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw GossipSocketError(call: "socket", errno: errno) }
        do {
            try check("fcntl", fcntl(fd, F_SETFD, FD_CLOEXEC))
            try check("fcntl", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
            var one: CInt = 1
            try check("setsockopt", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)))
            try check("bind", address.withSockAddr { bind(fd, $0, socklen_t($1)) })
            let reader = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            try check("fcntl", reader)
            return (GossipSendSocket(fd), reader)
        } catch {
            _ = closeDescriptor(fd)
            throw error
        }
    }

    private init(_ fd: CInt) { descriptor = Mutex(fd) }

    /// Sends one datagram; false when it was not sent (refused by the kernel, or the send
    /// buffer full): the caller counts it and goes on.
    func send(_ bytes: [UInt8], to address: SocketAddress) -> Bool {
        descriptor.withLock { fd -> Bool in
            guard let fd else { return false }
            let sent = bytes.withUnsafeBytes { buffer in
                address.withSockAddr { sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t($1)) }
            }
            return sent == bytes.count
        }
    }

    /// Closes the sending descriptor (the reading one goes with NIO's channel).
    func close() {
        descriptor.withLock { fd in
            if let open = fd { _ = closeDescriptor(open) }
            fd = nil
        }
    }

    deinit { close() }

    private static func check(_ call: String, _ result: CInt) throws {
        if result < 0 { throw GossipSocketError(call: call, errno: errno) }
    }
}

struct GossipSocketError: Error, CustomStringConvertible {
    let call: String
    let errno: CInt
    var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// `close(2)`, named apart from ``GossipSendSocket/close()``.
private func closeDescriptor(_ fd: CInt) -> CInt {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
