import BundlecastCore
import Foundation
import HummingbirdTesting
import Testing

/// `POST /v1/apps/{app}/rotations` status by status, through the origin's router in the
/// test process (``RoutedOrigin``), with the key rotated once from the demo key to `newKey`.
extension KeyRotationTests {
    /// A statement the origin refuses, and the answer.
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        var app = "hello-fleet"
        let body: @Sendable (KeyRotationTests) throws -> [UInt8]
        let status: Int
        /// A part of the one-line `error` that says why.
        let says: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "a replay of an older epoch", body: { try $0.rotation(epoch: 1, from: demoKey, to: $0.third) }, status: 409,
                says: "epoch 1 is not above the current epoch 1"),
        Refusal(name: "a gap", body: { try $0.rotation(epoch: 3, from: $0.newKey, to: $0.third) }, status: 409, says: "epochs 2...2 come first"),
        Refusal(name: "the retired key handing over", body: { try $0.rotation(epoch: 2, from: demoKey, to: $0.third) }, status: 403,
                says: "hands over from key"),
        Refusal(name: "a forged statement", body: { t in
            let text = String(decoding: try t.rotation(epoch: 2, from: t.newKey, to: t.third), as: UTF8.self)
            return Array(text.replacingOccurrences(of: "created=1790000000", with: "created=1790000001").utf8)
        }, status: 401, says: "forged rotation statement"),
        Refusal(name: "garbage", body: { _ in Array("garbage\n".utf8) }, status: 400, says: "not a valid Bundlecast rotation"),
        Refusal(name: "an unknown app", app: "nobody", body: { try $0.rotation(epoch: 2, from: $0.newKey, to: $0.third) }, status: 404,
                says: "unknown app nobody"),
        Refusal(name: "over the size limit", body: { _ in [UInt8](repeating: 0x41, count: 70_000) }, status: 413, says: "body larger than"),
    ]

    @Test(arguments: refusals) func aRefusedStatementIsOneStatusAndOneErrorLine(_ refusal: Refusal) async throws {
        try await withTemporaryDirectory { dir in
            let origin = try RoutedOrigin(directory: dir, apps: ["hello-fleet"])
            let first = try rotation(epoch: 1, from: demoKey, to: newKey)
            let body = try refusal.body(self)
            try await origin.test { client in
                #expect(try await client.send(.post, "/v1/apps/hello-fleet/rotations", body: first).code == 201)
                let answer = try await client.send(.post, "/v1/apps/\(refusal.app)/rotations", body: body)
                #expect(answer.code == refusal.status)
                let error = try #require(answer.error, "a JSON error: \(answer.text)")
                #expect(error.contains(refusal.says), "\(error)")
                #expect(!error.contains("\n"))
                // Nothing changed: still epoch 1 with the new key.
                let summary = try await client.send(.get, "/v1/apps/hello-fleet").json
                #expect(summary?["epoch"] as? Int == 1)
            }
            #expect(origin.metrics.contains("bundlecast_origin_rotations_total{result=\"rotated\"} 1"))
        }
    }
}
