import BundlecastCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
@testable import Node
import Synchronization
import Testing

/// A genuine notice of another app or another channel, answered once in place of the one asked
/// for (by a cache, a man in the middle, a confused origin), is a bad answer: its sequence
/// counts for its own app and channel only, and a long-poll past it would sleep through the
/// polled app's notices below it until the node restarts.
@Suite struct OriginWatcherForeignNoticeTests {
    static let key = SecretKey.generate()

    static func notice(app: String, channel: String, sequence: UInt64, expires: UInt64 = 4_000_000_000) throws -> [UInt8] {
        let manifest = Array("manifest \(app) \(channel) \(sequence)".utf8)
        let n = try Notice(kind: .release, app: app, version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: channel,
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: expires)
        return try SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
    }

    /// Runs a watcher of `acme` on `stable` until it accepts `sequence` of it (or 15 s pass); the
    /// sequences of it accepted. The node trusts `acme` and `tools`, and already holds #1000 of
    /// `tools` on `stable` and of `acme` on `beta`. Refusals are told as the node tells them.
    static func watch(_ origin: URL, until sequence: UInt64) async throws -> [UInt64] {
        let intake = NoticeIntake(trusted: ["acme": key.publicKey, "tools": key.publicKey])
        let held = Mutex<[String: UInt64]>(["tools/stable": 1000, "acme/beta": 1000])
        let accepted = Mutex<[UInt64]>([])
        let watcher = OriginWatcher(
            origin: origin, apps: ["acme"], channel: "stable", held: { app in held.withLock { $0["\(app)/stable"] ?? 0 } },
            deliver: { body in
                switch intake.check(body, now: UInt64(Date().timeIntervalSince1970)) {
                case .success(let signed):
                    let n = signed.notice
                    let isNew = held.withLock { h -> Bool in
                        guard n.sequence > h["\(n.app)/\(n.channel)", default: 0] else { return false }
                        h["\(n.app)/\(n.channel)"] = n.sequence
                        return true
                    }
                    guard isNew else { return .refused(issued: OriginWatcher.Issued(app: n.app, channel: n.channel, sequence: n.sequence)) }
                    if n.app == "acme", n.channel == "stable" { accepted.withLock { $0.append(n.sequence) } }
                    return .accepted
                case .failure(.expired):
                    guard let n = try? SignedNotice(bytes: body).notice else { return .refused(issued: nil) }
                    return .refused(issued: OriginWatcher.Issued(app: n.app, channel: n.channel, sequence: n.sequence))
                case .failure:
                    return .refused(issued: nil)
                }
            },
            catchUp: { _ in }, timestamps: nil, logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await watcher.run() }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + .seconds(15)
            while !accepted.withLock({ $0.contains(sequence) }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            return accepted.withLock { $0 }
        }
    }

    /// Another app's notice (stale or expired at the node, with a sequence far above the polled
    /// app's) or another channel's, answered once: the node backs off, asks again after what it
    /// holds, and learns the polled app's #3.
    @Test func aForeignNoticeAnsweredOnceDoesNotStopTheNodeLearning() async throws {
        let genuine = try Self.notice(app: "acme", channel: "stable", sequence: 3)
        let foreign: [(name: String, body: [UInt8])] = [
            ("another app's notice the node holds", try Self.notice(app: "tools", channel: "stable", sequence: 1000)),
            ("another app's expired notice", try Self.notice(app: "tools", channel: "stable", sequence: 5000, expires: 1_700_000_001)),
            ("another channel's notice the node holds", try Self.notice(app: "acme", channel: "beta", sequence: 1000)),
        ]
        for (name, body) in foreign {
            let served = Atomic(0)
            let accepted = try await withFakeOrigin({ router in
                router.get("/v1/apps/acme/channels/stable/latest") { request, _ in
                    if served.add(1, ordering: .relaxed).oldValue == 0 {
                        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: body)))
                    }
                    // From then on as a real origin answers: #3 to a node asking after less, else nothing new.
                    return try await OriginWatcherTests.latest(request, genuine, sequence: 3)
                }
            }) { origin in try await Self.watch(origin, until: 3) }
            #expect(accepted == [3], "\(name)")
        }
    }
}
