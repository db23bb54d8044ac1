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

            // A peer that reads its answers but asks what the node holds thousands of times a second.
            let queries = HostilePeer().floodHaveQueries(port: target.transferPort, manifest: try fleet.manifest("1.0.0").digest, seconds: 3)
            let dropped = try await target.status().`self`.transfer?.haveQueriesDropped ?? 0
            print("have-query flood: \(queries) sent, \(dropped) dropped")
            #expect(dropped > 0, "no have-query was dropped: the flood proves nothing")
            let peakAfter = try #require(peakRSS(target))
            #expect(peakAfter < 128 << 20, "peak RSS \(peakAfter >> 20) MiB under a have-query flood")

            // The fleet goes on: the next release installs everywhere, and nobody honest is banned.
            try makeBundle(at: dir + "/bundle2", megabytes: 8, seed: 1)
            try await expectTheFleetStillTrades(fleet, "1.1.0", from: dir + "/bundle2")
        }
    }

    /// A peer cannot take over an honest node's id: not by claiming it with its own key, not
    /// with the honest node's key and no proof, not by replaying a proof from another
    /// connection. Each attempt is closed and counted; the honest node stays linked and unbanned.
    @Test func nobodyCanClaimAnotherNodesId() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 2)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            let target = fleet.nodes[0]
            let honest = fleet.nodes[1]
            // The honest node's id and key, from its own hello.
            let probe = try #require(RawConnection(port: honest.transferPort))
            let victim = try #require(HostilePeer.readHello(probe))
            let attacker = HostilePeer()
            let before = try await target.status().`self`.transfer?.badFrames ?? 0

            // 1. The victim's id with the attacker's own key.
            let own = try #require(RawConnection(port: target.transferPort))
            _ = HostilePeer.readHello(own)
            own.send(HostilePeer.framed(attacker.helloFrame(claiming: victim.id)))
            #expect(own.closedByPeer(), "a hello whose id is not its key's was not refused")

            // 2. The victim's id and key, and a proof the attacker cannot make.
            let borrowed = try #require(RawConnection(port: target.transferPort))
            let seen = try #require(HostilePeer.readHello(borrowed))
            let nonce = Sodium.randomBytes(32)
            let hello = TransferFrame.hello(version: TransferFrame.protocolVersion, node: victim.id, key: victim.key, nonce: nonce)
            let forged = attacker.identity.proof(ownNonce: nonce, peerNonce: seen.nonce, peer: seen.id)
            borrowed.send(HostilePeer.framed(hello) + HostilePeer.framed(.proof(forged)))
            #expect(borrowed.closedByPeer(), "a borrowed key without its proof was not refused")

            // 3. A hello and proof that were valid on one connection, replayed on another.
            let first = try #require(RawConnection(port: target.transferPort))
            let targetHello = try #require(HostilePeer.readHello(first))
            let firstNonce = Sodium.randomBytes(32)
            let recorded = HostilePeer.framed(attacker.helloFrame(nonce: firstNonce))
                + HostilePeer.framed(.proof(attacker.identity.proof(ownNonce: firstNonce, peerNonce: targetHello.nonce, peer: targetHello.id)))
            first.send(recorded)
            let replay = try #require(RawConnection(port: target.transferPort))
            _ = HostilePeer.readHello(replay)
            replay.send(recorded)
            #expect(replay.closedByPeer(), "a replayed proof was not refused")

            try await eventually(within: 10, "the three refusals are counted") {
                try await target.status().`self`.transfer?.badFrames ?? 0 >= before + 3
            }
            // The honest nodes still trade: a new release installs everywhere, nobody is banned.
            try await expectTheFleetStillTrades(fleet, "1.1.0", from: repoRoot + "/Samples/hello-fleet/1.1.0")
        }
    }

    /// Rumours at the extreme incarnations, frames that claim more than they bring, and a flood
    /// of push-pull connections each holding part of a 4 MiB frame: the node stays alive,
    /// refuses what it was not asked for at once, and its memory stays bounded.
    @Test func extremeRumoursAndTruncatedFramesNeitherKillNorSwellANode() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 2)
            defer { fleet.stop() }
            let target = fleet.nodes[0]
            let text = try await target.id
            let victim = NodeID(high: UInt64(text.prefix(16), radix: 16)!, low: UInt64(text.suffix(16), radix: 16)!)
            let stranger = HostilePeer().id
            // Suspicions and deaths at and above the top incarnation (the codec refuses those above 2^62).
            for incarnation in [UInt64.max, Update.maxIncarnation + 1, Update.maxIncarnation, Update.maxIncarnation - 1] {
                for update in [Update.suspect(id: victim, incarnation: incarnation, by: stranger), .dead(id: victim, incarnation: incarnation, by: stranger)] {
                    var packet = GossipCodec.encodeDatagram(.ping(seq: 1, from: stranger, updates: [update]))
                    // The update ends the packet: incarnation (8 bytes), then `by` (16). Written by hand,
                    // so the ones the codec would refuse to read go out too.
                    let at = packet.count - 16 - 8
                    packet.replaceSubrange(at..<at + 8, with: withUnsafeBytes(of: incarnation.bigEndian, Array.init))
                    sendDatagram(packet, toPort: target.gossipPort)
                }
            }

            // A frame that claims to be a 16 MiB manifest nobody asked for: closed before it is buffered.
            let peer = HostilePeer()
            let unasked = try #require(RawConnection(port: target.transferPort))
            #expect(peer.handshake(unasked))
            unasked.send(withUnsafeBytes(of: UInt32(TransferFrame.maxFrame).bigEndian, Array.init) + [3] + [UInt8](repeating: 0, count: 4096))
            #expect(unasked.closedByPeer(), "an unasked manifest-sized frame was not refused")

            // Push-pull connections, each sending all but the last byte of a 4 MiB frame, and stopping there.
            let part = withUnsafeBytes(of: UInt32(GossipCodec.maxStream).bigEndian, Array.init) + [UInt8](repeating: 0x42, count: GossipCodec.maxStream - 1)
            var held: [RawConnection] = []
            for _ in 0..<64 {
                guard let c = RawConnection(port: target.gossipPort, timeout: 1, sendTimeout: 1) else { continue }
                _ = c.sendSome(part)
                held.append(c)
            }
            #expect(target.process.isRunning)
            let peak = try #require(peakRSS(target))
            print("64 truncated push-pull frames: peak RSS \(peak >> 20) MiB")
            #expect(peak < 128 << 20, "peak RSS \(peak >> 20) MiB with truncated push-pull frames")
            held.removeAll()

            // The node is alive and a member in good standing.
            let seed = fleet.seed
            try await eventually(within: 20, "the fleet sees the target alive") {
                try await seed.status().members.contains { $0.id == text && $0.state == "alive" }
            }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
        }
    }

    /// Slow retrieval turned on the uploader: a peer that asks for every chunk and then reads
    /// a byte now and then is dropped once nothing it asked for has left for 30 s, and costs
    /// the node its bounded write buffer meanwhile.
    @Test func aPeerThatReadsAByteAtATimeIsDropped() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 8)
            let fleet = try Fleet(directory: dir, nodes: 1)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: bundle)
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            let target = fleet.nodes[0]
            let peer = HostilePeer()
            let slow = try #require(RawConnection(port: target.transferPort, timeout: 1, receiveBuffer: 4096, sendTimeout: 1))
            #expect(peer.handshake(slow))
            slow.send(try fleet.manifest("1.0.0").distinctChunks.flatMap { HostilePeer.framed(.request($0.digest)) })
            // The node closes the connection; what its kernel already buffered still trickles in behind
            // the close, so the node's log, not the end of the stream, says when it gave up.
            let started = Date()
            var closed = false
            while !closed, Date().timeIntervalSince(started) < 60 {
                _ = slow.readOneByte()
                let log = (try? String(contentsOfFile: target.data + "/node.log", encoding: .utf8)) ?? ""
                closed = log.contains("it has not read for")
                try await Task.sleep(for: .milliseconds(500))
            }
            let after = Date().timeIntervalSince(started)
            print("a one-byte-at-a-time reader was dropped after \(Int(after)) s")
            #expect(closed, "the slow reader was not dropped within 60 s")
            #expect(after >= 25, "dropped after \(after) s: before the stall time-out")
            #expect(target.process.isRunning)
            #expect(try #require(peakRSS(target)) < 128 << 20)
        }
    }
}

/// After an attack: the next release installs on every node, every process still runs, and
/// nobody honest is banned.
func expectTheFleetStillTrades(_ fleet: Fleet, _ version: String, from bundle: String) async throws {
    try await fleet.release(version, from: bundle)
    try await fleet.waitInstalled(version, on: fleet.nodes)
    for node in [fleet.seed] + fleet.nodes {
        #expect(node.process.isRunning)
        #expect(try await node.status().`self`.transfer?.banned.isEmpty ?? true)
    }
}
