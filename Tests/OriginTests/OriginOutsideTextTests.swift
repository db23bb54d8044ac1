import BundlecastCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Origin
import Synchronization
import Testing

/// Text an attacker wrote reaches the origin's log (a parse error quotes the bytes it stopped
/// at) and the publisher's terminal (a hostile origin's `error`, up to 1 MiB): escaped by
/// ``PrintableText`` and cut short, never as it came.
@Suite struct OriginOutsideTextTests {
    /// ESC ] 52 writes the clipboard on some terminals; ESC [ 2 J clears the screen; U+009B is
    /// the one-byte CSI; U+202E reverses what follows.
    static let hostile = "\u{1B}]52;c;eA==\u{07}\u{1B}[2J\u{9B}31m\u{202E}"

    static func steering(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { $0 != "\n" && PrintableText.steersTerminal($0) }.map { $0 }
    }

    @Test func aRefusedNoticeIsLoggedWithItsControlsEscaped() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/origin.sqlite"
            let store = try OriginStore(path: path, create: true)
            _ = try store.register(app: "hello-fleet", key: demoKey.publicKey, now: RoutedOrigin.now)
            let lines = LogLines()
            let api = OriginAPI(store: store, board: NoticeBoard(try store.allLatest()), metrics: OriginMetrics(),
                                settings: OriginSettings(databasePath: path),
                                logger: Logger(label: "origin") { _ in CapturingLogHandler(lines: lines) }, clock: { RoutedOrigin.now })
            // The trusted comment's first pair no longer starts with `bundlecast=`: the parse error quotes it.
            let body = Array(String(decoding: try notice(sequence: 4), as: UTF8.self)
                .replacingOccurrences(of: "trusted comment: bundlecast=", with: "trusted comment: \(Self.hostile)bundlecast=").utf8)
            let status = try await Application(router: OriginServer.router(api)).test(.router) { client in
                try await client.send(.post, "/v1/apps/hello-fleet/notices", body: body).code
            }
            #expect(status == 400)
            let logged = lines.all.joined(separator: "\n")
            #expect(logged.contains("refused notice"), "\(logged)")
            #expect(Self.steering(logged).isEmpty, "\(logged.debugDescription)")
            #expect(logged.contains("\\u{1B}]52;c;"), "shown escaped, not dropped: \(logged)")
        }
    }

    @Test func aHostileOriginsErrorReachesThePublisherEscapedAndShort() throws {
        let error = Self.hostile + String(repeating: "A", count: 1 << 20)
        let data = try JSONEncoder().encode(["error": error])
        let line = OriginClient.refusal(409, data, doing: "accept the notice")
        #expect(Self.steering(line).isEmpty, "\(line.prefix(300).debugDescription)")
        #expect(line.contains("\\u{1B}]52;c;"))
        #expect(line.count < 600, "\(line.count) characters")
        #expect(line.hasPrefix("the origin refused to accept the notice (409): "))
        #expect(line.hasSuffix("; release or re-sign with a higher sequence"))
    }
}

/// Log lines kept in memory: each event's message and metadata.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Keeps every event in ``LogLines``, with its metadata as `key=value` the way the origin's
/// stderr handler writes it.
struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("\(event.message) \(fields)")
    }
}
