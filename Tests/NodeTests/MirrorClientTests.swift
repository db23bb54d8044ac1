import Foundation
import Hummingbird
import Testing
@testable import Node

/// The mirror client against a server in the test process: range requests, a server that
/// ignores Range, redirects, compression, a mirror too slow to wait for.
@Suite(.serialized) struct MirrorClientTests {
    static let file = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    static func routes(_ router: Router<BasicRequestContext>) {
        router.get("/m/1.0.0/file") { request, _ -> Response in
            // The client asks for the file's own bytes: no compression.
            guard request.headers[.acceptEncoding] == "identity", let range = request.headers[.range],
                  range.hasPrefix("bytes="), case let parts = range.dropFirst(6).split(separator: "-"), parts.count == 2,
                  let first = Int(parts[0]), let last = Int(parts[1]), first <= last, last < file.count else {
                return Response(status: .badRequest)
            }
            return Response(status: .partialContent, headers: [.contentRange: "bytes \(first)-\(last)/\(file.count)"],
                            body: .init(byteBuffer: ByteBuffer(bytes: file[first...last])))
        }
        router.get("/m/1.0.0.manifest") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: file))) }
        router.get("/ignores/1.0.0/file") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x41, count: 1 << 20)))
        }
        router.get("/away/1.0.0/file") { _, _ in Response(status: .found, headers: [.location: "http://localhost:1/m/1.0.0/file"]) }
        router.get("/here/1.0.0/file") { _, _ in Response(status: .found, headers: [.location: "/m/1.0.0/file"]) }
        router.get("/gzip/1.0.0/file") { _, _ in
            Response(status: .partialContent, headers: [.contentRange: "bytes 0-9/1000", .contentEncoding: "gzip"],
                     body: .init(byteBuffer: ByteBuffer(bytes: file[0..<10])))
        }
        router.get("/slow/1.0.0/file") { _, _ in
            try await Task.sleep(for: .seconds(10))
            return Response(status: .badRequest)
        }
    }

    static func get(_ base: URL, _ mirror: String, offset: UInt64, length: Int, timeout: Duration = .seconds(20)) async throws -> Result<[UInt8], MirrorProblem> {
        let m = try ReleaseMirror(url: base.absoluteString + "/" + mirror)
        return await MirrorClient(timeout: timeout).chunk(m.fileURL(version: "1.0.0", path: "file"), offset: offset, length: length, file: "1.0.0/file")
    }

    @Test func rangesComeBackExactlyAndEveryBadAnswerIsRefusedWithoutReadingMore() async throws {
        try await withFakeOrigin(Self.routes) { base in
            #expect(try await Self.get(base, "m", offset: 100, length: 200).get() == Array(Self.file[100..<300]))
            #expect(try await Self.get(base, "here", offset: 0, length: 10).get() == Array(Self.file[0..<10]), "a redirect on the same host is followed")
            let m = try ReleaseMirror(url: base.absoluteString + "/m")
            #expect(try await MirrorClient().manifest(m.manifestURL(version: "1.0.0"), limit: 1000, file: "1.0.0.manifest").get() == Self.file)

            let ignores = try await Self.get(base, "ignores", offset: 65536, length: 65536)
            #expect(ignores.problem?.kind == .refused)
            #expect(ignores.problem?.reason.contains("does not honour Range") == true, "\(String(describing: ignores.problem))")
            let away = try await Self.get(base, "away", offset: 0, length: 10)
            #expect(away.problem?.kind == .refused)
            #expect(away.problem?.reason.contains("redirected") == true, "\(String(describing: away.problem))")
            // A compressed answer is never taken: refused by its header, or (when the HTTP stack
            // tried to decode it and could not) a failure.
            #expect(try await Self.get(base, "gzip", offset: 0, length: 10).problem != nil)
            #expect(await MirrorClient().manifest(m.manifestURL(version: "1.0.0"), limit: 999, file: "m").problem?.kind == .refused,
                    "a manifest over the limit")
            #expect(try await Self.get(base, "missing", offset: 0, length: 10).problem == .unavailable("has no 1.0.0/file (404)"))
        }
    }

    @Test func aMirrorTooSlowIsGivenUpOnAtTheDeadline() async throws {
        try await withFakeOrigin(Self.routes) { base in
            let started = ContinuousClock.now
            let slow = try await Self.get(base, "slow", offset: 0, length: 10, timeout: .milliseconds(300))
            #expect(slow.problem?.kind == .unavailable)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        // Nobody listening: unavailable, not a trap.
        let closed = try await Self.get(URL(string: "http://127.0.0.1:1")!, "m", offset: 0, length: 10)
        #expect(closed.problem?.kind == .unavailable)
    }
}

extension Result where Failure == MirrorProblem {
    var problem: MirrorProblem? { if case .failure(let p) = self { p } else { nil } }
}
