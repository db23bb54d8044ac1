import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// Indefinite freeze: nodes that pin the origin key check its signed timestamps, from the
/// origin or by gossip, and say when they are behind or cannot confirm they are up to date.
@Suite(.serialized) struct FreshnessTests {
    @Test func nodesPinningTheOriginKeyConfirmFreshnessAndTellWhenTheyAreFrozen() async throws {
        try await withTemporaryDirectory { dir in
            let keygen = try runBundlecast(["keygen", "--out", dir + "/origin", "--unencrypted"])
            #expect(keygen.code == 0, "\(keygen.err)")
            let originPub = dir + "/origin.pub"
            let origin = try await OriginRunner(directory: dir, extra: ["--key", dir + "/origin.key"])
            defer { origin.stop() }
            // A follows the origin; B hears everything from A by gossip.
            let a = try NodeProcess(directory: dir, name: "a", extra: ["--origin", origin.base, "--origin-key", originPub])
            let b = try NodeProcess(directory: dir, name: "b", join: a.gossipPort, extra: ["--origin-key", originPub])
            defer { a.kill9(); b.kill9() }
            try await eventually(within: 20, "b joined a") { try await a.status().members.count == 2 }
            #expect(try await post(origin.base + "/v1/apps/hello-fleet/notices", try signedNotice(sequence: 1, version: "1.0.1")) == 201)
            for node in [a, b] {
                try await eventually(within: 30, "node \(node.adminPort) confirms freshness") {
                    let f = try await node.status().apps.first?.freshness
                    return f?.state == "confirmed" && f?.originSequence == 1
                }
            }
            let report = try runBundlecast(["status", "--node", "127.0.0.1:\(b.adminPort)"])
            #expect(report.out.contains("freshness: confirmed, the origin signed #1 as the newest"), "\(report.out)")

            // C is kept on #1 by its peers while the origin has published #2: a timestamp of #2
            // reaching it (here through its admin API) is enough for it to tell.
            let c = try NodeProcess(directory: dir, name: "c", extra: ["--origin-key", originPub])
            defer { c.kill9() }
            #expect(try await post(c.admin + "/v1/notices", try signedNotice(sequence: 1, version: "1.0.1")) == 201)
            #expect(try await post(origin.base + "/v1/apps/hello-fleet/notices", try signedNotice(sequence: 2, version: "1.0.2")) == 201)
            let stamp = try await get(origin.base + "/v1/apps/hello-fleet/channels/stable/timestamp")
            #expect(String(decoding: stamp, as: UTF8.self).contains("sequence=2"))
            #expect(try await post(c.admin + "/v1/timestamps", stamp) == 201)
            #expect(try await post(c.admin + "/v1/timestamps", stamp) == 200, "the same one again")
            let frozen = try await c.status().apps.first?.freshness
            #expect(frozen?.state == "behind" && frozen?.originSequence == 2, "\(String(describing: frozen))")
            let cReport = try runBundlecast(["status", "--node", "127.0.0.1:\(c.adminPort)"])
            #expect(cReport.out.contains("freshness: BEHIND, the origin signed #2"), "\(cReport.out)")

            // A timestamp not signed by the origin key is refused and counted; and a node that no
            // timestamp reaches cannot confirm anything.
            let forged = try SignedTimestamp.sign(app: "hello-fleet", channel: "stable", sequence: 1, created: UInt64(Date().timeIntervalSince1970),
                                                  expires: UInt64(Date().timeIntervalSince1970) + 3600, key: SecretKey.generate())
            let d = try NodeProcess(directory: dir, name: "d", extra: ["--origin-key", originPub])
            defer { d.kill9() }
            #expect(try await post(d.admin + "/v1/timestamps", forged.bytes) == 401)
            #expect(try await d.status().refusedNotices["timestamp_forged"] == 1)
            let unconfirmed = try runBundlecast(["status", "--node", "127.0.0.1:\(d.adminPort)"])
            #expect(unconfirmed.out.contains("freshness: UNCONFIRMED"), "\(unconfirmed.out)")
        }
    }

    @Test func anOriginWithoutAKeySignsNoTimestampsAndNeverAPublishersKey() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try await OriginRunner(directory: dir)
            defer { origin.stop() }
            var request = URLRequest(url: URL(string: origin.base + "/v1/apps/hello-fleet/channels/stable/timestamp")!)
            request.timeoutInterval = 10
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 404)
            origin.stop()
            // The publisher's key as the origin's: refused at start.
            let r = try runBundlecast(["origin", "--listen", "127.0.0.1:0", "--db", dir + "/origin.sqlite", "--key", repoRoot + "/Keys/demo-test-only.key"])
            #expect(r.code != 0 && r.err.contains("publisher's key"), "\(r.err)")
        }
    }
}

func get(_ url: String) async throws -> [UInt8] {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw NodeTestError("GET \(url): \(String(describing: response))") }
    return [UInt8](data)
}
