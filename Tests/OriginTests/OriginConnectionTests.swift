import Foundation
import Testing
import TestSupport

/// Connections that hold an origin's descriptors for nothing: a long-poll whose client
/// left, an idle keep-alive, a request head never finished. Real process, real sockets.
@Suite(.serialized) struct OriginConnectionTests {
    func start(_ dir: String, _ extra: [String] = []) throws -> OriginProcess {
        try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)"] + extra)
    }

    /// A client that asks for a 60 s long-poll and hangs up holds nothing: the wait ends
    /// when its connection does, not 60 s later.
    @Test func aLongPollWhoseClientLeftEndsAtOnce() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            defer { _ = origin.stop() }
            var clients: [RawHTTPConnection] = []
            for _ in 0..<3 {
                let client = try RawHTTPConnection(port: origin.port)
                client.send("GET /v1/apps/hello-fleet/channels/stable/latest?after=0&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n")
                clients.append(client)
            }
            try await origin.waitForLongPolls(3)
            for client in clients { client.hangUp() }
            // Within the helper's 20 s, far below the 60 s asked for.
            try await origin.waitForLongPolls(0)
        }
    }

    /// An idle keep-alive connection and one whose request head never ends are closed
    /// after `--idle-timeout`; a long-poll longer than it is answered, not cut.
    @Test func idleConnectionsAreClosedButALongPollIsAnswered() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let origin = try start(dir, ["--idle-timeout", "1s"])
            defer { _ = origin.stop() }
            let idle = try RawHTTPConnection(port: origin.port)
            let halfSent = try RawHTTPConnection(port: origin.port)
            halfSent.send("GET /v1/apps/hello-fleet/channels/stable/latest HTTP/1.1\r\nHost: x\r\n")
            let answered = try RawHTTPConnection(port: origin.port)
            answered.send("GET /v1/apps HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try answered.readResponses(1).first?.status == 200)
            let polling = try RawHTTPConnection(port: origin.port)
            polling.send("GET /v1/apps/hello-fleet/channels/stable/latest?after=0&wait=3 HTTP/1.1\r\nHost: x\r\n\r\n")
            // Each read ends at the close (or fails at the socket's 30 s time-out).
            #expect(try idle.readUntilClosed().isEmpty)
            #expect(try halfSent.readUntilClosed().isEmpty)
            #expect(try answered.readUntilClosed().isEmpty)
            #expect(try polling.readResponses(1).first?.status == 204)
            #expect(try polling.readUntilClosed().isEmpty)
        }
    }

    /// A client that sends a long-poll and closes its side gets its answer at once: the
    /// notice when one is newer, else `204`; then the origin closes.
    @Test func aLongPollFromAClientThatClosedItsSideIsAnsweredAtOnce() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            defer { _ = origin.stop() }
            let body = try notice(sequence: 1)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: body).status == 201)
            let started = Date()
            for (after, status) in [(0, 200), (1, 204)] {
                let client = try RawHTTPConnection(port: origin.port)
                client.send("GET /v1/apps/hello-fleet/channels/stable/latest?after=\(after)&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n")
                client.halfClose()
                let answer = try client.readResponses(1)
                #expect(answer.first?.status == status)
                if status == 200 { #expect(answer.first?.body == String(decoding: body, as: UTF8.self)) }
                #expect(try client.readUntilClosed().isEmpty)
            }
            #expect(Date().timeIntervalSince(started) < 30, "a long-poll waited for a client that had left")
        }
    }
}
