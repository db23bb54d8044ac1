import Foundation
import Hummingbird
import Logging
import Synchronization

/// Runs `body` with a tiny HTTP server in the test process on a port 0 loopback port,
/// whose routes `configure` sets; the server stops when `body` returns or throws.
func withFakeOrigin<T: Sendable>(_ configure: (Router<BasicRequestContext>) -> Void,
                                 _ body: @Sendable @escaping (URL) async throws -> T) async throws -> T {
    let router = Router()
    configure(router)
    let port = Mutex<Int?>(nil)
    var logger = Logger(label: "fake-origin")
    logger.logLevel = .critical
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                          onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw FakeOriginError("the fake origin did not start within 20 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let url = URL(string: "http://127.0.0.1:\(port.withLock { $0 }!)")!
        group.addTask { try await body(url) }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let result { return result }
        }
        throw FakeOriginError("the fake origin stopped before the test ended")
    }
}

struct FakeOriginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
