import Foundation
import TestSupport

/// `scripts/mirror_http.py` serving `root` on an ephemeral loopback port (a static mirror with
/// Range support), killed by its pid at the end. `corrupt`: every range answer has a byte flipped.
final class MirrorServer {
    let process = Process()
    let port: Int

    init(directory: String, name: String, root: String, corrupt: Bool = false) async throws {
        let portFile = directory + "/\(name).port"
        try? FileManager.default.removeItem(atPath: portFile)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repoRoot + "/scripts/mirror_http.py", "--root", root, "--port-file", portFile]
            + (corrupt ? ["--corrupt-ranges"] : [])
        let log = directory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var port = 0
        let process = self.process
        try await eventually(within: 20, "mirror \(name) is ready") {
            guard process.isRunning else { throw NodeTestError("mirror \(name) exited: \(String(decoding: try readBytes(log), as: UTF8.self))") }
            guard let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return false
            }
            port = p
            return true
        }
        self.port = port
    }

    /// The `--mirror` URL of `app` on this server.
    func url(_ app: String) -> String { "http://127.0.0.1:\(port)/\(app)" }

    /// SIGKILL, then waits (with a deadline) until Foundation has seen it exit.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    deinit { stop() }
}

/// Lays out a mirror of `app` under `root` as a publisher would: `Manifests/APP/` with each
/// release's bundle directory beside its manifest (`root/APP/VERSION.manifest`, `root/APP/VERSION/`).
func layOutMirror(root: String, manifests: String, app: String, version: String, bundle: String) throws {
    let dir = root + "/" + app
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: manifests + "/\(app)/\(version).manifest", toPath: dir + "/\(version).manifest")
    let copy = try runProgram("/bin/cp", ["-a", bundle, dir + "/" + version])
    guard copy.code == 0 else { throw NodeTestError("cp -a failed: \(copy.stderr)") }
}
