import BundlecastCore
import Foundation
import Testing
import TestSupport

/// `--serve` over real sockets: bytes as installed, HEAD without a body on a kept-alive
/// connection, a tree changed on disk refused, install events on a stream.
@Suite(.serialized) struct ContentServerTests {
    static let sample = repoRoot + "/Samples/hello-fleet"

    func release(_ version: String, into node: NodeProcess, manifests: String) throws {
        let r = try runBundlecast(["release", Self.sample + "/" + version, "--app", "hello-fleet", "--version", version,
                                   "--key", repoRoot + "/Keys/demo-test-only.key", "--manifests", manifests, "--node", "127.0.0.1:\(node.adminPort)"])
        guard r.code == 0 else { throw NodeTestError("release failed: \(r.err)") }
    }

    /// A node with `--serve` that has installed 1.0.0, and its content server's port.
    func servingNode(in dir: String) async throws -> (NodeProcess, Int) {
        let node = try NodeProcess(directory: dir, name: "n", extra: ["--serve", "127.0.0.1:0"])
        do {
            let port = try #require(node.servePort)
            try release("1.0.0", into: node, manifests: dir + "/Manifests")
            try await eventually(within: 30, "1.0.0 installed") { node.current() == "1.0.0" }
            return (node, port)
        } catch {
            node.kill9()
            throw error
        }
    }

    func curl(_ arguments: [String]) throws -> ProcessOutcome {
        try runProgram("/usr/bin/curl", ["-s", "--max-time", "10"] + arguments)
    }

    @Test func installedFilesAreServedByteForByte() async throws {
        try await withTemporaryDirectory { dir in
            let (node, port) = try await servingNode(in: dir)
            defer { node.kill9() }
            let base = "http://127.0.0.1:\(port)/apps/hello-fleet"
            let corpus = try readBytes(Self.sample + "/1.0.0/share/corpus.txt")
            let whole = try curl(["-L", "-o", dir + "/got", base + "/current/share/corpus.txt"])
            #expect(whole.code == 0)
            #expect(try readBytes(dir + "/got") == corpus)
            _ = try curl(["-r", "70000-70999", "-o", dir + "/part", base + "/1.0.0/share/corpus.txt"])
            #expect(try readBytes(dir + "/part") == Array(corpus[70000..<71000]))

            // HEAD then GET on one connection: had HEAD sent a body, the second answer would be garbled.
            let socket = try #require(RawConnection(port: port, timeout: 5))
            socket.send(Array("HEAD /apps/hello-fleet/1.0.0/share/motd.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /apps/hello-fleet/1.0.0/share/motd.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            let answers = String(decoding: try #require(socket.readUntilClosed()), as: UTF8.self)
            let motd = String(decoding: try readBytes(Self.sample + "/1.0.0/share/motd.txt"), as: UTF8.self)
            let parts = answers.components(separatedBy: "\r\n\r\n")
            #expect(parts.count == 3 && parts[0].hasPrefix("HTTP/1.1 200") && parts[1].hasPrefix("HTTP/1.1 200") && parts[2] == motd, "\(answers)")

            // The installed file no longer the size its manifest signs: refused, and the node goes on.
            let installed = node.data + "/apps/hello-fleet/1.0.0/share/motd.txt"
            chmod(installed, 0o644)
            let handle = try #require(FileHandle(forWritingAtPath: installed))
            handle.seekToEndOfFile()
            handle.write(Data("appended\n".utf8))
            try handle.close()
            let changed = try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/1.0.0/share/motd.txt"])
            #expect(changed.stdout == "500")
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/1.0.0/README"]).stdout == "500")
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/1.0.0/bin/hello"]).stdout == "200")
        }
    }

    /// Pipelined requests from a client that never reads: once its answers fill the write
    /// buffer the node stops reading, so they wait in the client's socket, not in the node.
    @Test func aClientThatPipelinesAndNeverReadsCannotGrowTheNode() async throws {
        try await withTemporaryDirectory { dir in
            let (node, port) = try await servingNode(in: dir)
            defer { node.kill9() }
            let before = try #require(HostilePeerTests().peakRSS(node))
            let request = Array("GET /apps/hello-fleet/none HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
            let flood = [[UInt8]](repeating: request, count: (24 << 20) / request.count).flatMap { $0 }
            let socket = try #require(RawConnection(port: port, timeout: 5, receiveBuffer: 4096, sendTimeout: 2))
            let sent = socket.sendSome(flood)
            let after = try #require(HostilePeerTests().peakRSS(node))
            print("pipelined flood: \(sent >> 10) KiB of \(flood.count >> 10) KiB taken, peak RSS \(before >> 20) -> \(after >> 20) MiB")
            #expect(after < before + (48 << 20), "peak RSS grew from \(before >> 20) to \(after >> 20) MiB")
            #expect(node.process.isRunning)
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/apps/hello-fleet/current/share/motd.txt", "-L"]).stdout == "200")
        }
    }

    @Test func aStreamHearsTheVersionAtConnectThenEachInstallAndRollback() async throws {
        try await withTemporaryDirectory { dir in
            let (node, port) = try await servingNode(in: dir)
            defer { node.kill9() }
            let stream = Process()
            stream.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            stream.arguments = ["-sN", "--max-time", "60", "-o", dir + "/events", "http://127.0.0.1:\(port)/apps/hello-fleet/events"]
            try stream.run()
            defer { kill(stream.processIdentifier, SIGKILL) }
            func events() -> String { (try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "" }
            try await eventually(within: 10, "the stream's opening") { events().contains("event: current\nid: 1\n") }
            #expect(events().hasPrefix("retry: "))
            try release("1.1.0", into: node, manifests: dir + "/Manifests")
            try await eventually(within: 30, "the install event") {
                events().contains("event: installed\nid: 2\ndata: {\"app\":\"hello-fleet\",\"previous\":\"1.0.0\",\"sequence\":2,\"version\":\"1.1.0\"}\n\n")
            }
            // A rollback is told as an install of the version gone back to.
            let back = try runBundlecast(["rollback", "hello-fleet", "--node", "127.0.0.1:\(node.adminPort)"])
            #expect(back.code == 0, "\(back.err)")
            try await eventually(within: 30, "the rollback event") {
                events().contains("event: installed\nid: 1\ndata: {\"app\":\"hello-fleet\",\"previous\":\"1.1.0\",\"sequence\":1,\"version\":\"1.0.0\"}\n\n")
            }
            #expect(events().components(separatedBy: "event: installed").count == 3, "one event per install: \(events())")
        }
    }

    @Test func offLoopbackWithoutATokenTheNodeDoesNotStart() throws {
        try withTemporaryDirectory { dir in
            let r = try runBundlecast(["node", "--data", dir + "/n", "--gossip", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--transfer", "127.0.0.1:0",
                                       "--trust", "hello-fleet=\(demoPub)", "--serve", "0.0.0.0:0"])
            #expect(r.code != 0)
            #expect(r.err.contains("--serve 0.0.0.0:0 is not loopback: give --serve-token FILE"))
            #expect(r.err.split(separator: "\n").count == 1)
        }
    }
}
