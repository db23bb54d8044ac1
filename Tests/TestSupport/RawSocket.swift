import Foundation

/// Sends one UDP datagram to a loopback port, as a stranger on the network would.
public func sendDatagram(_ packet: [UInt8], toPort port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var address = loopback(port)
    _ = packet.withUnsafeBytes { bytes in
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

/// A raw TCP connection to a loopback port, reads timing out after `timeout` seconds.
public final class RawConnection {
    public let fd: Int32

    /// - Parameters:
    ///   - receiveBuffer: a small one makes a peer that does not read push back at once.
    ///   - sendTimeout: how long a write may block on a peer that stopped reading.
    public init?(port: Int, timeout: Int = 3, receiveBuffer: Int32? = nil, sendTimeout: Int? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        if let sendTimeout {
            var tv = timeval(tv_sec: sendTimeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = loopback(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); return nil }
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) } }

    /// Writes as much of `bytes` as the peer takes before the send time-out; how much that was.
    public func sendSome(_ bytes: [UInt8]) -> Int {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            done += n
        }
        return done
    }

    /// One byte; nil if the peer closed the connection (or reset it). A read time-out counts as open.
    public func readOneByte() -> UInt8? {
        var byte: UInt8 = 0
        let n = read(fd, &byte, 1)
        if n == 1 { return byte }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : nil
    }

    /// Reads and drops whatever has arrived, without waiting.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 {}
    }

    /// Exactly `count` bytes, or nil if the connection closed or the read timed out first.
    public func readExactly(_ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = read(fd, &buffer, count - out.count)
            guard n > 0 else { return nil }
            out += buffer.prefix(n)
        }
        return out
    }

    /// Everything the peer sent until it closed the connection; nil if it had not closed it by
    /// the read time-out.
    public func readUntilClosed() -> [UInt8]? {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { all += buffer.prefix(n); continue }
            return n == 0 || errno == ECONNRESET ? all : nil
        }
    }

    /// Whether the peer closed the connection (read returned 0 or the connection was reset)
    /// before the read timed out, skipping whatever it sent first.
    public func closedByPeer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { continue }
            return n == 0 || errno == ECONNRESET
        }
    }
}

private func loopback(_ port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}
