import Foundation
import TestSupport

/// A real `bundlecast origin` on an ephemeral loopback port, killed by its pid at the end.
final class OriginRunner {
    let process = Process()
    let base: String

    init(directory: String, extra: [String] = []) async throws {
        let ready = directory + "/origin.json"
        try? FileManager.default.removeItem(atPath: ready)
        process.executableURL = URL(fileURLWithPath: bundlecastPath)
        process.arguments = ["origin", "--listen", "127.0.0.1:0", "--db", directory + "/origin.sqlite", "--ready-file", ready,
                             "--trust", "hello-fleet=\(demoPub)"] + extra
        let log = directory + "/origin.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var port = 0
        let process = self.process
        try await eventually(within: 20, "the origin is ready") {
            guard process.isRunning else { throw NodeTestError("the origin exited: \(String(decoding: try readBytes(log), as: UTF8.self))") }
            guard let data = FileManager.default.contents(atPath: ready),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Int], let p = json["http"] else { return false }
            port = p
            return true
        }
        base = "http://127.0.0.1:\(port)"
    }

    /// SIGKILL, then waits (with a deadline) until Foundation has seen it exit.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    deinit { stop() }
}
