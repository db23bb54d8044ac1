@_exported import TestSupport
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Origin
import Testing

let bundlecastPath = repoRoot + "/.build/debug/bundlecast"

/// A real `bundlecast origin` process on an ephemeral loopback port, killed
/// by its pid when the test ends, whatever happened.
final class OriginProcess {
    let directory: String
    let process = Process()
    let port: Int
    let stderrPath: String

    var base: String { "http://127.0.0.1:\(port)" }

    /// Starts an origin and waits (with a deadline) for its ready file.
    init(directory: String, database: String = "origin.sqlite", arguments: [String] = []) throws {
        self.directory = directory
        let ready = directory + "/ready-\(UUID().uuidString).json"
        stderrPath = directory + "/origin-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: bundlecastPath)
        process.arguments = ["origin", "--listen", "127.0.0.1:0", "--db", directory + "/" + database, "--ready-file", ready] + arguments
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) {
            guard process.isRunning else {
                throw OriginTestError("origin exited with \(process.terminationStatus): \(Self.read(stderrPath))")
            }
            guard Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw OriginTestError("origin not ready within 30 s: \(Self.read(stderrPath))")
            }
            usleep(20_000)
        }
        port = try ReadyFile.read(ready).http
    }

    var log: String { Self.read(stderrPath) }

    /// Waits, with a deadline, until the origin reports `count` open long-polls.
    func waitForLongPolls(_ count: Int) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let metrics = try await http("GET", base + "/metrics").text
            if metrics.contains("bundlecast_origin_long_polls_waiting \(count)") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw OriginTestError("the origin never had \(count) long-poll(s) waiting")
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits for the exit with a deadline; returns the exit status.
    @discardableResult
    func stop(deadline seconds: TimeInterval = 20) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct OriginTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct HTTPAnswer {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }

    /// The `error` of a JSON error body.
    var error: String? {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
    }
}

func http(_ method: String, _ url: String, body: [UInt8]? = nil, headers: [String: String] = [:], timeout: TimeInterval = 30) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = timeout
    if let body { request.httpBody = Data(body) }
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
    return HTTPAnswer(status: http.statusCode, headers: fields, body: data)
}

let demoKey: SecretKey = {
    let text = try! String(contentsOfFile: repoRoot + "/Keys/demo-test-only.key", encoding: .utf8)
    return try! SecretKey(fileText: text) { nil }
}()
let demoPub = repoRoot + "/Keys/demo-test-only.pub"
let otherKey = SecretKey.fromSeed([UInt8](repeating: 9, count: 32), keyID: KeyID(bytes: [9, 9, 9, 9, 9, 9, 9, 9])!)

/// A signed notice; the manifest bytes are arbitrary (the origin never sees manifests).
func notice(app: String = "hello-fleet", sequence: UInt64, channel: String = "stable", version: String = "1.0.0",
            rollout: UInt8 = 100, expires: UInt64 = 4_000_000_000, key: SecretKey = demoKey) throws -> [UInt8] {
    let manifest = Array("manifest of \(version)".utf8)
    let n = try Notice(kind: .release, app: app, version: SemanticVersion(version), sequence: sequence, channel: channel,
                       manifest: Blake2b.digest256(manifest), size: 1, rollout: rollout, created: 1_700_000_000, expires: expires)
    return try SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
}
