import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Node

/// The processes of `bundlecast demo`: one origin and N nodes on loopback,
/// each a real `bundlecast` process with its own data directory and log.
final class DemoFleet {
    struct Node {
        let name: String
        let data: String
        let process: Process
        var admin: Int = 0
        var gossip: Int = 0
        /// The content server (`--serve`).
        var serve: Int = 0

        /// The sample app's page on this node: it redirects to the version installed.
        var page: String { "http://127.0.0.1:\(serve)/apps/hello-fleet/" }
    }

    let directory: String
    let binary: String
    var origin: Process?
    var originURL = ""
    var nodes: [Node] = []

    init(directory: String, binary: String) {
        self.directory = directory
        self.binary = binary
    }

    /// Starts a `bundlecast` subcommand with its stderr in `log`.
    func spawn(_ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        return process
    }

    func startOrigin(trust: String, deadline: Date) throws {
        let ready = directory + "/origin.json"
        origin = try spawn(["origin", "--listen", "127.0.0.1:0", "--db", directory + "/origin.sqlite", "--ready-file", ready,
                            "--trust", trust], log: directory + "/origin.log")
        let json = try waitForJSON(ready, process: origin!, what: "the origin", deadline: deadline)
        guard let port = json["http"] else { throw Failure("the origin's ready file has no port: see \(directory)/origin.log") }
        originURL = "http://127.0.0.1:\(port)"
    }

    func startNode(_ name: String, trust: String, join: Int?, deadline: Date) throws -> Node {
        let data = directory + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var arguments = ["node", "--data", data, "--gossip", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--transfer", "127.0.0.1:0",
                         "--serve", "127.0.0.1:0",
                         "--trust", trust, "--origin", originURL, "--stagger", "0s", "--max-upload-rate", "20M"]
        if let join { arguments += ["--join", "127.0.0.1:\(join)"] }
        var node = Node(name: name, data: data, process: try spawn(arguments, log: data + "/node.log"))
        let json = try waitForJSON(data + "/ready.json", process: node.process, what: "node \(name)", deadline: deadline)
        node.admin = json["admin"] ?? 0
        node.gossip = json["gossip"] ?? 0
        node.serve = json["serve"] ?? 0
        nodes.append(node)
        return node
    }

    private func waitForJSON(_ path: String, process: Process, what: String, deadline: Date) throws -> [String: Int] {
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: path),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Int] {
                return json
            }
            guard process.isRunning else { throw Failure("\(what) exited at start; its log is in \(directory)") }
            usleep(20_000)
        }
        throw Failure("\(what) did not start within the deadline; its log is in \(directory)")
    }

    func client(_ node: Node) throws -> NodeAdminClient { try NodeAdminClient(url: "http://127.0.0.1:\(node.admin)") }

    /// The version a node's content server hands out now: where its `current` redirect leads (nil: none yet).
    func served(_ node: Node) async -> String? {
        var request = URLRequest(url: URL(string: node.page + "current/")!, timeoutInterval: 2)
        request.httpMethod = "HEAD"
        guard let (_, response) = try? await URLSession.shared.data(for: request),
              (response as? HTTPURLResponse)?.statusCode == 200, let path = response.url?.path else { return nil }
        let parts = path.split(separator: "/")
        return parts.count >= 3 ? String(parts[2]) : nil
    }

    /// SIGTERM to everything, then SIGKILL whatever is still running after a few seconds.
    func stop() {
        let all = nodes.map(\.process) + (origin.map { [$0] } ?? [])
        for p in all where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while all.contains(where: \.isRunning) && Date() < deadline { usleep(20_000) }
        for p in all where p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }
}
