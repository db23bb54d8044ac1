import BundlecastCore
import Foundation
import Testing

/// Real `bundlecast origin` processes over real HTTP on loopback, one at a time: what needs
/// the process (start-up, restart, shutdown) or the socket (the event-loop fast path,
/// pipelining). What each route answers is tested through the router, in `OriginAPITests+Router`.
@Suite(.serialized) struct OriginAPITests {
    func start(_ dir: String) throws -> OriginProcess {
        try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)", "--trust", "twin=\(demoPub)"])
    }

    @Test func shutdownEndsOpenLongPollsAtOnce() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let base = origin.base
            async let waited = http("GET", base + "/v1/apps/hello-fleet/channels/stable/latest?after=0&wait=60")
            try await origin.waitForLongPolls(1)
            let started = Date()
            #expect(origin.stop(deadline: 20) == 0)
            let answer = try await waited
            #expect(answer.status == 503)
            #expect(answer.header("Retry-After") == "1")
            #expect(Date().timeIntervalSince(started) < 20, "shutdown waited for the long-poll")
        }
    }

    @Test func restartKeepsEverything() async throws {
        try await withTemporaryDirectory { dir in
            var origin = try start(dir)
            let two = try notice(sequence: 2)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: two).status == 201)
            #expect(origin.stop() == 0)
            origin = try OriginProcess(directory: dir)  // no --trust: the database remembers
            #expect(Array(try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/stable/latest").body) == two)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1)).status == 409)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: two).status == 200)
            origin.stop()
        }
    }

    @Test func aMissingOrCorruptDatabaseIsOneClearError() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            for (setup, message) in [
                ({ () throws -> Void in }, "does not exist"),
                ({ try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: dir + "/origin.sqlite")) }, "cannot open origin database"),
            ] as [(() throws -> Void, String)] {
                try setup()
                do {
                    _ = try OriginProcess(directory: dir)
                    Issue.record("the origin started on a bad database")
                } catch let error as OriginTestError {
                    #expect(error.description.contains("exited with 2"), "\(error)")
                    #expect(error.description.contains(message), "\(error)")
                    #expect(error.description.split(separator: "\n").filter { $0.contains("error") }.count == 1)
                }
            }
        }
    }

    @Test func theFastPathAnswersLikeTheRouterAndKeepsPipelinedOrder() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let latest = origin.base + "/v1/apps/hello-fleet/channels/stable/latest"
            let n = try notice(sequence: 4)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: n).status == 201)
            // Without a query the event-loop fast path answers; with one, the router does.
            let fast = try await http("GET", latest)
            let routed = try await http("GET", latest + "?via=router")
            #expect(fast.status == 200 && routed.status == 200)
            #expect(fast.body == routed.body && Array(fast.body) == n)
            for name in ["ETag", "Cache-Control", "Content-Type"] { #expect(fast.header(name) == routed.header(name), "\(name)") }
            #expect(fast.header("Date") != nil)
            // Pipelined: a long-poll that the router holds for a second, then a fast-path request.
            // The second answer must not overtake the first.
            let tag = try #require(fast.header("ETag"))
            let connection = try RawHTTPConnection(port: origin.port)
            connection.send("GET /v1/apps/hello-fleet/channels/stable/latest?after=4&wait=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /v1/apps/hello-fleet/channels/stable/latest HTTP/1.1\r\nHost: x\r\nIf-None-Match: \(tag)\r\n\r\n"
                + "GET /v1/apps/hello-fleet/channels/stable/latest HTTP/1.1\r\nHost: x\r\n\r\n")
            let answers = try connection.readResponses(3)
            #expect(answers.map(\.status) == [204, 304, 200])
            #expect(answers[2].body == String(decoding: n, as: UTF8.self))
            let metrics = try await http("GET", origin.base + "/metrics").text
            #expect(metrics.contains("bundlecast_origin_requests_total{route=\"/v1/apps/{app}/channels/{channel}/latest\",status=\"304\"} 1"))
            // HEAD (the router's, not the fast path's) sends the headers of GET and no body on the wire.
            let head = try head(origin.port, "/v1/apps/hello-fleet/channels/stable/latest")
            #expect(head.status == 200 && head.rest.isEmpty, "\(head.rest)")
            #expect(head.headers["content-length"] == String(n.count))
            #expect(head.headers["etag"] == fast.header("ETag"))
            origin.stop()
        }
    }

    /// `HEAD` on a raw connection: the status, the headers (lower-case names) and whatever came after them.
    func head(_ port: Int, _ path: String) throws -> (status: Int, headers: [String: String], rest: String) {
        let connection = try RawHTTPConnection(port: port)
        connection.send("HEAD \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let text = try connection.readUntilClosed()
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (Int(lines[0].split(separator: " ")[1]) ?? 0, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
