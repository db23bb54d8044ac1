import BundlecastCore
import Foundation
@testable import Origin
import Testing

/// The origin's timestamp cache against a flood of channel names.
@Suite struct TimestampCacheTests {
    /// Through the origin's router (``RoutedOrigin``): a timestamp for every channel asked about,
    /// but only the channel with a notice is kept.
    @Test func aFloodOfChannelNamesKeepsTheOriginsTimestampsBounded() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir, signingKey: SecretKey.generate())
            let flood = 2000
            try await origin.test { client in
                #expect(try await client.send(.post, "/v1/apps/hello-fleet/notices", body: try notice(sequence: 1)).code == 201)
                var statuses: [Int: Int] = [:]
                var last = ""
                for i in 0..<flood {
                    let answer = try await client.send(.get, "/v1/apps/hello-fleet/channels/flood-\(i)/timestamp")
                    statuses[answer.code, default: 0] += 1
                    last = answer.text
                }
                #expect(statuses == [200: flood], "a channel without a notice still gets a timestamp of sequence 0")
                #expect(last.contains("channel=flood-\(flood - 1) sequence=0"), "\(last)")
                #expect(try await client.send(.get, "/v1/apps/hello-fleet/channels/stable/timestamp").code == 200)
            }
            #expect(origin.metrics.contains("bundlecast_origin_timestamps_held 1"), "only the channel with a notice is kept: \(origin.metrics)")
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
