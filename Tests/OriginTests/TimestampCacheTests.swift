import BundlecastCore
import Foundation
@testable import Origin
import Testing

/// The origin's timestamp cache against a flood of channel names.
@Suite(.serialized) struct TimestampCacheTests {
    @Test func aFloodOfChannelNamesKeepsTheOriginsTimestampsBounded() async throws {
        try await withTemporaryDirectory { dir in
            let keygen = try runProgram(bundlecastPath, ["keygen", "--out", dir + "/origin", "--unencrypted"])
            #expect(keygen.code == 0, "\(keygen.stderr)")
            let origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)", "--key", dir + "/origin.key"])
            defer { origin.stop() }
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1)).status == 201)
            let flood = 2000
            let connection = try RawHTTPConnection(port: origin.port)
            connection.send((0..<flood).map { "GET /v1/apps/hello-fleet/channels/flood-\($0)/timestamp HTTP/1.1\r\nHost: o\r\n\r\n" }.joined())
            let answers = try connection.readResponses(flood)
            #expect(answers.allSatisfy { $0.status == 200 }, "a channel without a notice still gets a timestamp of sequence 0")
            #expect(answers.last?.body.contains("channel=flood-\(flood - 1) sequence=0") == true, "\(answers.last?.body ?? "")")
            #expect(try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/stable/timestamp").status == 200)
            let metrics = try await http("GET", origin.base + "/metrics").text
            #expect(metrics.contains("bundlecast_origin_timestamps_held 1"), "only the channel with a notice is kept: \(metrics)")
        }
    }

    @Test func theCacheKeepsAtMostItsCapacityAndReusesWhatItKeeps() throws {
        let signer = TimestampSigner(key: SecretKey.generate(), validity: 3600, capacity: 8)
        let now: UInt64 = 1_800_000_000
        for i in 0..<100 { _ = try signer.timestamp(app: "acme", channel: "c\(i)", sequence: 1, now: now + UInt64(i), keep: true) }
        #expect(signer.count == 8)
        for i in 0..<100 { _ = try signer.timestamp(app: "acme", channel: "x\(i)", sequence: 0, now: now, keep: false) }
        #expect(signer.count == 8, "channels without a notice are not kept")
        let first = try signer.timestamp(app: "acme", channel: "c99", sequence: 1, now: now + 200, keep: true)
        #expect(try signer.timestamp(app: "acme", channel: "c99", sequence: 1, now: now + 300, keep: true) == first, "re-used within half its validity")
    }
}
