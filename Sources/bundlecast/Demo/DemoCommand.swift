import ArgumentParser
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Node
import Publisher

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a whole fleet on loopback: an origin, N nodes, two releases spreading peer to peer.",
        discussion: """
            In a temporary directory, starts an origin and N nodes as separate processes (SQLite \
            files, ephemeral loopback ports, the test-only demo key), releases the sample app's \
            1.0.0 with --origin and --node into the first node, shows the version spreading, then \
            releases 1.1.0 and shows that each node fetched only the changed chunks. Every node \
            serves the sample web app it installed (--serve): the demo prints each node's page, \
            and the live view says which version each one serves. Checks every \
            installed tree against its manifest, prints the final status, stops every process it \
            started and exits 0; exits 1 with the reason if the fleet does not converge in time.

            Run it from the repository root (it reads Samples/ and Keys/).

            Examples:
              bundlecast demo
              bundlecast demo --nodes 10 --keep
            """
    )

    @Option(help: "How many nodes to start.")
    var nodes = 6

    @Flag(help: "Leave the fleet running at the end and print the commands to look at it.")
    var keep = false

    @Option(help: ArgumentHelp("The sample app's folder, holding 1.0.0/ and 1.1.0/.", valueName: "dir"))
    var samples = "Samples/hello-fleet"

    @Option(help: ArgumentHelp("The demo key pair (KEY.key and KEY.pub); test-only.", valueName: "path"))
    var key = "Keys/demo-test-only"

    static let defaultDeadline = Span(seconds: 60)

    @Option(help: .withDefault("Give up on a step that has not converged after this long.", valueName: "duration", DemoCommand.defaultDeadline),
            transform: Span.parser(Span.positive))
    var deadline = DemoCommand.defaultDeadline

    func validate() throws {
        guard (1...64).contains(nodes) else { throw ValidationError("--nodes must be between 1 and 64") }
    }

    func run() async throws {
        try await reportingAsync {
            for path in [samples + "/1.0.0", samples + "/1.1.0", key + ".key", key + ".pub"] where access(path, R_OK) != 0 {
                throw Failure("\(path) is missing: run `bundlecast demo` from the repository root")
            }
            let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let directory = try makeTemporaryDirectory()
            let fleet = DemoFleet(directory: directory, binary: binary)
            var finished = false
            defer { if !finished || !keep { fleet.stop() } }
            let step = TimeInterval(deadline.seconds)
            let trust = "hello-fleet=" + absolute(key + ".pub")
            let view = DemoView(tty: isatty(STDOUT_FILENO) == 1)

            view.heading("Starting an origin and \(nodes) nodes in \(directory)")
            try fleet.startOrigin(trust: trust, deadline: Date().addingTimeInterval(step))
            print("origin  \(fleet.originURL)  (serves signed notices only; it has no route for bundle bytes)")
            let first = try fleet.startNode("node1", trust: trust, join: nil, deadline: Date().addingTimeInterval(step))
            for i in 2...max(2, nodes) where i <= nodes {
                _ = try fleet.startNode("node\(i)", trust: trust, join: first.gossip, deadline: Date().addingTimeInterval(step))
            }
            for node in fleet.nodes { print("\(node.name)  admin 127.0.0.1:\(node.admin)  gossip \(node.gossip)  data \(node.data)") }
            print("each node serves the sample web app it installed; open one in a browser (--keep keeps them running):")
            for node in fleet.nodes { print("\(node.name)  \(node.page)") }
            try await view.wait(fleet, until: Date().addingTimeInterval(step), what: "every node to see the whole fleet") { statuses in
                statuses.allSatisfy { $0?.members.filter { $0.state == "alive" }.count == nodes }
            }

            let manifests = directory + "/Manifests"
            var before: [UInt64] = []
            for (version, note) in [("1.0.0", "the first release"), ("1.1.0", "a small change")] {
                view.heading("Releasing \(version), \(note): signed, announced to the origin, seeded into node1")
                // Counted before the release: the nodes may fetch it before `release` returns.
                before = try await bytesIn(fleet)
                try runVisible(binary, ["release", absolute(samples + "/" + version), "--app", "hello-fleet", "--version", version,
                                        "--key", absolute(key + ".key"), "--manifests", manifests,
                                        "--origin", fleet.originURL, "--node", "127.0.0.1:\(first.admin)"])
                try await view.wait(fleet, until: Date().addingTimeInterval(step), what: "\(version) installed on every node", live: version) { statuses in
                    statuses.allSatisfy { $0?.`self`.apps.first?.installed == version }
                }
                let manifest = try ManifestCoder.decode(try PosixFile.readAll(manifests + "/hello-fleet/\(version).manifest", limit: 64 << 20))
                for node in fleet.nodes {
                    let differences = try DirectoryVerifier.compare(manifest, with: node.data + "/apps/hello-fleet/current")
                    guard differences.isEmpty else { throw Failure("\(node.name)'s installed \(version) differs from the release: \(differences[0])") }
                }
                print("every installed tree matches the signed manifest of \(version)")
            }
            let old = try ManifestCoder.decode(try PosixFile.readAll(manifests + "/hello-fleet/1.0.0.manifest", limit: 64 << 20))
            let new = try ManifestCoder.decode(try PosixFile.readAll(manifests + "/hello-fleet/1.1.0.manifest", limit: 64 << 20))
            let had = Set(old.distinctChunks.map(\.digest))
            let changed = new.distinctChunks.filter { !had.contains($0.digest) }.reduce(UInt64(0)) { $0 + UInt64($1.size) }
            view.heading("What each node fetched for 1.1.0 (\(Format.bytes(new.totalSize)) in all, \(Format.bytes(changed)) in new chunks)")
            let after = try await bytesIn(fleet)
            for (i, node) in fleet.nodes.enumerated() where i > 0 {
                print("\(node.name)  \(Format.bytes(after[i] - before[i])) from peers")
            }
            print("node1 was seeded by the publisher (`release --node`); the origin sent no bundle bytes: its requests were")
            for line in try await originRequests(fleet.originURL) { print("  " + line) }

            // What each node installed travels by gossip: wait until node1 has heard it from all.
            try await view.wait(fleet, until: Date().addingTimeInterval(step), what: "node1 to hear that every node runs 1.1.0") { statuses in
                statuses.first??.apps.first?.spread.first.map { $0.version == "1.1.0" && $0.nodes == nodes } == true
            }
            view.heading("bundlecast status --node 127.0.0.1:\(first.admin) --members")
            let status = try await fleet.client(first).status()
            print(StatusReport(status, app: nil, members: true, now: UInt64(Date().timeIntervalSince1970)).text)
            finished = true
            if keep {
                print("""

                    The fleet keeps running. Open a node's page, then release another version and watch it reload:
                    \(fleet.nodes.map { "  \($0.name)  \($0.page)" }.joined(separator: "\n"))
                    Try:
                      \(binary) status --node 127.0.0.1:\(first.admin) --members --watch
                      \(binary) rollback hello-fleet --node 127.0.0.1:\(fleet.nodes.last!.admin)
                      ls -l \(first.data)/apps/hello-fleet
                    Logs: \(directory)/*/node.log and \(directory)/origin.log
                    Stop it: kill \(fleet.nodes.map { String($0.process.processIdentifier) }.joined(separator: " ")) \(fleet.origin!.processIdentifier)
                    """)
            } else {
                fleet.stop()
                print("\nevery process stopped; logs and data are in \(directory) (node.log per node, origin.log; remove it when done)")
                print("run `bundlecast demo --keep` to keep the fleet running")
            }
        }
    }

    private func bytesIn(_ fleet: DemoFleet) async throws -> [UInt64] {
        var out: [UInt64] = []
        for node in fleet.nodes { out.append(try await fleet.client(node).status().`self`.transfer?.bytesIn ?? 0) }
        return out
    }

    /// The origin's request counters, from its Prometheus `/metrics`.
    private func originRequests(_ base: String) async throws -> [String] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: base + "/metrics")!)
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("bundlecast_origin_requests_total{") }.map(String.init).sorted()
    }

    private func runVisible(_ binary: String, _ arguments: [String]) throws {
        print("$ bundlecast " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("`bundlecast \(arguments[0])` failed (exit \(process.terminationStatus))") }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    private func makeTemporaryDirectory() throws -> String {
        var template = Array(((ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/bundlecast-demo.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }
}
