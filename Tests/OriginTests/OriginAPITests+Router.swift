import BundlecastCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The origin's routes, status by status, driven through its router in the test process
/// (``RoutedOrigin``): what a route answers does not need a process or a socket.
extension OriginAPITests {
    static let notices = "/v1/apps/hello-fleet/notices"
    static let latest = "/v1/apps/hello-fleet/channels/stable/latest"

    @Test func everyAnswerToAPublish() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                let url = Self.notices
                let first = try notice(sequence: 1)
                #expect(try await client.send(.post, url, body: first).code == 201)
                #expect(try await client.send(.post, url, body: first).code == 200, "same signed bytes: idempotent")
                let equal = try await client.send(.post, url, body: try notice(sequence: 1, rollout: 50))
                #expect(equal.code == 409)
                #expect(equal.error?.contains("not higher than 1") == true)
                #expect(try await client.send(.post, url, body: try notice(sequence: 3, version: "1.1.0")).code == 201)
                #expect(try await client.send(.post, url, body: try notice(sequence: 2)).code == 409, "stale")
                #expect(try await client.send(.post, url, body: try forged(sequence: 9)).code == 401, "bad signature")
                #expect(try await client.send(.post, url, body: try notice(sequence: 10, key: otherKey)).code == 403, "another key")
                #expect(try await client.send(.post, "/v1/apps/twin/notices", body: try notice(sequence: 11)).code == 403, "notice for another app")
                #expect(try await client.send(.post, "/v1/apps/nobody/notices", body: try notice(app: "nobody", sequence: 1)).code == 404)
                #expect(try await client.send(.post, url, body: Array("garbage\n".utf8)).code == 400)
                #expect(try await client.send(.post, url, body: []).code == 400)
                #expect(try await client.send(.post, url, body: [UInt8](repeating: 0x41, count: 70_000)).code == 413)
                #expect(try await client.send(.post, url, body: try notice(sequence: 12, expires: 1_700_000_100)).code == 409, "expired")
                #expect(try await client.send(.post, "/v1/apps/..%2Fetc/notices", body: first).code == 400)
                let metrics = try await client.send(.get, "/metrics").text
                #expect(metrics.contains("bundlecast_origin_notices_total{result=\"created\"} 2"))
                #expect(metrics.contains("bundlecast_origin_notices_total{result=\"bad_signature\"} 1"))
            }
        }
    }

    /// A publish the origin refuses: where it is sent, what, and the answer.
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        var path = OriginAPITests.notices
        let body: @Sendable () throws -> [UInt8]
        let status: Int
        /// A part of the one-line `error` that says why.
        let says: String
        var testDescription: String { name }
    }

    /// With sequence 3 held for hello-fleet.
    static let refusals: [Refusal] = [
        Refusal(name: "a lower sequence", body: { try notice(sequence: 2) }, status: 409, says: "not higher than 3"),
        Refusal(name: "the same sequence, other bytes", body: { try notice(sequence: 3, rollout: 50) }, status: 409, says: "not higher than 3"),
        Refusal(name: "expired", body: { try notice(sequence: 4, expires: 1_700_000_100) }, status: 409, says: "expired at 1700000100"),
        Refusal(name: "a forged signature", body: { try forged(sequence: 4) }, status: 401, says: "signature"),
        Refusal(name: "a stranger's key", body: { try notice(sequence: 4, key: otherKey) }, status: 403, says: "is registered with key"),
        Refusal(name: "another app's notice", path: "/v1/apps/twin/notices", body: { try notice(sequence: 4) }, status: 403,
                says: "for app hello-fleet, not twin"),
        Refusal(name: "an unknown app", path: "/v1/apps/nobody/notices", body: { try notice(app: "nobody", sequence: 1) }, status: 404,
                says: "unknown app nobody"),
        Refusal(name: "garbage", body: { Array("garbage\n".utf8) }, status: 400, says: "not a Bundlecast notice"),
        Refusal(name: "an empty body", body: { [] }, status: 400, says: "not a Bundlecast notice"),
        Refusal(name: "a sequence above 2^63-1", body: { try notice(sequence: UInt64(Int64.max) + 1) }, status: 400, says: "above 2^63-1"),
        Refusal(name: "over the size limit", body: { [UInt8](repeating: 0x41, count: 70_000) }, status: 413, says: "body larger than 65536 bytes"),
        Refusal(name: "a bad app name", path: "/v1/apps/..%2Fetc/notices", body: { try notice(sequence: 4) }, status: 400, says: "app name"),
    ]

    @Test(arguments: refusals) func aRefusedPublishIsOneStatusAndOneErrorLine(_ refusal: Refusal) async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                #expect(try await client.send(.post, Self.notices, body: try notice(sequence: 3)).code == 201)
                let answer = try await client.send(.post, refusal.path, body: try refusal.body())
                #expect(answer.code == refusal.status)
                let error = try #require(answer.error, "a JSON error: \(answer.text)")
                #expect(error.contains(refusal.says), "\(error)")
                #expect(!error.contains("\n"))
                #expect(answer.json?["status"] as? Int == refusal.status)
                // Nothing changed.
                #expect(Array(try await client.send(.get, Self.latest).body.readableBytesView) == (try notice(sequence: 3)))
            }
        }
    }

    @Test func latestWithETagAndCatchUp() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                let latest = Self.latest
                #expect(try await client.send(.get, latest).code == 404)
                #expect(try await client.send(.get, "/v1/apps/nobody/channels/stable/latest").code == 404)
                #expect(try await client.send(.get, "/v1/apps/hello-fleet/channels/bad%20name/latest").code == 400)
                let one = try notice(sequence: 1)
                let two = try notice(sequence: 2, channel: "beta", version: "1.1.0-rc.1")
                let three = try notice(sequence: 3, version: "1.1.0")
                for n in [one, two, three] { #expect(try await client.send(.post, Self.notices, body: n).code == 201) }
                let answer = try await client.send(.get, latest)
                #expect(answer.code == 200)
                #expect(answer.bytes == three)
                let tag = try #require(answer.header(.eTag))
                #expect(tag.hasPrefix("\"3-") && tag.count == 20, "\(tag)")
                #expect(answer.header(.cacheControl)?.contains("max-age") == true)
                #expect(try await client.send(.get, latest, headers: [.ifNoneMatch: tag]).code == 304)
                #expect(try await client.send(.get, latest, headers: [.ifNoneMatch: "\"3\""]).code == 200)
                #expect(try await client.send(.get, "/v1/apps/hello-fleet/channels/beta/latest").bytes == two)
                let list = try await client.send(.get, "/v1/apps/hello-fleet/notices?after=1")
                let items = list.json?["notices"] as? [[String: Any]]
                #expect(items?.map { $0["sequence"] as? Int } == [2, 3])
                #expect(items?.last?["minisig"] as? String == String(decoding: three, as: UTF8.self))
                #expect(try await client.send(.get, "/v1/apps/hello-fleet/notices?after=x").code == 400)
                let apps = try await client.send(.get, "/v1/apps").text
                #expect(apps.contains("\"channels\":{\"beta\":2,\"stable\":3}"))
                #expect(try await client.send(.get, "/healthz").code == 200)
            }
        }
    }

    @Test func longPollWakesOnPublishAndTimesOut() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                let poll = Self.latest + "?after=0&wait=30"
                async let waited = client.send(.get, poll)
                try await origin.waitForLongPolls(1)
                #expect(try await client.send(.post, Self.notices, body: try notice(sequence: 1)).code == 201)
                let woke = try await waited
                #expect(woke.code == 200)
                #expect(woke.header(.eTag)?.hasPrefix("\"1-") == true)
                #expect(woke.header(.cacheControl) == "no-store")
                // Already newer: answers at once.
                #expect(try await client.send(.get, poll).code == 200)
                // Nothing newer within the wait: 204.
                let quiet = try await client.send(.get, Self.latest + "?after=1&wait=1")
                #expect(quiet.code == 204)
                // An unknown app is not waited on.
                #expect(try await client.send(.get, "/v1/apps/nobody/channels/stable/latest?after=0&wait=30").code == 404)
            }
        }
    }

    @Test func racingPublishersWithTheSameSequence() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                for round in 1...10 {
                    let a = try notice(sequence: UInt64(round), version: "1.0.\(round)")
                    let b = try notice(sequence: UInt64(round), version: "2.0.\(round)")
                    async let first = client.send(.post, Self.notices, body: a)
                    async let second = client.send(.post, Self.notices, body: b)
                    let statuses = try await [first.code, second.code].sorted()
                    #expect(statuses == [201, 409], "round \(round)")
                }
            }
        }
    }

    /// The unsigned comment of a notice is anyone's to change: a relayed copy with another
    /// comment is stored in the form `release` writes, and the publisher's own post of
    /// the notice is then a duplicate (200), not a conflict, and is what is served.
    @Test func aNoticeWithAnotherUnsignedCommentIsTheSameNotice() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir)
            try await origin.test { client in
                let original = try notice(sequence: 1)
                var lines = String(decoding: original, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                lines[0] = "untrusted comment: download the fix from evil.example"
                let relayed = Array(lines.joined(separator: "\n").utf8)
                #expect(relayed != original)
                #expect(try await client.send(.post, Self.notices, body: relayed).code == 201)
                let posted = try await client.send(.post, Self.notices, body: original)
                #expect(posted.code == 200 && posted.json?["status"] as? String == "duplicate")
                #expect(try await client.send(.get, Self.latest).bytes == original)
                let page = try await client.send(.get, "/v1/apps/hello-fleet/notices?after=0")
                #expect(String(data: try JSONSerialization.data(withJSONObject: page.json ?? [:]), encoding: .utf8)?.contains("evil.example") == false)
            }
        }
    }

    @Test func headAnswersEveryGetRouteWithItsHeadersAndNoBody() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir, signingKey: otherKey)
            try await origin.test { client in
                #expect(try await client.send(.post, Self.notices, body: try notice(sequence: 1)).code == 201)
                let paths = ["/healthz", "/v1/apps", "/v1/apps/hello-fleet", "/v1/apps/hello-fleet/notices?after=0",
                             Self.latest, "/v1/apps/hello-fleet/rotations",
                             "/v1/apps/hello-fleet/channels/stable/timestamp", "/v1/apps/nobody", "/v1/apps/hello-fleet/channels/beta/latest"]
                for path in paths {
                    let get = try await client.send(.get, path)
                    let head = try await client.send(.head, path)
                    #expect(head.status == get.status, "HEAD \(path)")
                    #expect(head.body.readableBytes == 0, "HEAD \(path) sent a body: \(head.text)")
                    #expect(head.header(.contentLength) == String(get.body.readableBytes), "HEAD \(path)")
                    for name in [HTTPField.Name.contentType, .eTag, .cacheControl] {
                        #expect(head.header(name) == get.header(name), "HEAD \(path): \(name)")
                    }
                }
                let metrics = try await client.send(.head, "/metrics")
                #expect(metrics.code == 200 && metrics.body.readableBytes == 0)
            }
        }
    }
}

/// A notice whose signed text was changed after signing.
func forged(sequence: UInt64) throws -> [UInt8] {
    let text = String(decoding: try notice(sequence: sequence), as: UTF8.self).replacingOccurrences(of: "rollout=100", with: "rollout=1")
    return Array(text.utf8)
}
