import BundlecastCore
import Gossip
import TransferWire
import NIOCore

/// One transfer connection: says hello, checks the peer's, then serves what
/// the peer asks and passes the answers to our requests to the downloads.
final class TransferHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let node: TransferNode
    let connection: TransferConnection

    init(node: TransferNode, connection: TransferConnection) {
        self.node = node
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        let hello = TransferFrame.hello(version: TransferFrame.protocolVersion, node: node.id).encoded()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: hello)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let remote = connection.remote {
            node.unregistered(context.channel, peer: remote)
            node.closed(context.channel)
        }
        connection.hello.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame: TransferFrame
        do { frame = try unwrapInboundIn(data).withUnsafeReadableBytes { try TransferFrame(decoding: $0) } } catch {
            refuse(context, "\(error)")
            return
        }
        guard let remote = connection.remote else {
            guard case .hello(let version, let id) = frame else { return refuse(context, "first frame is not hello") }
            guard version == TransferFrame.protocolVersion else { return refuse(context, "protocol version \(version), this node speaks \(TransferFrame.protocolVersion)") }
            if let expect = connection.expect, expect != id { return refuse(context, "peer says it is \(id.short), expected \(expect.short)") }
            if node.settings.partition?.blocks(id) == true { return refuse(context, "peer \(id.short) is cut off (test partition)") }
            guard id != node.id, node.registered(context.channel, peer: id, outbound: connection.expect != nil) else {
                context.close(promise: nil)
                return
            }
            connection.setRemote(id)
            node.opened(context.channel, connection)
            connection.hello.succeed(id)
            return
        }
        switch frame {
        case .hello: refuse(context, "second hello")
        case .getManifest(let d):
            let channel = context.channel
            node.io.async { [node] in
                let reply: TransferFrame = node.manifests.bytes(d).map { bytes in
                    guard node.settings.corruptUploads, !bytes.isEmpty else { return .manifest(d, bytes) }
                    var altered = bytes
                    altered[altered.count / 2] ^= 0x01
                    return .manifest(d, altered)
                } ?? .missing(d)
                channel.writeAndFlush(ByteBuffer(bytes: reply.encoded()), promise: nil)
            }
        case .haveQuery(let d):
            // From now on the peer is told of every chunk of this manifest we store; and if we are
            // fetching the same manifest, the peer is one more source for us.
            connection.subscribe(d)
            node.deliver(frame, from: remote)
            let channel = context.channel
            node.io.async { [node] in
                guard let list = node.distinctChunks(of: d) else {
                    channel.writeAndFlush(ByteBuffer(bytes: TransferFrame.missing(d).encoded()), promise: nil)
                    return
                }
                let bits = TransferFrame.bitfield(node.chunks.presence(list))
                channel.writeAndFlush(ByteBuffer(bytes: TransferFrame.have(d, count: UInt32(list.count), bits: bits).encoded()), promise: nil)
            }
        case .request(let d):
            serve(d, on: context.channel)
        case .cancel(let d):
            connection.cancel(d)
            // Still waiting for its turn: it leaves the queue and its pending record goes.
            if node.unqueueUpload(d, on: connection, from: remote) { _ = connection.finish(d) }
        case .manifest, .have, .chunk, .missing, .has:
            node.deliver(frame, from: remote)
        }
    }

    private func serve(_ digest: Digest256, on channel: any Channel) {
        let remote = connection.remote!
        guard !node.isBanned(remote), let size = node.chunks.size(digest), connection.admit(digest) else {
            channel.writeAndFlush(ByteBuffer(bytes: TransferFrame.missing(digest).encoded()), promise: nil)
            return
        }
        guard node.queueUpload(Upload(peer: remote, digest: digest, size: size, channel: channel, connection: connection), to: remote) else {
            _ = connection.finish(digest)
            channel.writeAndFlush(ByteBuffer(bytes: TransferFrame.missing(digest).encoded()), promise: nil)
            return
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ why: String) {
        node.count { $0.badFrames += 1 }
        node.logger.info("closing transfer connection from \(context.remoteAddress?.description ?? "?"): \(why)")
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is TransferFrameDecoder.FrameTooLarge || error is ByteToMessageDecoderError {
            refuse(context, "frame over \(TransferFrame.maxFrame) bytes")
        } else {
            context.close(promise: nil)
        }
    }
}
