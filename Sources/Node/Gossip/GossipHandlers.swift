import Foundation
import Gossip
import NIOCore

/// The gossip port could not be opened.
public struct GossipBindError: Error, CustomStringConvertible {
    let what: String
    let host: String
    let port: Int
    let error: any Error

    public var description: String {
        let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
        return "cannot listen for gossip (\(what)) on \(host):\(port): \(reason); choose another --gossip port, or 0 for any"
    }
}

/// Datagrams in.
final class DatagramHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let runtime: GossipRuntime

    init(runtime: GossipRuntime) { self.runtime = runtime }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        runtime.receiveDatagram(Array(buffer: envelope.data), from: envelope.remoteAddress)
    }
}

/// A push-pull request in, our state back, then the connection closes. Confined to its
/// channel's event loop, like every NIO handler.
final class PushPullServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let runtime: GossipRuntime

    /// One exchange per connection: a second request would queue a second full state.
    /// Its request came (the request deadline then leaves the connection alone).
    private(set) var answered = false

    init(runtime: GossipRuntime) { self.runtime = runtime }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let frame = Array(buffer: unwrapInboundIn(data))
        guard let reply = runtime.receiveStream(frame, from: context.remoteAddress) else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// A frame over the limit (or any other error): drop the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The answer to our push-pull request.
final class PushPullClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let runtime: GossipRuntime

    init(runtime: GossipRuntime) { self.runtime = runtime }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        _ = runtime.receiveStream(Array(buffer: unwrapInboundIn(data)), from: context.remoteAddress)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// What a node made of signed bytes a peer sent (a notice, a rotation statement, a timestamp).
public enum NoticeOutcome: Sendable, Equatable {
    /// New and valid: kept and passed on.
    case accepted
    /// Already held: gossip's normal redundancy.
    case known
    /// Not taken now.
    case refused
}
