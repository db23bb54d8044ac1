import BundlecastCore
import Foundation
import Gossip
import Testing
import TestSupport
import TransferWire

/// One test per attack from TUF's list that a peer, a stranger on the network or a bad
/// signed input can mount, against real `bundlecast node` processes
/// (docs/threat-model.md). One test at a time.
@Suite(.serialized) struct AttackTests {
    /// Arbitrary and wrong software: notices that are forged, for an app the node does not
    /// trust, or signed by another key are dropped and counted, whether they come by gossip
    /// from a stranger or through the admin API, and go no further.
    @Test func forgedAndWrongSoftwareNoticesAreDroppedOverGossipAndTheAdminAPI() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 2)
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            let target = fleet.nodes[0]

            var forged = try signedNotice(sequence: 9, version: "9.0.0")
            forged[forged.count - 10] ^= 0x01  // inside the global signature's base64
            let otherApp = try signedNotice(sequence: 9, version: "9.0.0", app: "other-app")
            let otherKey = try signedNotice(sequence: 9, version: "9.0.0", key: SecretKey.generate())
            let stranger = NodeID(high: 0xBAD, low: 0xBAD)
            for body in [forged, otherApp, otherKey] {
                sendDatagram(GossipCodec.encodeDatagram(.notice(from: stranger, body: body)), toPort: target.gossipPort)
            }
            try await eventually(within: 10, "the node counted the three refusals") {
                let refused = try await target.status().refusedNotices
                return refused["bad_signature"] == 1 && refused["untrusted_app"] == 1 && refused["wrong_key"] == 1
            }
            // The same through the admin API: 401 forged, 403 another app or key.
            #expect(try await post(target.admin + "/v1/notices", forged) == 401)
            #expect(try await post(target.admin + "/v1/notices", otherApp) == 403)
            #expect(try await post(target.admin + "/v1/notices", otherKey) == 403)
            for node in fleet.nodes + [fleet.seed] {
                #expect(try await node.sequence("hello-fleet") == 1, "a refused notice was accepted somewhere")
            }
            #expect(target.current() == "1.0.0")
        }
    }

    /// Endless data: a frame longer than its type allows closes the connection before it is
    /// buffered, before the hello and after it; the node keeps serving.
    @Test func aTransferFrameOverTheLimitClosesTheConnection() async throws {
        try await withTemporaryDirectory { dir in
            let node = try NodeProcess(directory: dir, name: "solo")
            func frame(_ length: Int, _ payload: [UInt8]) -> [UInt8] {
                withUnsafeBytes(of: UInt32(length).bigEndian, Array.init) + payload
            }
            let early = try #require(RawConnection(port: node.transferPort))
            early.send(frame(1 << 20, [1] + [UInt8](repeating: 0, count: 1000)))
            #expect(early.closedByPeer(), "a 1 MiB frame before the hello was not refused")

            let hello = HostilePeer().helloFrame()
            let late = try #require(RawConnection(port: node.transferPort))
            // A chunk frame one byte longer than the largest chunk frame, then bytes that never end.
            late.send(frame(hello.count, hello) + frame(TransferFrame.maxChunkFrame + 1, [7] + [UInt8](repeating: 0x41, count: 4000)))
            #expect(late.closedByPeer(), "an oversized chunk frame was not refused")
            try await eventually(within: 10, "both refusals are counted") {
                try await node.status().`self`.transfer?.badFrames ?? 0 >= 2
            }
            #expect(node.process.isRunning)
        }
    }

    /// Mix-and-match: a peer that answers with a manifest other than the one the notice names
    /// is banned at once, and the release installs from an honest peer.
    @Test func aPeerServingAnotherManifestIsBannedAndTheHonestCopyInstalls() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 1, tamperer: true)
            defer { fleet.stop() }
            let node = fleet.nodes[0]
            let bundle = repoRoot + "/Samples/hello-fleet/1.0.0"
            let notice = fleet.manifests + "/hello-fleet/1.0.0.manifest.minisig"
            let r = try runBundlecast(["release", bundle, "--app", "hello-fleet", "--version", "1.0.0", "--key", repoRoot + "/Keys/demo-test-only.key",
                                       "--manifests", fleet.manifests])
            #expect(r.code == 0, "\(r.err)")
            for peer in [fleet.seed, fleet.tamperer!, node] {
                try await eventually(within: 30, "the fleet formed") { try await peer.status().members.filter { $0.state == "alive" }.count == 3 }
            }
            // Only the tamperer holds the release when the node hears of it.
            let s = try runBundlecast(["seed", notice, "--bundle", bundle, "--node", "127.0.0.1:\(fleet.tamperer!.adminPort)"])
            #expect(s.code == 0, "\(s.err)")
            let tamperer = try await fleet.tamperer!.id
            try await eventually(within: 30, "the node bans the tamperer for its manifest") {
                try await node.status().`self`.transfer?.banned.contains(tamperer) == true
            }
            #expect(node.current() == nil)
            // Now an honest copy: the node fetches it from the seed and installs it intact.
            let honest = try runBundlecast(["seed", notice, "--bundle", bundle, "--node", "127.0.0.1:\(fleet.seed.adminPort)", "--no-announce"])
            #expect(honest.code == 0, "\(honest.err)")
            try await fleet.waitInstalled("1.0.0", on: [node])
            try expectSameTree(bundle, node.data + "/apps/hello-fleet/current")
        }
    }

    /// Slow retrieval: a peer that accepts requests and then trickles (1 byte/s after its first
    /// chunk) does not hold the download hostage: its window shrinks with its throughput, the
    /// endgame asks others for what it holds back, and requests time out after 15 s.
    @Test func aTricklingPeerDoesNotHoldUpTheDownload() async throws {
        try await withTemporaryDirectory { dir in
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 4)
            // The honest seed is slowish (1 MiB/s), so the download lasts long enough for every node to
            // learn of the trickler and ask it too.
            let fleet = try Fleet(directory: dir, nodes: 2, seedExtra: ["--max-upload-rate", "1M"])
            defer { fleet.stop() }
            let trickler = try NodeProcess(directory: dir, name: "trickler", join: fleet.seed.gossipPort, extra: ["--seed-only", "--max-upload-rate", "1"])
            fleet.nodes.append(trickler)
            try await fleet.release("1.0.0", from: bundle, alsoSeed: trickler)
            let nodes = Array(fleet.nodes.prefix(2))
            try await fleet.waitInstalled("1.0.0", on: nodes)
            for node in nodes { try expectSameTree(bundle, node.data + "/apps/hello-fleet/current") }
            let sent = try await trickler.status().`self`.transfer?.bytesOut ?? 0
            #expect(sent > 0, "nobody asked the trickler: the test proves nothing")
            #expect(sent < 1 << 20, "the trickler sent \(sent) bytes: more than its burst")
        }
    }

    /// Private transfers: with a fleet key, nodes fetch from each other over encrypted,
    /// authenticated connections; a stranger who speaks the plain protocol (or has another
    /// key) gets the handshake and a closed connection, never a chunk.
    @Test func withAFleetKeyTransfersAreEncryptedAndAStrangerCannotFetch() async throws {
        try await withTemporaryDirectory { dir in
            let key = dir + "/fleet.key"
            #expect(try runBundlecast(["fleet-key", "--out", key]).code == 0)
            let bundle = dir + "/bundle"
            try makeBundle(at: bundle, megabytes: 2)
            let fleet = try Fleet(directory: dir, nodes: 2, seedExtra: ["--fleet-key", key], nodeExtra: ["--fleet-key", key])
            defer { fleet.stop() }
            try await fleet.release("1.0.0", from: bundle)
            try await fleet.waitInstalled("1.0.0", on: fleet.nodes)
            for node in fleet.nodes { try expectSameTree(bundle, node.data + "/apps/hello-fleet/current") }

            // The stranger asks the seed for a chunk it holds, in the plain protocol.
            let manifest = try fleet.manifest("1.0.0")
            let chunk = try #require(manifest.distinctChunks.max { $0.size < $1.size }).digest
            let servedBefore = try await fleet.seed.status().`self`.transfer?.chunksOut
            let hello = HostilePeer().helloFrame()
            let request = TransferFrame.request(chunk).encoded()
            func framed(_ f: [UInt8]) -> [UInt8] { withUnsafeBytes(of: UInt32(f.count).bigEndian, Array.init) + f }
            let stranger = try #require(RawConnection(port: fleet.seed.transferPort))
            stranger.send(framed(hello) + framed(request))
            let received = stranger.readUntilClosed()
            #expect(received != nil, "the seed kept talking to a stranger")
            #expect((received?.count ?? 0) <= TransferCipher.helloLength + TransferCipher.headerLength,
                    "the stranger got \(received?.count ?? 0) bytes: more than the handshake")
            // A stranger who speaks the encrypted protocol but holds another fleet key: its first
            // message does not open, and the connection closes before any chunk.
            let other = try #require(RawConnection(port: fleet.seed.transferPort))
            let handshake = TransferCipher.Handshake(isClient: true)
            other.send(handshake.hello)
            let answer = try #require(other.readExactly(TransferCipher.helloLength + TransferCipher.headerLength), "no handshake from the seed")
            let keys = try handshake.keys(peerHello: Array(answer.prefix(TransferCipher.helloLength)), fleetKey: FleetKey.generate())
            var sender = TransferCipher.Sender(key: keys.send)
            let sealed = (framed(hello) + framed(request)).withUnsafeBytes { sender.seal($0) }
            other.send(sender.header + withUnsafeBytes(of: UInt32(sealed.count).bigEndian, Array.init) + sealed)
            // All it may get is the seed's own sealed hello (about 40 bytes), never the chunk it asked for.
            let rest = other.readUntilClosed()
            #expect(rest != nil && rest!.count < 256, "the seed sent a stranger with another key \(rest?.count ?? -1) bytes")
            try await eventually(within: 10, "the seed counted both refused connections") {
                try await fleet.seed.status().`self`.transfer?.badFrames ?? 0 >= 2
            }
            #expect(try await fleet.seed.status().`self`.transfer?.chunksOut == servedBefore, "a chunk went to a stranger")
        }
    }

    /// Path traversal: a manifest whose entry leaves the install directory (`..` in a path, a
    /// symlink pointing out) is refused when parsed, even when the publisher's key signed it;
    /// nothing is written outside the data directory, and the node goes on to install the next sound release.
    @Test func anEscapingPathOrSymlinkInASignedManifestIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let fleet = try Fleet(directory: dir, nodes: 1)
            defer { fleet.stop() }
            let node = fleet.nodes[0]
            try await fleet.release("1.0.0", from: repoRoot + "/Samples/hello-fleet/1.0.0")
            try await fleet.waitInstalled("1.0.0", on: [node])
            let text = String(decoding: try readBytes(fleet.manifests + "/hello-fleet/1.0.0.manifest"), as: UTF8.self)
                .replacingOccurrences(of: "version 1.0.0", with: "version 1.2.0")
            let evil = [
                text.replacingOccurrences(of: "  -> share/motd.txt", with: "  -> ../../../../../tmp/x"),
                text.replacingOccurrences(of: " bin/hello\n", with: " bin/../../../escape\n"),
            ]
            for (i, manifest) in evil.enumerated() {
                #expect(manifest != text)
                let bytes = Array(manifest.utf8)
                #expect(throws: (any Error).self) { try ManifestCoder.decode(bytes) }
                let code = try await post(node.admin + "/v1/manifests", bytes)
                #expect(code == 400, "case \(i): the node took the manifest (\(code))")
                // A notice signed by the publisher's key over it: accepted as news, never installed.
                let n = try Notice(kind: .release, app: "hello-fleet", version: SemanticVersion("1.2.0"), sequence: UInt64(2 + i), channel: "stable",
                                   manifest: Blake2b.digest256(bytes), size: 561_435, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
                #expect(try await post(node.admin + "/v1/notices", try SignedNotice(notice: n, manifestBytes: bytes, key: demoKey).bytes) == 201)
            }
            // A sound release after them installs: the node went on working.
            let r = try runBundlecast(["release", repoRoot + "/Samples/hello-fleet/1.1.0", "--app", "hello-fleet", "--version", "1.1.0", "--sequence", "10",
                                       "--key", repoRoot + "/Keys/demo-test-only.key", "--manifests", fleet.manifests, "--node", "127.0.0.1:\(fleet.seed.adminPort)"])
            #expect(r.code == 0, "\(r.err)")
            try await fleet.waitInstalled("1.1.0", on: [node])
            #expect(!FileManager.default.fileExists(atPath: node.data + "/apps/escape"))
            #expect(!FileManager.default.fileExists(atPath: node.data + "/escape"))
            #expect(!FileManager.default.fileExists(atPath: node.data + "/apps/hello-fleet/1.2.0"))
            #expect(node.process.isRunning)
        }
    }
}
