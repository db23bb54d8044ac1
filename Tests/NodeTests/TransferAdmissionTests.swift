import BundlecastCore
import Gossip
@testable import Node
import NIOCore
import Testing
import TestSupport
import TransferWire

/// What a stranger on the network can hold of a node's transfer shell: slots before a
/// proof of id, connections per identity, and what a ban takes back.
@Suite struct TransferAdmissionTests {
    @Test func unprovenSlotsAreBoundedInAllAndPerAddress() {
        var slots = UnprovenConnections()
        var taken = 0
        for _ in 0..<UnprovenConnections.maxPerAddress where slots.admit("10.0.0.1") { taken += 1 }
        #expect(taken == UnprovenConnections.maxPerAddress)
        var more = slots.admit("10.0.0.1")
        #expect(!more, "the address has its share")
        slots.release("10.0.0.1")
        more = slots.admit("10.0.0.1")
        #expect(more)
        var address = 2
        while slots.total < UnprovenConnections.maxTotal, address < 1_000 {
            if !slots.admit("10.0.0.\(address)") { address += 1 }
        }
        #expect(slots.total == UnprovenConnections.maxTotal)
        more = slots.admit("10.9.9.9")
        #expect(!more, "no slot left at all")
        slots.release("10.9.9.9")  // holds none: changes nothing
        #expect(slots.total == UnprovenConnections.maxTotal)
        slots.release("10.0.0.1")
        more = slots.admit("10.9.9.9")
        #expect(more)
    }

    @Test func theHaveIndexLetsItsOldestGoOneAtATime() {
        var index = HaveIndex()
        let digests = (0..<(HaveIndex.maxEntries + 3)).map { Blake2b.digest256(Array("manifest \($0)".utf8)) }
        for (i, d) in digests.enumerated() { index.insert([d, d], for: digests[i]) }
        #expect(index.count == HaveIndex.maxEntries)
        #expect(index.list(of: digests[0]) == nil && index.list(of: digests[2]) == nil)
        #expect(index.list(of: digests[3]) != nil && index.list(of: digests.last!) != nil)
        // A list that would take the index over its digests makes room by the oldest first.
        let huge = [Digest256](repeating: digests[0], count: HaveIndex.maxDigests - 10)
        index.insert(huge, for: digests[0])
        #expect(index.digests <= HaveIndex.maxDigests && index.list(of: digests[0])?.count == huge.count)
        #expect(index.list(of: digests.last!) != nil, "the newest small lists stay")
        // One longer than the whole bound is not kept at all.
        index.insert([Digest256](repeating: digests[1], count: HaveIndex.maxDigests + 1), for: digests[1])
        #expect(index.list(of: digests[1]) == nil && index.list(of: digests[0]) != nil)
    }

    /// A stranger that proves nothing: the node's hello, then silence.
    static func silentStranger(port: Int, timeout: Int = 3) -> RawConnection? {
        guard let connection = RawConnection(port: port, timeout: timeout), connection.readExactly(4 + TransferFrame.helloLength) != nil else { return nil }
        return connection
    }

    @Test(.timeLimit(.minutes(1))) func connectionsThatHaveNotProvenTheirIdAreBoundedPerAddressAndInTime() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await TransferShellTests.Peer.start(dir)
            let port = peer.node.port
            // Read time-outs of 8 s: the handshake's deadline (5 s) closes them first.
            var held = (0..<UnprovenConnections.maxPerAddress).compactMap { _ in Self.silentStranger(port: port, timeout: 8) }
            #expect(held.count == UnprovenConnections.maxPerAddress)
            // One more from the same address is closed before the node says anything.
            let refused = try #require(RawConnection(port: port))
            #expect(refused.readUntilClosed() == [])
            #expect(peer.node.counters.connectionsRefused >= 1)
            // A slot given back is taken again (the node hears of the close a moment later).
            held.removeLast()
            var again: RawConnection?
            #expect(try await GossipShellTests.eventually(5) {
                again = Self.silentStranger(port: port)
                return again != nil
            })
            // And a stranger that never proves its id is closed within the handshake's deadline.
            #expect(held[0].closedByPeer())
            #expect(try await GossipShellTests.eventually(5) { peer.node.state.withLock { $0.unproven.total } == 0 })
            await peer.node.shutdown()
        }
    }

    /// Says hello as `identity` and proves it on `connection`; false if the node sent no hello.
    static func prove(_ identity: NodeIdentity, on connection: RawConnection) -> Bool {
        guard let bytes = connection.readExactly(4 + TransferFrame.helloLength),
              case .hello(_, let node, _, let nodeNonce) = try? TransferFrame(decoding: Array(bytes.dropFirst(4))) else { return false }
        let nonce = Sodium.randomBytes(32)
        let hello = TransferFrame.hello(version: TransferFrame.protocolVersion, node: identity.id, key: identity.publicKey, nonce: nonce)
        let proof = TransferFrame.proof(identity.proof(ownNonce: nonce, peerNonce: nodeNonce, peer: node))
        connection.send(Array(TransferFrame.buffer([hello, proof]).readableBytesView))
        return true
    }

    @Test(.timeLimit(.minutes(1))) func aPeersOtherConnectionBecomesItsLinkAndABanClosesEveryOne() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await TransferShellTests.Peer.start(dir)
            let node = peer.node
            let stranger = NodeIdentity(seed: Sodium.randomBytes(32))
            var first = try #require(RawConnection(port: node.port, timeout: 5))
            #expect(Self.prove(stranger, on: first))
            #expect(try await GossipShellTests.eventually(5) { node.state.withLock { $0.connectionsByPeer[stranger.id] } == 1 })
            let second = try #require(RawConnection(port: node.port, timeout: 5))
            #expect(Self.prove(stranger, on: second))
            #expect(try await GossipShellTests.eventually(5) { node.state.withLock { $0.connectionsByPeer[stranger.id] } == 2 })
            let link = node.state.withLock { $0.links[stranger.id].map(ObjectIdentifier.init) }
            // The link closes: the other connection carries on as the link, so downloads keep
            // the peer only while it has one.
            first = try #require(RawConnection(port: node.port, timeout: 1))  // the old one is closed
            #expect(try await GossipShellTests.eventually(5) { node.state.withLock { $0.connectionsByPeer[stranger.id] } == 1 })
            let now = node.state.withLock { $0.links[stranger.id].map(ObjectIdentifier.init) }
            #expect(now != nil && now != link)
            // Banned: every connection it has is closed, not just its link.
            #expect(Self.prove(stranger, on: first))
            #expect(try await GossipShellTests.eventually(5) { node.state.withLock { $0.connectionsByPeer[stranger.id] } == 2 })
            node.ban(stranger.id, reason: "test")
            #expect(first.closedByPeer() && second.closedByPeer())
            #expect(try await GossipShellTests.eventually(5) { node.state.withLock { $0.links[stranger.id] == nil && $0.open.isEmpty } })
            #expect(node.counters.bannedCount == 1 && node.counters.banned == [stranger.id.description])
            await node.shutdown()
        }
    }
}
