import BundlecastCore
import Foundation
import Gossip
import Testing
import TestSupport
import TransferWire

/// A hostile peer (``HostilePeer``) against real nodes: every node stays alive, the attacked
/// node's memory stays bounded, honest nodes still install the next release, nobody honest is banned.
@Suite(.serialized) struct HostilePeerTests {
    /// Peak resident memory of a process, from the kernel (VmHWM), in bytes.
    func peakRSS(_ node: NodeProcess) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(node.process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = UInt64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kib << 10
    }

    @Test func aPeerThatRequestsAndNeverReadsCannotGrowTheNode() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 8)
            let fleet = try Fleet(directory: dir, nodes: 2)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: bundle)
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            let target = fleet.nodes[0]
            let chunks = try fleet.manifest("1.0.0").distinctChunks.map(\.digest)

            // Sixteen connections, each asking for every chunk again and again, reading nothing.
            let taken = HostilePeer().floodWithoutReading(port: target.transferPort, chunks: chunks, connections: 16, seconds: 6)
            #expect(taken > 16 * chunks.count, "the flood sent \(taken) requests: too few to prove anything")
            #expect(target.process.isRunning)
            let peak = try #require(peakRSS(target))
            print("non-reading flood: \(taken) requests taken in, peak RSS \(peak >> 20) MiB")
            #expect(peak < 128 << 20, "peak RSS \(peak >> 20) MiB under a non-reading flood")

            // The fleet goes on: the next release installs everywhere, and nobody honest is banned.
            try makeBundle(at: dir + "/bundle2", megabytes: 8, seed: 1)
            try await fleet.release("1.1.0", from: dir + "/bundle2")
            try await fleet.waitInstalled("1.1.0", on: fleet.nodes)
            for node in [fleet.seed] + fleet.nodes {
                #expect(node.process.isRunning)
                #expect(try await node.status().`self`.transfer?.banned.isEmpty ?? true)
            }
        }
    }
}
