#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a host name into the IP literal gossip uses (members are told apart by address), once,
/// at start. An IP literal is returned as it is; IPv4 is preferred when a name has both.
enum HostResolver {
    static func ipLiteral(_ host: String) throws -> String {
        if isLiteral(host) { return host }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw Failure("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var found: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let e = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = e.pointee.ai_addr,
               getnameinfo(address, e.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                if e.pointee.ai_family == AF_INET { found.insert(text, at: 0) } else { found.append(text) }
            }
            entry = e.pointee.ai_next
        }
        guard let literal = found.first else { throw Failure("cannot resolve \(host): no address") }
        return literal
    }

    static func isLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
