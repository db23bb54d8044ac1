import Foundation

/// A blocking loopback TCP connection for sending raw, pipelined HTTP/1.1.
final class RawHTTPConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw OriginTestError("cannot connect to port \(port)") }
    }

    deinit { close(fd) }

    /// Hangs up as a client that leaves does: a FIN, with nothing more read or sent.
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Says it sends nothing more (a FIN) and goes on reading.
    func halfClose() { shutdown(fd, Int32(SHUT_WR)) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return }
            done += n
        }
    }

    /// Reads until `count` complete responses (by Content-Length) have arrived or the deadline passes.
    func readResponses(_ count: Int) throws -> [(status: Int, headers: [String: String], body: String)] {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let parsed = Self.parse(data), parsed.count >= count { return Array(parsed.prefix(count)) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { throw OriginTestError("connection ended or timed out after \(data.count) bytes: \(String(decoding: data, as: UTF8.self))") }
            data += buffer[0..<n]
        }
    }

    /// Everything until the origin closes the connection (send `Connection: close`), as text.
    func readUntilClosed() throws -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { return String(decoding: data, as: UTF8.self) }
            if n < 0 { throw OriginTestError("no close within the time-out after \(data.count) bytes: \(String(decoding: data, as: UTF8.self))") }
            data += buffer[0..<n]
        }
    }

    private static func parse(_ data: [UInt8]) -> [(status: Int, headers: [String: String], body: String)]? {
        var responses: [(Int, [String: String], String)] = []
        var rest = data[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let range = rest.firstRange(of: separator) {
            let head = String(decoding: rest[rest.startIndex..<range.lowerBound], as: UTF8.self)
            let lines = head.components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = range.upperBound
            guard rest.distance(from: bodyStart, to: rest.endIndex) >= length else { break }
            let bodyEnd = rest.index(bodyStart, offsetBy: length)
            responses.append((status, headers, String(decoding: rest[bodyStart..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return responses
    }
}
