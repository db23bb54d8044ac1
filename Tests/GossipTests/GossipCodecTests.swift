import Gossip
import Testing

@Suite struct GossipCodecTests {
    let a = NodeID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)
    let b = NodeID(high: 7, low: 8)
    let address = PeerAddress(host: "127.0.0.1", port: 7946)

    var updates: [Update] {
        [.alive(id: a, incarnation: 1_795_000_000, address: address, metadata: [1, 2, 3]),
         .suspect(id: b, incarnation: 3, by: a), .dead(id: b, incarnation: 4, by: a), .left(id: a, incarnation: 9)]
    }

    @Test func everyMessageRoundTrips() throws {
        for message in [
            Message.ping(seq: 1, from: a, updates: updates), .ack(seq: UInt32.max, from: b, updates: []),
            .nack(seq: 7, from: a, updates: updates), .pingReq(seq: 9, from: a, target: PeerAddress(host: "::1", port: 1), updates: updates),
            .gossip(from: b, updates: updates), .notice(from: a, body: Array("untrusted comment: x\n".utf8)),
        ] {
            #expect(try GossipCodec.decodeDatagram(GossipCodec.encodeDatagram(message)) == message)
        }
        let pp = Message.pushPull(from: a, isRequest: true, state: updates)
        #expect(try GossipCodec.decodeStream(GossipCodec.encodeStream(pp)) == pp)
    }

    @Test func everyTruncationIsRefused() {
        let bytes = GossipCodec.encodeDatagram(.ping(seq: 1, from: a, updates: updates))
        for n in 0..<bytes.count {
            #expect(throws: GossipWireError.self) { try GossipCodec.decodeDatagram(Array(bytes[0..<n])) }
        }
        #expect(throws: GossipWireError.trailingBytes) { try GossipCodec.decodeDatagram(bytes + [0]) }
    }

    @Test func oversizedAndForeignPacketsAreRefused() {
        #expect(throws: GossipWireError.oversized(1401)) { try GossipCodec.decodeDatagram([UInt8](repeating: 0, count: 1401)) }
        #expect(throws: GossipWireError.badMagic) { try GossipCodec.decodeDatagram([0x47, 0x42, 1, 1]) }
        #expect(throws: GossipWireError.unsupportedVersion(2)) { try GossipCodec.decodeDatagram([0x42, 0x47, 2, 1]) }
        // Push-pull never arrives as a datagram.
        let pp = GossipCodec.encodeStream(.pushPull(from: a, isRequest: false, state: []))
        #expect(throws: GossipWireError.unexpectedType) { try GossipCodec.decodeDatagram(pp) }
    }

    @Test func rumoursBeyondTheDatagramLimitAreLeftForLater() throws {
        let many = (0..<200).map { Update.alive(id: NodeID(high: UInt64($0), low: 0), incarnation: 1, address: address, metadata: [UInt8](repeating: 7, count: 100)) }
        let bytes = GossipCodec.encodeDatagram(.gossip(from: a, updates: many))
        #expect(bytes.count <= GossipCodec.maxDatagram)
        let decoded = try GossipCodec.decodeDatagram(bytes)
        #expect(decoded.updates.count > 5 && decoded.updates.count < 200)
        #expect(Array(many.prefix(decoded.updates.count)) == decoded.updates)
    }

    /// A table grown by made-up members (long hosts, full metadata) still goes out as a
    /// push-pull frame every peer takes: as many updates as fit, the first ones first.
    @Test func aPushPullOfAHugeTableStopsAtTheFrameLimit() throws {
        let host = String(repeating: "h", count: 255)
        let many = (0..<8_000).map { Update.alive(id: NodeID(high: 1, low: UInt64($0)), incarnation: 1, address: PeerAddress(host: host, port: 1),
                                                  metadata: [UInt8](repeating: 7, count: 512)) }
        let bytes = GossipCodec.encodeStream(.pushPull(from: a, isRequest: false, state: many))
        #expect(bytes.count <= GossipCodec.maxStream)
        let decoded = try GossipCodec.decodeStream(bytes)
        #expect(decoded.updates.count > 1_000 && decoded.updates.count < many.count)
        #expect(Array(many.prefix(decoded.updates.count)) == decoded.updates)
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 2026)
        let valid = GossipCodec.encodeDatagram(.ping(seq: 1, from: a, updates: updates))
        var refused = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 1500)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid
                for _ in 0..<1 + Int(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            do { _ = try GossipCodec.decodeDatagram(bytes) } catch { refused += 1 }
        }
        #expect(refused > 10_000)
    }
}
