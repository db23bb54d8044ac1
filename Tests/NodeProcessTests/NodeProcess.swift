import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Node
import Testing
import TestSupport

let bundlecastPath = repoRoot + "/.build/debug/bundlecast"
let demoPub = repoRoot + "/Keys/demo-test-only.pub"

/// A real `bundlecast node` on ephemeral loopback ports, killed by its pid at the end.
final class NodeProcess {
    let data: String
    let process = Process()
    let gossipPort: Int
    let adminPort: Int
    let transferPort: Int
    /// The content server's port, with `--serve`.
    var servePort: Int?

    init(directory: String, name: String, join: Int? = nil, extra: [String] = []) throws {
        data = directory + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: data + "/ready.json")
        process.executableURL = URL(fileURLWithPath: bundlecastPath)
        process.arguments = ["node", "--data", data, "--gossip", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--transfer", "127.0.0.1:0",
                             "--stagger", "0s", "--trust", "hello-fleet=\(demoPub)"] + (join.map { ["--join", "127.0.0.1:\($0)"] } ?? []) + extra
        // The node's log, appended across restarts, for reading when a test fails.
        let log = data + "/node.log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let ready = data + "/ready.json"
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let bytes = FileManager.default.contents(atPath: ready),
               let json = try? JSONSerialization.jsonObject(with: bytes) as? [String: Int],
               let g = json["gossip"], let a = json["admin"], let t = json["transfer"] {
                gossipPort = g
                adminPort = a
                transferPort = t
                servePort = json["serve"]
                break
            }
            guard process.isRunning, Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw NodeTestError("node \(name) did not become ready")
            }
            usleep(20_000)
        }
    }

    var admin: String { "http://127.0.0.1:\(adminPort)" }

    func status() async throws -> NodeStatus { try await NodeAdminClient(url: admin).status() }

    /// The sequence of the newest notice this node accepted for `app`.
    func sequence(_ app: String) async throws -> UInt64? {
        try await status().`self`.apps.first { $0.app == app }?.sequence
    }

    /// Where `current` of `app` points, if anywhere.
    func current(_ app: String = "hello-fleet") -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: data + "/apps/\(app)/current")
    }

    var id: String { get async throws { try await status().`self`.id } }

    /// SIGKILL, then waits (with a deadline) until Foundation has seen it exit.
    /// (Not `waitUntilExit()`: it can hang on a child that had already died.)
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    deinit { kill9() }
}

struct NodeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or the deadline passes.
func eventually(within seconds: TimeInterval, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw NodeTestError("not within \(seconds) s: \(what)")
}

/// Runs the CLI to completion.
func runBundlecast(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let r = try runProgram(bundlecastPath, arguments)
    return (r.code, r.stdout, r.stderr)
}

func post(_ url: String, _ body: [UInt8], type: String = "application/octet-stream", headers: [String: String] = [:]) async throws -> Int {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = "POST"
    request.httpBody = Data(body)
    request.setValue(type, forHTTPHeaderField: "Content-Type")
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (_, response) = try await URLSession.shared.data(for: request)
    return (response as! HTTPURLResponse).statusCode
}

let demoKey: SecretKey = {
    let text = try! String(contentsOfFile: repoRoot + "/Keys/demo-test-only.key", encoding: .utf8)
    return try! SecretKey(fileText: text) { nil }
}()

func signedNotice(sequence: UInt64, version: String, app: String = "hello-fleet", key: SecretKey = demoKey) throws -> [UInt8] {
    let manifest = Array("manifest \(version)".utf8)
    let n = try Notice(kind: .release, app: app, version: SemanticVersion(version), sequence: sequence, channel: "stable",
                       manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
    return try SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
}
