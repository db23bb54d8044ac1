import BoundedHTTP
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Testing

/// A body that arrives in many small pieces is appended in place and comes back whole and in
/// order, up to exactly its limit.
@Suite struct HTTPFetchBodyTests {
    @Test func aBodyInManyPiecesComesBackWholeUpToExactlyItsLimit() async throws {
        let pieces = 2048
        let piece = 512
        let expected = Data((0..<pieces).flatMap { i in [UInt8](repeating: UInt8(i % 251), count: piece) })
        try await withFakeOrigin({ router in
            router.get("/pieces") { _, _ in
                Response(status: .ok, body: .init { writer in
                    for i in 0..<pieces { try await writer.write(ByteBuffer(repeating: UInt8(i % 251), count: piece)) }
                    try await writer.finish(nil)
                })
            }
        }) { origin in
            let url = origin.appendingPathComponent("/pieces")
            let (data, response) = try await HTTPFetch.data(for: URLRequest(url: url), limit: pieces * piece)
            #expect(response.statusCode == 200)
            #expect(data == expected)
            await #expect(throws: HTTPFetchError.tooLarge(url: url.absoluteString, limit: pieces * piece - 1)) {
                try await HTTPFetch.data(for: URLRequest(url: url), limit: pieces * piece - 1)
            }
        }
    }
}
