import BundlecastCore
@testable import Node
import NIOCore
import NIOEmbedded
import Testing

/// ``SecureTransferHandler`` between two in-memory channels: with the same fleet key the
/// bytes written on one side come out on the other; anything else closes the connection
/// and says why.
@Suite struct SecureTransferHandlerTests {
    /// One side of a connection: its channel, its connection's state and why it refused, if it did.
    final class Side {
        let channel = EmbeddedChannel()
        let connection: TransferConnection
        /// Why the handler closed the connection (EmbeddedChannel runs everything on this thread).
        final class Reasons { var lines: [String] = [] }
        let refused = Reasons()

        init(_ key: FleetKey, isClient: Bool) throws {
            connection = TransferConnection(expect: nil, eventLoop: channel.eventLoop)
            let handler = SecureTransferHandler(fleetKey: key, isClient: isClient, connection: connection) { [refused] why in refused.lines.append(why) }
            try channel.pipeline.syncOperations.addHandler(handler)
            // Active, as a connection is: the handler sends its half of the handshake.
            channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9), promise: nil)
        }

        deinit { connection.hello.fail(ChannelError.ioOnClosedChannel) }

        var isOpen: Bool { channel.isActive }
        var why: [String] { refused.lines }

        /// Everything the other side reads as plaintext.
        func plaintext() throws -> [UInt8] {
            var out: [UInt8] = []
            while let buffer = try channel.readInbound(as: ByteBuffer.self) { out += Array(buffer: buffer) }
            return out
        }
    }

    /// Moves what each side wrote to the other until neither writes more.
    static func pump(_ a: Side, _ b: Side) throws {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(a, b), (b, a)] {
                while let bytes = try from.channel.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    if to.isOpen { try to.channel.writeInbound(bytes) }
                }
            }
        }
    }

    @Test func theSameFleetKeyCarriesBytesBothWays() throws {
        let key = FleetKey.generate()
        let client = try Side(key, isClient: true), server = try Side(key, isClient: false)
        // Written before the handshake: held until the keys are known.
        client.channel.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]), promise: nil)
        try Self.pump(client, server)
        #expect(try server.plaintext() == [1, 2, 3])
        server.channel.writeAndFlush(ByteBuffer(bytes: Array("answer".utf8)), promise: nil)
        try Self.pump(client, server)
        #expect(try client.plaintext() == Array("answer".utf8))
        #expect(client.isOpen && server.isOpen)
        #expect(client.why.isEmpty && server.why.isEmpty)
    }

    @Test func aPeerWithAnotherFleetKeyIsClosedAtItsFirstMessage() throws {
        let client = try Side(FleetKey.generate(), isClient: true), server = try Side(FleetKey.generate(), isClient: false)
        client.channel.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]), promise: nil)
        try Self.pump(client, server)
        #expect(try server.plaintext().isEmpty)
        #expect(!server.isOpen)
        #expect(server.why.count == 1)
    }

    /// What a stranger sends instead of a handshake: the connection is closed, and nothing is read.
    static let garbage: [(String, [UInt8])] = [
        ("a hello of the wrong protocol", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: 64)),
        ("zeros", [UInt8](repeating: 0, count: 4096)),
    ]

    @Test(arguments: garbage) func garbageInsteadOfAHandshakeIsClosed(_ name: String, _ bytes: [UInt8]) throws {
        let server = try Side(FleetKey.generate(), isClient: false)
        _ = try server.channel.readOutbound(as: ByteBuffer.self)
        try server.channel.writeInbound(ByteBuffer(bytes: bytes))
        #expect(try server.plaintext().isEmpty)
        #expect(!server.isOpen, "\(name)")
        #expect(server.why.count == 1, "\(name)")
    }

    /// A first message larger than ``SecureTransferHandler/firstMessageLimit`` is refused from
    /// its length alone, before it is buffered.
    @Test func aFirstMessageOverTheLimitIsRefusedAtItsLength() throws {
        let key = FleetKey.generate()
        let client = try Side(key, isClient: true), server = try Side(key, isClient: false)
        try Self.pump(client, server)
        var length = ByteBuffer()
        length.writeInteger(UInt32(SecureTransferHandler.firstMessageLimit + TransferCipher.overhead + 1))
        try server.channel.writeInbound(length)
        #expect(!server.isOpen)
        #expect(server.why.first?.contains("over") == true, "\(server.why)")
    }
}
