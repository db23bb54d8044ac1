import BundlecastCore
import Foundation
import Testing

/// Real `bundlecast origin` processes over real HTTP on loopback; one at a time.
@Suite(.serialized) struct OriginAPITests {
    func start(_ dir: String) throws -> OriginProcess {
        try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)", "--trust", "twin=\(demoPub)"])
    }

    @Test func everyAnswerToAPublish() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let url = origin.base + "/v1/apps/hello-fleet/notices"
            let first = try notice(sequence: 1)
            #expect(try await http("POST", url, body: first).status == 201)
            #expect(try await http("POST", url, body: first).status == 200, "same signed bytes: idempotent")
            let equal = try await http("POST", url, body: try notice(sequence: 1, rollout: 50))
            #expect(equal.status == 409)
            #expect(equal.error?.contains("not higher than 1") == true)
            #expect(try await http("POST", url, body: try notice(sequence: 3, version: "1.1.0")).status == 201)
            #expect(try await http("POST", url, body: try notice(sequence: 2)).status == 409, "stale")
            var forged = try notice(sequence: 9)
            let text = String(decoding: forged, as: UTF8.self).replacingOccurrences(of: "rollout=100", with: "rollout=1")
            forged = Array(text.utf8)
            #expect(try await http("POST", url, body: forged).status == 401, "bad signature")
            let stranger = try await http("POST", url, body: try notice(sequence: 10, key: otherKey))
            #expect(stranger.status == 403, "another key")
            #expect(try await http("POST", origin.base + "/v1/apps/twin/notices", body: try notice(sequence: 11)).status == 403, "notice for another app")
            #expect(try await http("POST", origin.base + "/v1/apps/nobody/notices", body: try notice(app: "nobody", sequence: 1)).status == 404)
            #expect(try await http("POST", url, body: Array("garbage\n".utf8)).status == 400)
            #expect(try await http("POST", url, body: []).status == 400)
            #expect(try await http("POST", url, body: [UInt8](repeating: 0x41, count: 70_000)).status == 413)
            #expect(try await http("POST", url, body: try notice(sequence: 12, expires: 1_700_000_100)).status == 409, "expired")
            #expect(try await http("POST", origin.base + "/v1/apps/..%2Fetc/notices", body: first).status == 400)
            let metrics = try await http("GET", origin.base + "/metrics").text
            #expect(metrics.contains("bundlecast_origin_notices_total{result=\"created\"} 2"))
            #expect(metrics.contains("bundlecast_origin_notices_total{result=\"bad_signature\"} 1"))
            #expect(origin.stop() == 0, "\(origin.log)")
        }
    }

    @Test func latestWithETagAndCatchUp() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let latest = origin.base + "/v1/apps/hello-fleet/channels/stable/latest"
            #expect(try await http("GET", latest).status == 404)
            #expect(try await http("GET", origin.base + "/v1/apps/nobody/channels/stable/latest").status == 404)
            #expect(try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/bad%20name/latest").status == 400)
            let one = try notice(sequence: 1)
            let two = try notice(sequence: 2, channel: "beta", version: "1.1.0-rc.1")
            let three = try notice(sequence: 3, version: "1.1.0")
            for n in [one, two, three] { #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: n).status == 201) }
            let answer = try await http("GET", latest)
            #expect(answer.status == 200)
            #expect(Array(answer.body) == three)
            #expect(answer.header("ETag") == "\"3\"")
            #expect(answer.header("Cache-Control")?.contains("max-age") == true)
            #expect(try await http("GET", latest, headers: ["If-None-Match": "\"3\""]).status == 304)
            #expect(try await http("GET", latest, headers: ["If-None-Match": "\"2\""]).status == 200)
            #expect(Array(try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/beta/latest").body) == two)
            let list = try await http("GET", origin.base + "/v1/apps/hello-fleet/notices?after=1")
            let json = try JSONSerialization.jsonObject(with: list.body) as? [String: Any]
            let items = json?["notices"] as? [[String: Any]]
            #expect(items?.map { $0["sequence"] as? Int } == [2, 3])
            #expect(items?.last?["minisig"] as? String == String(decoding: three, as: UTF8.self))
            let apps = try await http("GET", origin.base + "/v1/apps").text
            #expect(apps.contains("\"channels\":{\"beta\":2,\"stable\":3}"))
            #expect(try await http("GET", origin.base + "/healthz").status == 200)
            origin.stop()
        }
    }

    @Test func longPollWakesOnPublishAndTimesOut() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let poll = origin.base + "/v1/apps/hello-fleet/channels/stable/latest?after=0&wait=30"
            async let waited = http("GET", poll)
            try await origin.waitForLongPolls(1)
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1)).status == 201)
            let woke = try await waited
            #expect(woke.status == 200)
            #expect(woke.header("ETag") == "\"1\"")
            #expect(woke.header("Cache-Control") == "no-store")
            // Already newer: answers at once.
            #expect(try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/stable/latest?after=0&wait=30").status == 200)
            // Nothing newer within the wait: 204.
            let quiet = try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/stable/latest?after=1&wait=1")
            #expect(quiet.status == 204)
            origin.stop()
        }
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

    @Test func racingPublishersWithTheSameSequence() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            let url = origin.base + "/v1/apps/hello-fleet/notices"
            for round in 1...10 {
                let a = try notice(sequence: UInt64(round), version: "1.0.\(round)")
                let b = try notice(sequence: UInt64(round), version: "2.0.\(round)")
                async let first = http("POST", url, body: a)
                async let second = http("POST", url, body: b)
                let statuses = try await [first.status, second.status].sorted()
                #expect(statuses == [201, 409], "round \(round)")
            }
            origin.stop()
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
            let connection = try RawHTTPConnection(port: origin.port)
            connection.send("GET /v1/apps/hello-fleet/channels/stable/latest?after=4&wait=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /v1/apps/hello-fleet/channels/stable/latest HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"4\"\r\n\r\n"
                + "GET /v1/apps/hello-fleet/channels/stable/latest HTTP/1.1\r\nHost: x\r\n\r\n")
            let answers = try connection.readResponses(3)
            #expect(answers.map(\.status) == [204, 304, 200])
            #expect(answers[2].body == String(decoding: n, as: UTF8.self))
            let metrics = try await http("GET", origin.base + "/metrics").text
            #expect(metrics.contains("bundlecast_origin_requests_total{route=\"/v1/apps/{app}/channels/{channel}/latest\",status=\"304\"} 1"))
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

    @Test func headAnswersEveryGetRouteWithItsHeadersAndNoBody() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try start(dir)
            defer { origin.stop() }
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1)).status == 201)
            let paths = ["/healthz", "/v1/apps", "/v1/apps/hello-fleet", "/v1/apps/hello-fleet/notices?after=0",
                         "/v1/apps/hello-fleet/channels/stable/latest", "/v1/apps/hello-fleet/rotations",
                         "/v1/apps/hello-fleet/channels/stable/timestamp", "/v1/apps/nobody", "/v1/apps/hello-fleet/channels/beta/latest"]
            for path in paths {
                let get = try await http("GET", origin.base + path)
                let answer = try head(origin.port, path)
                #expect(answer.status == get.status, "HEAD \(path)")
                #expect(answer.rest.isEmpty, "HEAD \(path) sent a body: \(answer.rest)")
                #expect(answer.headers["content-length"] == String(get.body.count), "HEAD \(path)")
                for name in ["content-type", "etag", "cache-control"] {
                    #expect(answer.headers[name] == get.header(name), "HEAD \(path): \(name)")
                }
            }
            let metrics = try head(origin.port, "/metrics")
            #expect(metrics.status == 200 && metrics.rest.isEmpty)
        }
    }
}
