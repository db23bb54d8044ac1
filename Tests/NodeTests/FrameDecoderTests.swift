import BundlecastCore
import Gossip
@testable import Node
import NIOCore
import NIOEmbedded
import Testing
import TransferWire

/// The length-prefixed frame decoders in a pipeline of their own (`EmbeddedChannel`): a
/// frame arrives whole whatever the reads were, and a length over the limit is refused
/// at its first four bytes, before any of the frame is buffered.
@Suite struct FrameDecoderTests {
    /// `payload` with its big-endian u32 length in front.
    static func framed(_ payload: [UInt8], length: UInt32? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(length ?? UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    /// What a read of `bytes` produced: the frames that came out, or the error the decoder threw.
    static func read(_ channel: EmbeddedChannel, _ bytes: ByteBuffer) -> Result<[[UInt8]], any Error> {
        do {
            try channel.writeInbound(bytes)
            var frames: [[UInt8]] = []
            while let frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(Array(buffer: frame)) }
            return .success(frames)
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Push-pull (gossip over TCP)

    static func pushPull() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PushPullFrameDecoder()))
        try connect(channel)
        return channel
    }

    /// Makes `channel` active, as an accepted connection is.
    static func connect(_ channel: EmbeddedChannel) throws {
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9), promise: nil)
    }

    @Test func pushPullFramesComeOutWholeHoweverTheyWereRead() throws {
        let channel = try Self.pushPull()
        let a = [UInt8](repeating: 1, count: 1000), b: [UInt8] = [], c = [UInt8](repeating: 3, count: 10)
        var all = Self.framed(a)
        all.writeImmutableBuffer(Self.framed(b))
        all.writeImmutableBuffer(Self.framed(c))
        // One byte at a time: nothing comes out until a frame is complete, then exactly it.
        var out: [[UInt8]] = []
        while let byte = all.readSlice(length: 1) { out += try Self.read(channel, byte).get() }
        #expect(out == [a, b, c])
        // All at once: the same frames.
        var again = Self.framed(a)
        again.writeImmutableBuffer(Self.framed(c))
        #expect(try Self.read(channel, again).get() == [a, c])
        #expect(try channel.finish().isClean)
    }

    @Test(arguments: [UInt32(PushPullFrameDecoder.maxFrame) + 1, UInt32.max])
    func aPushPullLengthOverTheLimitIsRefusedAtItsHeader(_ length: UInt32) throws {
        let channel = try Self.pushPull()
        var header = ByteBuffer()
        header.writeInteger(length)
        let result = Self.read(channel, header)
        #expect(throws: PushPullFrameDecoder.FrameTooLarge.self) { try result.get() }
        _ = try? channel.finish()
    }

    @Test func aPushPullFrameAtTheLimitIsTaken() throws {
        let channel = try Self.pushPull()
        let payload = [UInt8](repeating: 7, count: PushPullFrameDecoder.maxFrame)
        #expect(try Self.read(channel, Self.framed(payload)).get() == [payload])
        #expect(try channel.finish().isClean)
    }

    /// A peer that sends half a frame and closes: nothing is handed on, then or at the close.
    @Test func aTruncatedPushPullFrameIsNeverHandedOn() throws {
        let channel = try Self.pushPull()
        let frame = Self.framed([UInt8](repeating: 9, count: 100))
        let before = try Self.read(channel, frame.getSlice(at: 0, length: 50)!).get()
        #expect(before.isEmpty)
        _ = try? channel.finish()
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    // MARK: - Transfer frames

    /// A transfer connection's decoder; `body` runs with the channel, whose connection's promise is then completed.
    static func transfer(largeFrames: LargeFrameBudget = LargeFrameBudget(), _ body: (EmbeddedChannel, TransferConnection) throws -> Void) throws {
        let channel = EmbeddedChannel()
        let connection = TransferConnection(expect: nil, eventLoop: channel.eventLoop)
        defer { connection.hello.fail(ChannelError.ioOnClosedChannel) }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransferFrameDecoder(connection: connection, largeFrames: largeFrames)))
        try connect(channel)
        try body(channel, connection)
    }

    static let digest = Blake2b.digest256(Array("x".utf8))
    static let hello = TransferFrame.hello(version: TransferFrame.protocolVersion, node: NodeID(high: 1, low: 2),
                                           key: [UInt8](repeating: 7, count: 32), nonce: [UInt8](repeating: 9, count: 32))

    @Test func transferFramesComeOutWholeAndDecode() throws {
        try Self.transfer { channel, _ in
            let frames: [TransferFrame] = [Self.hello, Self.proof, .request(Self.digest), .chunk(Self.digest, [1, 2, 3]), .has(Self.digest)]
            var all = TransferFrame.buffer(frames)
            var out: [[UInt8]] = []
            while all.readableBytes > 0 { out += try Self.read(channel, all.readSlice(length: min(7, all.readableBytes))!).get() }
            #expect(try out.map { try TransferFrame(decoding: $0) } == frames)
        }
    }

    /// The limit of a frame's length, by the handshake's stage and what was asked for.
    struct Limit: Sendable, CustomTestStringConvertible {
        let name: String
        let stage: TransferFrame.Stage
        let manifestAsked: Bool
        let type: UInt8
        let length: Int
        let taken: Bool
        var testDescription: String { name }
    }

    static let helloType = hello.encoded()[0]
    static let proof = TransferFrame.proof([UInt8](repeating: 3, count: 64))
    static let proofType = proof.encoded()[0]
    static let manifest = TransferFrame.manifest(digest, []).encoded()[0]
    static let chunk = TransferFrame.chunk(digest, []).encoded()[0]
    static let limits: [Limit] = [
        Limit(name: "a hello-sized first frame", stage: .hello, manifestAsked: false, type: helloType, length: TransferFrame.helloLength, taken: true),
        Limit(name: "a first frame over a hello", stage: .hello, manifestAsked: false, type: helloType, length: TransferFrame.helloLength + 1,
              taken: false),
        Limit(name: "a chunk-sized first frame", stage: .hello, manifestAsked: true, type: chunk, length: TransferFrame.maxChunkFrame, taken: false),
        Limit(name: "a proof-sized second frame", stage: .proof, manifestAsked: false, type: proofType, length: TransferFrame.proofLength, taken: true),
        Limit(name: "a second frame over a proof", stage: .proof, manifestAsked: false, type: proofType, length: TransferFrame.proofLength + 1,
              taken: false),
        Limit(name: "a chunk-sized second frame", stage: .proof, manifestAsked: true, type: chunk, length: TransferFrame.maxChunkFrame, taken: false),
        Limit(name: "a whole chunk", stage: .proven, manifestAsked: false, type: chunk, length: TransferFrame.maxChunkFrame, taken: true),
        Limit(name: "over a chunk", stage: .proven, manifestAsked: false, type: chunk, length: TransferFrame.maxChunkFrame + 1, taken: false),
        Limit(name: "a manifest nobody asked for", stage: .proven, manifestAsked: false, type: manifest, length: TransferFrame.maxChunkFrame + 1,
              taken: false),
        Limit(name: "a manifest asked for", stage: .proven, manifestAsked: true, type: manifest, length: TransferFrame.maxFrame, taken: true),
        Limit(name: "over a manifest asked for", stage: .proven, manifestAsked: true, type: manifest, length: TransferFrame.maxFrame + 1, taken: false),
    ]

    /// Only the length and the type byte are sent: a refused frame is refused before its body comes.
    @Test(arguments: limits) func aTransferFrameOverItsLimitIsRefusedAtItsHeader(_ limit: Limit) throws {
        try Self.transfer { channel, connection in
            if limit.manifestAsked { connection.askedForManifest(Self.digest) }
            let before: [TransferFrame] = switch limit.stage {
            case .hello: []
            case .proof: [Self.hello]
            case .proven: [Self.hello, Self.proof]
            }
            for frame in before {
                let out = try Self.read(channel, frame.buffer()).get()
                #expect(out.count == 1)
            }
            var header = ByteBuffer()
            header.writeInteger(UInt32(limit.length))
            header.writeInteger(limit.type)
            let result = Self.read(channel, header)
            if limit.taken {
                let frames = try result.get()
                #expect(frames.isEmpty, "waits for the rest")
            } else {
                #expect(throws: TransferFrameDecoder.FrameTooLarge.self) { try result.get() }
            }
            _ = try? channel.finish()
        }
    }

    // MARK: - Room for manifest-sized frames, node-wide

    /// A proven connection asked for the manifest, with the first `bytes` of a manifest frame of
    /// `length` bytes read.
    static func startManifest(_ channel: EmbeddedChannel, _ connection: TransferConnection, length: Int, bytes: Int) -> Result<[[UInt8]], any Error> {
        connection.askedForManifest(digest)
        for frame in [hello, proof] { _ = read(channel, frame.buffer()) }
        var start = ByteBuffer()
        start.writeInteger(UInt32(length))
        start.writeInteger(manifest)
        start.writeBytes([UInt8](repeating: 1, count: bytes - 1))
        return read(channel, start)
    }

    static let large = TransferFrame.maxChunkFrame + 1000

    /// Two asked connections each start a manifest-sized frame; with room for one, the second
    /// is refused at its header, and the first's room comes back once its frame is whole.
    @Test func aManifestSizedFrameTakesRoomNodeWideUntilItIsWhole() throws {
        let budget = LargeFrameBudget(limit: 4 + Self.large)
        try Self.transfer(largeFrames: budget) { first, firstConnection in
            let started = try Self.startManifest(first, firstConnection, length: Self.large, bytes: 100).get()
            #expect(started.isEmpty)
            #expect(budget.inUse == 4 + Self.large)
            try Self.transfer(largeFrames: budget) { second, secondConnection in
                let refused = Self.startManifest(second, secondConnection, length: Self.large, bytes: 100)
                #expect(throws: TransferFrameDecoder.NoRoomForLargeFrame.self) { try refused.get() }
                _ = try? second.finish()
            }
            #expect(budget.inUse == 4 + Self.large, "the refused frame took nothing")
            let rest = ByteBuffer(bytes: [UInt8](repeating: 1, count: Self.large - 100))
            let whole = try Self.read(first, rest).get()
            #expect(whole.map(\.count) == [Self.large])
            #expect(budget.inUse == 0)
            #expect(!firstConnection.isLargeFrameOverdue(now: .max), "a whole frame has no deadline left")
            _ = try? first.finish()
        }
        // Frames no larger than a chunk take no room, whatever the budget holds.
        try Self.transfer(largeFrames: LargeFrameBudget(limit: 0)) { channel, _ in
            for frame in [Self.hello, Self.proof] { _ = try Self.read(channel, frame.buffer()).get() }
            let chunk = TransferFrame.chunk(Self.digest, [UInt8](repeating: 2, count: 60_000)).buffer()
            let partial = try Self.read(channel, chunk.getSlice(at: 0, length: 1000)!).get()
            #expect(partial.isEmpty)
            let done = try Self.read(channel, chunk.getSlice(at: 1000, length: chunk.readableBytes - 1000)!).get()
            #expect(done.count == 1)
            _ = try? channel.finish()
        }
    }

    /// A connection that closes in the middle of a manifest-sized frame gives its room back.
    @Test func aConnectionClosedMidFrameGivesItsRoomBack() throws {
        let budget = LargeFrameBudget(limit: 4 + Self.large)
        try Self.transfer(largeFrames: budget) { channel, connection in
            let started = try Self.startManifest(channel, connection, length: Self.large, bytes: 10).get()
            #expect(started.isEmpty)
            #expect(budget.inUse > 0)
            let now = NIODeadline.now().uptimeNanoseconds
            #expect(!connection.isLargeFrameOverdue(now: now))
            #expect(connection.isLargeFrameOverdue(now: now + TransferConnection.largeFrameDeadline), "a frame that takes a minute is closed")
            _ = try? channel.finish()
            #expect(budget.inUse == 0)
        }
    }

    /// An ask that leaves the connection's list while its frame is on the way lets that frame
    /// finish within its room; a new one on the same connection is refused.
    @Test func aFrameHoldingRoomFinishesThoughItsAskLeft() throws {
        let budget = LargeFrameBudget()
        try Self.transfer(largeFrames: budget) { channel, connection in
            let started = try Self.startManifest(channel, connection, length: Self.large, bytes: 10).get()
            #expect(started.isEmpty)
            connection.answered(Self.digest)
            let whole = try Self.read(channel, ByteBuffer(bytes: [UInt8](repeating: 1, count: Self.large - 10))).get()
            #expect(whole.count == 1)
            var next = ByteBuffer()
            next.writeInteger(UInt32(Self.large))
            next.writeInteger(Self.manifest)
            #expect(throws: TransferFrameDecoder.FrameTooLarge.self) { try Self.read(channel, next).get() }
            _ = try? channel.finish()
            #expect(budget.inUse == 0)
        }
    }

    /// A length of zero (no type byte) is handed on, and decoding it is refused (``TransferHandler`` closes).
    @Test func anEmptyOrGarbageTransferFrameIsHandedOnAndRefusedByTheCodec() throws {
        try Self.transfer { channel, _ in
            _ = try Self.read(channel, Self.hello.buffer()).get()
            let out = try Self.read(channel, Self.framed([]).writingBuffer(Self.framed([0xEE, 1, 2, 3]))).get()
            #expect(out == [[], [0xEE, 1, 2, 3]])
            for bytes in out { #expect(throws: TransferFrameError.self) { try TransferFrame(decoding: bytes) } }
            #expect(try channel.finish().isClean)
        }
    }
}

extension ByteBuffer {
    /// This buffer followed by `other`.
    func writingBuffer(_ other: ByteBuffer) -> ByteBuffer {
        var copy = self
        copy.writeImmutableBuffer(other)
        return copy
    }
}
