import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
@testable import Origin
import Testing

/// ``ConnectionGuard`` alone in a pipeline, on the embedded loop's clock: which
/// connections it closes, and when.
@Suite struct ConnectionGuardTests {
    static let head = HTTPRequestPart.head(HTTPRequest(method: .get, scheme: "http", authority: "origin", path: "/v1/apps"))

    /// Takes a half-close as a socket does (the embedded channel would close whole).
    final class HalfClosingTransport: ChannelOutboundHandler {
        typealias OutboundIn = Any

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            if mode == .output { promise?.succeed() } else { context.close(mode: mode, promise: promise) }
        }
    }

    /// The bytes waiting in NIO to be written, as the test says.
    final class Waiting { var bytes = 0 }

    func connected(_ waiting: Waiting = Waiting()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([HalfClosingTransport(),
                                                         ConnectionGuard(idleTimeout: .seconds(10)) { _ in waiting.bytes }])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func wait(_ channel: EmbeddedChannel, _ seconds: Int64) {
        channel.embeddedEventLoop.advanceTime(by: .seconds(seconds))
    }

    @Test func aConnectionWithNothingToAnswerIsClosedOnceIdle() throws {
        let channel = try connected()
        wait(channel, 9)
        #expect(channel.isActive)
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        wait(channel, 9)
        #expect(channel.isActive, "the answer restarted the idle clock")
        wait(channel, 2)
        #expect(!channel.isActive)
    }

    /// A long-poll being answered is bounded by its own wait, not by the idle time-out.
    @Test func aRequestBeingAnsweredIsNotIdle() throws {
        let channel = try connected()
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        wait(channel, 35)
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        wait(channel, 11)
        #expect(!channel.isActive)
    }

    /// A request whose head or body is still coming in is idle: half-sent requests are closed.
    @Test func aRequestStillComingInIsIdle() throws {
        let channel = try connected()
        try channel.writeInbound(Self.head)
        wait(channel, 11)
        #expect(!channel.isActive)
    }

    /// An answer sent before its request's end was read (a 400 for a bad name, before the
    /// body) leaves nothing to answer once the end comes: the idle clock applies.
    @Test func anAnswerBeforeTheRequestsEndLeavesTheConnectionIdle() throws {
        let channel = try connected()
        try channel.writeInbound(Self.head)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        wait(channel, 11)
        #expect(!channel.isActive)
    }

    /// A client that takes none of the bytes waiting for it is closed, even with answers
    /// still due; seen at the first look, cut an idle time-out after it.
    @Test func aClientThatTakesNoneOfItsBytesIsClosed() throws {
        let waiting = Waiting()
        let channel = try connected(waiting)
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        waiting.bytes = 5000
        wait(channel, 10)
        try channel.writeInbound(Self.head)
        wait(channel, 9)
        #expect(channel.isActive)
        wait(channel, 2)
        #expect(!channel.isActive)
    }

    /// A slow reader is not cut while it takes bytes, past the idle and the server's
    /// close; once all are taken the idle clock starts.
    @Test func aSlowReaderIsNotCutWhileItTakesBytes() throws {
        let waiting = Waiting()
        let channel = try connected(waiting)
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.close(mode: .output, promise: nil)
        waiting.bytes = 5000
        for left in [4000, 2000, 1000, 0] {
            wait(channel, 10)
            #expect(channel.isActive, "with \(waiting.bytes) bytes waiting")
            waiting.bytes = left
        }
        wait(channel, 10)
        #expect(channel.isActive, "the idle clock starts when the last bytes are taken")
        wait(channel, 11)
        #expect(!channel.isActive)
    }

    /// A client that closes its side has left: its waits end at once, the answer due is
    /// still written, then the connection closes. With nothing due it closes at once.
    @Test func aClientThatClosesItsSideHasLeft() throws {
        let channel = try connected()
        let presence = try #require(ClientPresence.of(channel))
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(presence.hasLeft && channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(ClientPresence.of(channel) == nil)

        let idle = try connected()
        idle.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        idle.embeddedEventLoop.run()
        #expect(!idle.isActive)
    }

    /// After the server closed its side (`Connection: close`), requests pipelined behind
    /// it are never answered: the connection closes an idle time-out later, reads or not.
    @Test func afterTheServerClosedItsSideTheConnectionGoesWhateverIsRead() throws {
        let channel = try connected()
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        try channel.writeInbound(Self.head)
        channel.close(mode: .output, promise: nil)
        for _ in 0..<3 {
            wait(channel, 3)
            try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "x")))
        }
        #expect(channel.isActive)
        wait(channel, 2)
        #expect(!channel.isActive)
    }
}
