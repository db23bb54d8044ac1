import Foundation
import Node
import Testing
import TestSupport

/// The fleet page against real nodes: the page and its event stream as a browser asks
/// for them (with the admin token in the query), a status event when a member joins, and
/// a node with an open stream that still stops at once on SIGTERM.
@Suite(.serialized) struct FleetPageTests {
    static let token = "fleet-page-token-0123456789"

    /// One request with `Connection: close`: the status and the whole answer.
    func fetch(_ port: Int, _ head: String) throws -> (status: Int, text: String) {
        let connection = try #require(RawConnection(port: port, timeout: 10))
        connection.send(Array((head + "Connection: close\r\n\r\n").utf8))
        let text = String(decoding: try #require(connection.readUntilClosed()), as: UTF8.self)
        return (Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0, text)
    }

    @Test func thePageAndItsStreamFollowTheFleetAndEndAtSIGTERM() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/token", Self.token + "\n")
            let a = try NodeProcess(directory: dir, name: "a", extra: ["--admin-token", dir + "/token"])
            defer { a.kill9() }
            let port = a.adminPort
            let host = "Host: 127.0.0.1:\(port)\r\n"

            let page = try fetch(port, "GET /ui?token=\(Self.token) HTTP/1.1\r\n\(host)Sec-Fetch-Site: none\r\n")
            #expect(page.status == 200, "\(page.text.prefix(300))")
            #expect(page.text.lowercased().contains("content-type: text/html"))
            #expect(page.text.contains(#"id="member-count""#))
            #expect(try fetch(port, "GET /ui HTTP/1.1\r\n\(host)Sec-Fetch-Site: none\r\n").status == 401)
            #expect(try fetch(port, "GET /ui?token=\(Self.token) HTTP/1.1\r\n\(host)Sec-Fetch-Site: cross-site\r\n").status == 403)

            let stream = try #require(RawConnection(port: port, timeout: 20))
            stream.send(Array(("GET /v1/status/events?token=\(Self.token) HTTP/1.1\r\nHost: localhost:\(port)\r\n"
                + "Sec-Fetch-Site: same-origin\r\nAccept: text/event-stream\r\n\r\n").utf8))
            var events = EventReader(connection: stream)
            let next = events.next()
            let first = try #require(next, "the first event: \(events.text.prefix(500))")
            #expect(events.text.hasPrefix("HTTP/1.1 200"))
            #expect(events.text.lowercased().contains("content-type: text/event-stream"))
            #expect(events.text.contains("retry: 3000\n\n"))
            #expect(first.members.count == 1)
            #expect(first.`self`.address.hasSuffix(":\(a.gossipPort)"), "\(first.`self`.address)")

            // A member joins: an event says so.
            let b = try NodeProcess(directory: dir, name: "b", join: a.gossipPort)
            defer { b.kill9() }
            var joined = false
            while let status = events.next() {
                if status.members.filter({ $0.state == "alive" }).count == 2 { joined = true; break }
            }
            #expect(joined, "an event shows b: \(events.text.suffix(300))")

            // SIGTERM with the stream open: the stream ends and the node exits at once.
            let started = Date()
            kill(a.process.processIdentifier, SIGTERM)
            #expect(stream.closedByPeer(), "the stream ends")
            let deadline = Date().addingTimeInterval(10)
            while a.process.isRunning && Date() < deadline { usleep(10_000) }
            #expect(!a.process.isRunning, "the node stopped")
            #expect(Date().timeIntervalSince(started) < 5, "promptly: \(Date().timeIntervalSince(started)) s")
        }
    }
}

/// Reads `status` events off a raw `text/event-stream` response. Each event is one chunk
/// of the chunked body, so its `data:` line arrives whole.
struct EventReader {
    let connection: RawConnection
    /// Everything received so far.
    private(set) var text = ""
    private var consumed: String.Index?

    init(connection: RawConnection) { self.connection = connection }

    /// The next status event; nil when the connection closed or the read timed out first.
    mutating func next() -> NodeStatus? {
        let marker = "event: status\ndata: "
        while true {
            let from = consumed ?? text.startIndex
            if let start = text.range(of: marker, range: from..<text.endIndex),
               let end = text.range(of: "\n", range: start.upperBound..<text.endIndex) {
                consumed = end.upperBound
                return try? JSONDecoder().decode(NodeStatus.self, from: Data(text[start.upperBound..<end.lowerBound].utf8))
            }
            var buffer = [UInt8](repeating: 0, count: 16 << 10)
            let n = read(connection.fd, &buffer, buffer.count)
            guard n > 0 else { return nil }
            let offset = consumed.map { text.distance(from: text.startIndex, to: $0) }
            text += String(decoding: buffer.prefix(n), as: UTF8.self)
            consumed = offset.map { text.index(text.startIndex, offsetBy: $0) }
        }
    }
}
