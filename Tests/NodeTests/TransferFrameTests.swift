import BundlecastCore
import Gossip
import TransferWire
@testable import Node
import NIOCore
import Testing

@Suite struct TransferFrameTests {
    static let d = Blake2b.digest256(Array("x".utf8))

    static let all: [TransferFrame] = [
        .hello(version: 2, node: NodeID(high: 0x0102030405060708, low: 0x1112131415161718), key: [UInt8](repeating: 7, count: 32),
               nonce: [UInt8](repeating: 9, count: 32)),
        .proof([UInt8](repeating: 5, count: 64)),
        .getManifest(d), .manifest(d, Array("bundlecast-manifest 1\n".utf8)), .haveQuery(d),
        .have(d, count: 11, bits: TransferFrame.bitfield([true, false, true, true, false, false, false, false, true, false, true])),
        .request(d), .chunk(d, [1, 2, 3]), .missing(d), .cancel(d), .has(d),
    ]

    @Test func everyFrameRoundTrips() throws {
        for frame in Self.all {
            #expect(try TransferFrame(decoding: frame.encoded()) == frame)
        }
    }

    @Test func everyTruncationIsRefusedOrDecodesToSomethingShorter() {
        for frame in Self.all {
            let bytes = frame.encoded()
            for cut in 0..<bytes.count {
                // Variable-length frames (manifest, chunk) may still parse when cut after their
                // fixed part; they must then carry exactly the bytes that remain.
                if let shorter = try? TransferFrame(decoding: Array(bytes.prefix(cut))) {
                    #expect(shorter.encoded() == Array(bytes.prefix(cut)))
                }
            }
        }
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: []) }
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: [0xEE] + Self.d.bytes) }
    }

    @Test func sizesAreChecked() {
        // A chunk over 256 KiB, a have-set whose bitfield does not match its count, an extra byte.
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: [7] + Self.d.bytes + [UInt8](repeating: 0, count: (256 << 10) + 1)) }
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: [5] + Self.d.bytes + [0, 0, 0, 9, 0xFF]) }
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: TransferFrame.request(Self.d).encoded() + [0]) }
        #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: [7] + Self.d.bytes) }
    }

    @Test func bitfieldsRoundTrip() {
        var rng = SplitMix64(seed: 3)
        for count in [0, 1, 7, 8, 9, 1000] {
            let presence = (0..<count).map { _ in rng.next() & 1 == 0 }
            #expect(TransferFrame.presence(TransferFrame.bitfield(presence), count: count) == presence)
        }
    }

    /// A count larger than the bitfield (a peer's have-set checked against another manifest)
    /// reads the missing bits as absent instead of indexing past the array.
    @Test func presenceBeyondTheBitfieldIsAbsent() {
        let presence = TransferFrame.presence([0xFF], count: 20)
        #expect(presence == Array(repeating: true, count: 8) + Array(repeating: false, count: 12))
        #expect(TransferFrame.presence([], count: 3) == [false, false, false])
        #expect(TransferFrame.presence([0xFF], count: -1) == [])
    }

    /// Writers frame their own bytes: a batch is the frames back to back, each behind its
    /// u32 big-endian length, so a reader splits it into the same frames.
    @Test func aBatchSplitsBackIntoItsFrames() throws {
        var buffer = TransferFrame.buffer(Self.all)
        var decoded: [TransferFrame] = []
        while let length = buffer.readInteger(as: UInt32.self) {
            let read = buffer.readBytes(length: Int(length))
            let bytes = try #require(read)
            decoded.append(try TransferFrame(decoding: bytes))
        }
        #expect(decoded == Self.all)
        #expect(buffer.readableBytes == 0)
        var one = TransferFrame.has(Self.d).buffer()
        #expect(one.readInteger(as: UInt32.self) == UInt32(TransferFrame.has(Self.d).encoded().count))
    }
}
