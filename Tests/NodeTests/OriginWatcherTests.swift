import BoundedHTTP
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Logging
@testable import Node
import Synchronization
import Testing

/// The node's origin client against a fake origin in the test process: forged headers,
/// endless bodies and a single "no timestamps" answer must not stop it learning.
@Suite struct OriginWatcherTests {
    static let key = SecretKey.generate()
    static let originKey = SecretKey.generate()

    static func notice(_ sequence: UInt64) throws -> [UInt8] {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try Notice(kind: .release, app: "acme", version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: "stable",
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
        return try SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
    }

    /// Runs a watcher of app `acme` on `origin` until `done` holds (or 15 s pass); the notices it accepted.
    static func watch(_ origin: URL, timestamps: OriginWatcher.Timestamps? = nil,
                      until done: @Sendable @escaping ([UInt64]) -> Bool) async throws -> [UInt64] {
        let intake = NoticeIntake(trusted: ["acme": key.publicKey])
        let accepted = Mutex<[UInt64]>([])
        let watcher = OriginWatcher(
            origin: origin, apps: ["acme"], channel: "stable", held: { _ in accepted.withLock { $0.last ?? 0 } },
            deliver: { body in
                switch intake.check(body, now: UInt64(Date().timeIntervalSince1970)) {
                case .success(let signed):
                    let held = accepted.withLock { $0.last ?? 0 }
                    let n = signed.notice
                    guard n.sequence > held else { return .refused(issued: OriginWatcher.Issued(app: n.app, channel: n.channel, sequence: n.sequence)) }
                    accepted.withLock { $0.append(n.sequence) }
                    return .accepted
                case .failure(.expired):
                    guard let n = try? SignedNotice(bytes: body).notice else { return .refused(issued: nil) }
                    return .refused(issued: OriginWatcher.Issued(app: n.app, channel: n.channel, sequence: n.sequence))
                case .failure: return .refused(issued: nil)
                }
            },
            catchUp: { _ in }, timestamps: timestamps, logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await watcher.run() }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + .seconds(15)
            while !done(accepted.withLock { $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            return accepted.withLock { $0 }
        }
    }

    /// `latest` as a real origin answers a long-poll: the notice when it is newer than `after`, else 204 after a moment.
    static func latest(_ request: Request, _ notice: [UInt8], sequence: UInt64) async throws -> Response {
        let after = request.uri.queryParameters["after"].flatMap { UInt64($0) } ?? 0
        guard after < sequence else {
            try await Task.sleep(for: .milliseconds(50))
            return Response(status: .noContent)
        }
        return Response(status: .ok, headers: [.eTag: "\"\(sequence)\""], body: .init(byteBuffer: ByteBuffer(bytes: notice)))
    }

    @Test func aForgedNoticeWithAHugeETagDoesNotStopTheNodeLearning() async throws {
        let genuine = try Self.notice(3)
        var tampered = try Self.notice(2)
        tampered[tampered.count - 3] ^= 1
        let forged = tampered
        let served = Atomic(0)
        let accepted = try await withFakeOrigin({ router in
            router.get("/v1/apps/acme/channels/stable/latest") { request, _ in
                // First a forged notice claiming the highest sequence there is in its ETag, then the real one.
                if served.add(1, ordering: .relaxed).oldValue == 0 {
                    return Response(status: .ok, headers: [.eTag: "\"\(UInt64.max)\""], body: .init(byteBuffer: ByteBuffer(bytes: forged)))
                }
                return try await Self.latest(request, genuine, sequence: 3)
            }
        }) { origin in try await Self.watch(origin) { $0.contains(3) } }
        #expect(accepted == [3])
    }

    @Test func anEndlessAnswerIsRefusedAtItsLimitAndTheNodeGoesOnLearning() async throws {
        let genuine = try Self.notice(1)
        let served = Atomic(0)
        let accepted = try await withFakeOrigin({ router in
            router.get("/v1/apps/acme/channels/stable/latest") { request, _ in
                guard served.add(1, ordering: .relaxed).oldValue == 0 else { return try await Self.latest(request, genuine, sequence: 1) }
                // Endless, without a Content-Length: it stops when the node hangs up.
                return Response(status: .ok, body: .init { writer in
                    while true { try await writer.write(ByteBuffer(repeating: 0x41, count: 64 << 10)) }
                })
            }
        }) { origin in try await Self.watch(origin) { $0.contains(1) } }
        #expect(accepted == [1])
    }

    @Test func everyFetchStopsAtItsLimitWithOneClearError() async throws {
        try await withFakeOrigin({ router in
            router.get("/sized") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x41, count: 100_000))) }
            router.get("/streamed") { _, _ in
                Response(status: .ok, body: .init { writer in
                    for _ in 0..<100 { try await writer.write(ByteBuffer(repeating: 0x41, count: 10_000)) }
                    try await writer.finish(nil)
                })
            }
            router.get("/small") { _, _ in "small" }
        }) { origin in
            for path in ["/sized", "/streamed"] {
                let url = origin.appendingPathComponent(path)
                await #expect(throws: HTTPFetchError.tooLarge(url: url.absoluteString, limit: 65_536)) {
                    try await HTTPFetch.data(for: URLRequest(url: url), limit: 65_536)
                }
            }
            let (data, response) = try await HTTPFetch.data(for: URLRequest(url: origin.appendingPathComponent("/small")), limit: 5)
            #expect(response.statusCode == 200 && data == Data("small".utf8))
        }
    }

    /// A cookie an origin or a mirror sets is neither kept nor sent back: they are untrusted,
    /// and a kept cookie jar is a file with no bound.
    @Test func cookiesAreNeitherKeptNorSentBack() async throws {
        let seen = Mutex<[String]>([])
        // Names of this run's own: the shared jar is a file that outlives the process.
        let names = (0..<3).map { _ in "k" + UUID().uuidString.replacingOccurrences(of: "-", with: "") }
        try await withFakeOrigin({ router in
            router.get("/set") { _, _ in
                var headers = HTTPFields()
                for name in names { headers.append(HTTPField(name: .setCookie, value: "\(name)=v; Path=/; Expires=Wed, 01 Jan 2099 00:00:00 GMT")) }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "set")))
            }
            router.get("/echo") { request, _ in
                seen.withLock { $0.append(request.headers[.cookie] ?? "") }
                return "echo"
            }
        }) { origin in
            _ = try await HTTPFetch.data(for: URLRequest(url: origin.appendingPathComponent("/set")), limit: 100)
            _ = try await HTTPFetch.data(for: URLRequest(url: origin.appendingPathComponent("/echo")), limit: 100)
            #expect(seen.withLock { $0 } == [""], "no cookie sent back")
            let stored = (HTTPCookieStorage.shared.cookies(for: origin) ?? []).filter { names.contains($0.name) }
            #expect(stored.isEmpty, "none kept in the shared jar: \(stored.map(\.name))")
        }
    }

    /// A server that sends a byte now and then, each within the idle time-out, is given up on
    /// at twice that in all.
    @Test(.timeLimit(.minutes(1))) func aDrippingAnswerIsGivenUpOnAtTwiceTheTimeOut() async throws {
        try await withFakeOrigin({ router in
            router.get("/drip") { _, _ in
                Response(status: .ok, body: .init { writer in
                    while true {
                        try await writer.write(ByteBuffer(repeating: 0x41, count: 1))
                        try await Task.sleep(for: .milliseconds(300))
                    }
                })
            }
        }) { origin in
            let url = origin.appendingPathComponent("/drip")
            var request = URLRequest(url: url)
            request.timeoutInterval = 1
            await #expect(throws: HTTPFetchError.tooSlow(url: url.absoluteString, seconds: 2)) {
                try await HTTPFetch.data(for: request, limit: 1 << 20)
            }
        }
    }

    @Test func oneAnswerThatTheOriginSignsNoTimestampsDoesNotTurnThemOff() async throws {
        let stamp = try SignedTimestamp.sign(app: "acme", channel: "stable", sequence: 0, created: UInt64(Date().timeIntervalSince1970),
                                             expires: UInt64(Date().timeIntervalSince1970) + 3600, key: Self.originKey).bytes
        let asked = Atomic(0)
        let delivered = Mutex<[[UInt8]]>([])
        let done = Atomic(false)
        _ = try await withFakeOrigin({ router in
            router.get("/v1/apps/acme/channels/stable/latest") { _, _ in
                try await Task.sleep(for: .milliseconds(50))
                return Response(status: .noContent)
            }
            router.get("/v1/apps/acme/channels/stable/timestamp") { _, _ in
                if asked.add(1, ordering: .relaxed).oldValue == 0 {
                    return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"this origin signs no timestamps\"}")))
                }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: stamp)))
            }
        }) { origin in
            let timestamps = OriginWatcher.Timestamps(deliver: { body in
                delivered.withLock { $0.append(body) }
                done.store(true, ordering: .relaxed)
            }, refreshAfter: .milliseconds(100))
            return try await Self.watch(origin, timestamps: timestamps) { _ in done.load(ordering: .relaxed) }
        }
        #expect(delivered.withLock { $0 } == [stamp], "asked \(asked.load(ordering: .relaxed)) times")
    }

    /// An empty answer long before the wait asked for (a proxy that does not hold the
    /// request) is waited out as a failure is: not asked again as fast as the node can.
    @Test func anEmptyAnswerAtOnceIsNotAskedAgainAtOnce() async throws {
        let asked = Atomic(0)
        _ = try await withFakeOrigin({ router in
            router.get("/v1/apps/acme/channels/stable/latest") { _, _ in
                asked.add(1, ordering: .relaxed)
                return Response(status: .noContent)
            }
        }) { origin in
            let start = ContinuousClock.now
            return try await Self.watch(origin) { _ in ContinuousClock.now - start > .seconds(4) }
        }
        // Backing off from 1 s, doubling, with jitter: at most a handful in 4 s.
        #expect((1...8).contains(asked.load(ordering: .relaxed)), "asked \(asked.load(ordering: .relaxed)) times in 4 s")
    }
}
