import BundlecastCore
import Foundation
import Logging
import Node
import Testing
import TestSupport

/// Whichever way a node stops (its task cancelled, or a start-up error after some of it
/// was bound), every port it bound is free again: nothing of it is left running.
@Suite struct NodeServiceLifecycleTests {
    func settings(_ data: String, gossip: Int = 0, admin: Int = 0, transfer: Int = 0) throws -> NodeService.Settings {
        var settings = NodeService.Settings(dataDirectory: data)
        settings.gossip.port = gossip
        settings.admin.port = admin
        settings.transfer.port = transfer
        settings.update.stagger = .zero
        let key = try PublicKey(fileText: String(contentsOfFile: repoRoot + "/Keys/demo-test-only.pub", encoding: .utf8))
        settings.trust.trusted = ["hello-fleet": key]
        return settings
    }

    /// Quiet: a cancelled admin server logs its cancellation as errors.
    let logger: Logger = {
        var logger = Logger(label: "test.node")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs a node until it wrote `ready.json`, and returns its ports and the task running it.
    func start(_ settings: NodeService.Settings) async throws -> (NodeReadyFile, Task<Void, any Error>) {
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        // The node removes a ready file left by an earlier run, but maybe after the first look below.
        try? FileManager.default.removeItem(atPath: settings.dataDirectory + "/ready.json")
        let task = Task { [logger] in try await NodeService.run(settings, logger: logger) }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let bytes = FileManager.default.contents(atPath: settings.dataDirectory + "/ready.json"),
               let ready = try? JSONDecoder().decode(NodeReadyFile.self, from: bytes) {
                return (ready, task)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        throw NotReady(result: await task.result)
    }

    struct NotReady: Error, CustomStringConvertible {
        let result: Result<Void, any Error>
        var description: String { "the node did not become ready: \(result)" }
    }

    @Test func aCancelledNodeReleasesEveryPort() async throws {
        try await withTemporaryDirectory { dir in
            let (ready, task) = try await start(try settings(dir + "/a"))
            task.cancel()
            _ = await task.result
            // The same ports again: binding them fails unless the first node closed them all.
            let (again, second) = try await start(try settings(dir + "/a", gossip: ready.gossip, admin: ready.admin, transfer: ready.transfer))
            #expect(again.gossip == ready.gossip && again.admin == ready.admin && again.transfer == ready.transfer)
            second.cancel()
            _ = await second.result
        }
    }

    @Test func aStartUpErrorClosesWhatWasAlreadyBound() async throws {
        try await withTemporaryDirectory { dir in
            let (first, running) = try await start(try settings(dir + "/a"))
            // A free transfer port, then a gossip port that is taken: transfer binds, gossip fails.
            let (probe, probeTask) = try await start(try settings(dir + "/probe"))
            probeTask.cancel()
            _ = await probeTask.result
            let failing = try settings(dir + "/b", gossip: first.gossip, transfer: probe.transfer)
            try FileManager.default.createDirectory(atPath: failing.dataDirectory, withIntermediateDirectories: true)
            let error = await #expect(throws: (any Error).self) { try await NodeService.run(failing, logger: logger) }
            #expect(String(describing: error).contains("gossip"), "it failed binding gossip: \(String(describing: error))")
            // The transfer listener it had bound is closed: a node can bind that port now.
            let (reused, task) = try await start(try settings(dir + "/c", transfer: probe.transfer))
            #expect(reused.transfer == probe.transfer)
            for node in [task, running] {
                node.cancel()
                _ = await node.result
            }
        }
    }

    @Test func aSecondNodeOnTheSameDataDirectoryIsRefusedAndTheFirstKeepsItsReadyFile() async throws {
        try await withTemporaryDirectory { dir in
            let (first, running) = try await start(try settings(dir + "/a"))
            let error = await #expect(throws: (any Error).self) { try await NodeService.run(try settings(dir + "/a"), logger: logger) }
            #expect(String(describing: error).contains("another node is running on"), "\(String(describing: error))")
            let bytes = try #require(FileManager.default.contents(atPath: dir + "/a/ready.json"))
            #expect(try JSONDecoder().decode(NodeReadyFile.self, from: bytes).admin == first.admin)
            running.cancel()
            _ = await running.result
        }
    }

    /// The admin API holds at most `maxConnections` at once: the next is closed as it comes,
    /// the ones held are still served, and a slot given back lets a new one in.
    @Test func anAdminAPIAtItsConnectionCapClosesTheNextAndServesTheOnesItHolds() async throws {
        try await withTemporaryDirectory { dir in
            var s = try settings(dir + "/a")
            s.admin.maxConnections = 3
            let (ready, task) = try await start(s)
            defer { task.cancel() }
            let request = Array("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:\(ready.admin)\r\n\r\n".utf8)
            /// The status line of the answer to `request` on `c`, or nil if none came.
            func status(_ c: RawConnection) -> String? {
                c.send(request)
                guard let head = c.readExactly(12) else { return nil }
                return String(decoding: head, as: UTF8.self)
            }
            var held = try (0..<3).map { _ in try #require(RawConnection(port: ready.admin, timeout: 15)) }
            // Each is served, so the server has taken all three before the fourth comes.
            for c in held { #expect(status(c) == "HTTP/1.1 200") }
            let fourth = try #require(RawConnection(port: ready.admin, timeout: 15))
            #expect(fourth.closedByPeer(), "a connection over the cap is closed")
            held[0].drain()
            #expect(status(held[0]) == "HTTP/1.1 200", "a held connection is still served")
            held.removeLast()  // closes it: its slot comes back once the server sees the close
            let deadline = ContinuousClock.now + .seconds(10)
            var admitted = false
            while !admitted, ContinuousClock.now < deadline {
                if let c = RawConnection(port: ready.admin, timeout: 1), status(c) == "HTTP/1.1 200" { admitted = true }
                else { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted, "a slot given back lets a new connection in")
            task.cancel()
            _ = await task.result
        }
    }
}
