import Foundation
import Hummingbird
@testable import Node
import Synchronization
import Testing

/// A command sends the admin token only to what shows it holds it (``AdminTokenProof``):
/// a program squatting the admin port while the node is down learns nothing.
@Suite(.serialized) struct AdminTokenProofTests {
    static let token = "0123456789abcdef-secret"

    /// The `Authorization` headers a route was sent.
    final class Seen: Sendable {
        let headers = Mutex<[String]>([])
        var all: [String] { headers.withLock { $0 } }
    }

    /// A rollback route that records the `Authorization` headers it was sent.
    static func rollbackRoute(_ router: Router<BasicRequestContext>, seen: Seen) {
        router.post("/v1/rollback") { request, _ in
            seen.headers.withLock { $0.append(request.headers[.authorization] ?? "") }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"from":"1.1.0","to":"1.0.0"}"#)))
        }
    }

    static func client(_ url: URL, token: String?) throws -> NodeAdminClient {
        var client = try NodeAdminClient(url: url.absoluteString)
        client.token = token
        return client
    }

    @Test func aSquatterThatCannotProveItHoldsTheTokenIsNotSentIt() async throws {
        let seen = Seen()
        try await withFakeOrigin({ router in
            router.get("/v1/auth/proof") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"],
                         body: .init(byteBuffer: ByteBuffer(string: "{\"proof\":\"\(String(repeating: "00", count: 32))\"}")))
            }
            Self.rollbackRoute(router, seen: seen)
        }) { url in
            let client = try Self.client(url, token: Self.token)
            await #expect(throws: NodeClientError.self) { _ = try await client.rollback(app: "hello-fleet", to: nil) }
        }
        #expect(seen.all.isEmpty, "the squatter was asked with the token")
    }

    @Test func aNodeWithoutATokenIsSentNone() async throws {
        let seen = Seen()
        try await withFakeOrigin({ router in Self.rollbackRoute(router, seen: seen) }) { url in
            let (from, to) = try await Self.client(url, token: Self.token).rollback(app: "hello-fleet", to: nil)
            #expect(from == "1.1.0" && to == "1.0.0")
        }
        #expect(seen.all == [""])
    }

    @Test func theNodesMiddlewareProvesItAndOnlyTheRightTokenIsSent() async throws {
        let seen = Seen()
        try await withFakeOrigin({ router in
            router.add(middleware: AdminTokenMiddleware<BasicRequestContext>(token: Self.token))
            Self.rollbackRoute(router, seen: seen)
        }) { url in
            _ = try await Self.client(url, token: Self.token).rollback(app: "hello-fleet", to: nil)
            let wrong = try Self.client(url, token: "another-token-of-16")
            await #expect(throws: NodeClientError.self) { _ = try await wrong.rollback(app: "hello-fleet", to: nil) }
        }
        #expect(seen.all == ["Bearer \(Self.token)"])
    }
}
