import BundlecastCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import Origin

/// An origin's routes in the test process over a fresh database: each request goes straight
/// to the router the server runs (HummingbirdTesting's `.router`), no socket and no process.
/// The event-loop fast path in front of it is tested over a real socket in ``OriginAPITests``.
struct RoutedOrigin {
    let store: OriginStore
    let api: OriginAPI
    /// The origin's clock: notices in these tests are created at 1_700_000_000.
    static let now: UInt64 = 1_800_000_000

    /// Registers `apps` with the demo key, as `--trust APP=Keys/demo-test-only.pub` does.
    init(directory: String, apps: [String] = ["hello-fleet", "twin"], signingKey: SecretKey? = nil) throws {
        let path = directory + "/origin.sqlite"
        store = try OriginStore(path: path, create: true)
        for app in apps { _ = try store.register(app: app, key: demoKey.publicKey, now: Self.now) }
        var settings = OriginSettings(databasePath: path)
        settings.signingKey = signingKey
        api = OriginAPI(store: store, board: NoticeBoard(try store.allLatest()), metrics: OriginMetrics(), settings: settings,
                        logger: Logger(label: "origin") { _ in SwiftLogNoOpLogHandler() }, clock: { Self.now })
    }

    /// Runs `body` with a client of the origin's router.
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await Application(router: OriginServer.router(api)).test(.router, body)
    }

    /// The Prometheus text of this origin's metrics.
    var metrics: String { String(decoding: api.metrics.text(), as: UTF8.self) }

    /// Waits, with a deadline, until `count` long-polls wait on the board.
    func waitForLongPolls(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if metrics.contains("bundlecast_origin_long_polls_waiting \(count)") { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw OriginTestError("the origin never had \(count) long-poll(s) waiting")
    }
}

extension TestClientProtocol {
    /// One request; `body` as the raw bytes sent.
    func send(_ method: HTTPRequest.Method, _ uri: String, body: [UInt8]? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
    }
}

extension TestResponse {
    var code: Int { status.code }
    var bytes: [UInt8] { Array(buffer: body) }
    var text: String { String(buffer: body) }
    func header(_ name: HTTPField.Name) -> String? { headers[name] }

    /// The `error` of a JSON error body.
    var error: String? {
        (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["error"] as? String
    }

    /// The JSON body as a dictionary.
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] }
}
