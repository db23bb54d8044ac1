import BundlecastCore
import Gossip
import TransferWire
import NIOCore

/// One transfer connection: says hello, checks the peer's, then serves what
/// the peer asks and passes the answers to our requests to the downloads.
///
/// Confined to its channel's event loop, like every NIO handler: its own state needs no lock.
final class TransferHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let node: TransferNode
    let connection: TransferConnection
    /// `has` frames of this read, handed on together (one planner event for all of them)
    /// before the next other frame and when the read is done, so the order is kept.
    private var news: [Digest256] = []
    /// The handshake's deadline, cancelled when the connection ends: it holds the channel and
    /// the connection, and a peer that connects and closes over and over would otherwise
    /// keep every one of them for the deadline's length.
    private var proofDeadline: Scheduled<Void>?

    init(node: TransferNode, connection: TransferConnection) {
        self.node = node
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        // A peer that does not prove its id in time is dropped (from the connect, not the dial).
        let (channel, connection) = (context.channel, connection)
        proofDeadline = context.eventLoop.scheduleTask(in: UnprovenConnections.deadline) {
            if connection.remote == nil { channel.close(promise: nil) }
        }
        let hello = TransferFrame.hello(version: TransferFrame.protocolVersion, node: node.id, key: node.identity.publicKey, nonce: connection.nonce)
        context.writeAndFlush(wrapOutboundOut(hello.buffer()), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        proofDeadline?.cancel()
        proofDeadline = nil
        if let remote = connection.remote { node.unregistered(context.channel, peer: remote, connection: connection) }
        connection.hello.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame: TransferFrame
        do { frame = try unwrapInboundIn(data).withUnsafeReadableBytes { try TransferFrame(decoding: $0) } } catch {
            refuse(context, "\(error)")
            return
        }
        guard let remote = connection.remote else { return handshake(context, frame) }
        if case .has(let d) = frame {
            news.append(d)
            return
        }
        passOnNews(from: remote)
        switch frame {
        case .hello, .proof: refuse(context, "a second hello or proof")
        case .getManifest(let d):
            // At most two manifest answers per peer wait or are being written (each can be 16 MiB).
            guard connection.admitManifestRequest() else {
                context.writeAndFlush(wrapOutboundOut(TransferFrame.missing(d).buffer()), promise: nil)
                return
            }
            if !node.sendManifest(d, on: context.channel, connection: connection) {
                connection.manifestRequestDone()
                context.writeAndFlush(wrapOutboundOut(TransferFrame.missing(d).buffer()), promise: nil)
            }
        case .haveQuery(let d):
            // From now on the peer is told of every chunk of this manifest we store; and if we are
            // fetching the same manifest, the peer is one more source for us.
            connection.subscribe(d)
            node.deliver(frame, from: remote)
            guard connection.admitHaveQuery() else {
                node.count { $0.haveQueriesDropped? += 1 }
                return
            }
            let channel = context.channel
            node.io.async { [node, connection] in
                defer { connection.haveQueryDone() }
                guard let list = node.distinctChunks(of: d) else {
                    channel.writeAndFlush(TransferFrame.missing(d).buffer(), promise: nil)
                    return
                }
                let bits = TransferFrame.bitfield(node.chunks.presence(list))
                channel.writeAndFlush(TransferFrame.have(d, count: UInt32(list.count), bits: bits).buffer(), promise: nil)
            }
        case .request(let d):
            serve(d, on: context.channel)
        case .cancel(let d):
            // Still waiting for its turn: it leaves the queue and its pending record goes. A
            // cancel of nothing pending costs no walk of the queue.
            if connection.cancel(d), node.unqueueUpload(d, on: connection, from: remote) { _ = connection.finish(d) }
        case .manifest(let d, let bytes):
            // Only a manifest asked for on this connection is hashed and handed on.
            if connection.answered(d) { node.deliverManifest(d, bytes, from: remote) }
        case .missing(let d):
            connection.answered(d)
            node.deliver(frame, from: remote)
        case .have, .chunk:
            node.deliver(frame, from: remote)
        case .has:
            break  // taken as news above
        }
    }

    /// Hello, then proof, from the peer: its id must be the one its key derives, and its
    /// signature must cover this connection's nonces, before anything is credited to it.
    private func handshake(_ context: ChannelHandlerContext, _ frame: TransferFrame) {
        guard let peer = connection.peerHello else {
            guard case .hello(let version, let id, let key, let nonce) = frame else { return refuse(context, "first frame is not hello") }
            guard version == TransferFrame.protocolVersion else { return refuse(context, "protocol version \(version), this node speaks \(TransferFrame.protocolVersion)") }
            guard NodeIdentity.id(of: key) == id else { return refuse(context, "peer says it is \(id.short), which its key is not") }
            if let expect = connection.expect, expect != id { return refuse(context, "peer says it is \(id.short), expected \(expect.short)") }
            if node.settings.partition?.blocks(id) == true { return refuse(context, "peer \(id.short) is cut off (test partition)") }
            guard id != node.id else {
                context.close(promise: nil)
                return
            }
            connection.setPeerHello(.init(id: id, key: key, nonce: nonce))
            let proof = node.identity.proof(ownNonce: connection.nonce, peerNonce: nonce, peer: id)
            context.writeAndFlush(wrapOutboundOut(TransferFrame.proof(proof).buffer()), promise: nil)
            return
        }
        guard case .proof(let signature) = frame else { return refuse(context, "frame before the peer's proof of its id") }
        guard NodeIdentity.verify(signature, peerKey: peer.key, peer: peer.id, peerNonce: peer.nonce, ownNonce: connection.nonce, own: node.id) else {
            return refuse(context, "peer \(peer.id.short) did not prove its id (a wrong or replayed proof)")
        }
        node.returnUnprovenSlot(of: connection)
        // A proof still in the decoder's buffer reaches here after the channel closed (a write
        // failed within this read): registered then, it would never be unregistered.
        guard context.channel.isActive, node.registered(context.channel, peer: peer.id, connection: connection, outbound: connection.expect != nil) else {
            context.close(promise: nil)
            return
        }
        connection.setRemote(peer.id)
        connection.hello.succeed(peer.id)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.heard(now: NIODeadline.now().uptimeNanoseconds)
        if let remote = connection.remote { passOnNews(from: remote) }
        context.fireChannelReadComplete()
    }

    private func passOnNews(from remote: NodeID) {
        guard !news.isEmpty else { return }
        let chunks = news
        news.removeAll(keepingCapacity: true)
        node.deliverNews(chunks, from: remote)
    }

    private func serve(_ digest: Digest256, on channel: any Channel) {
        let remote = connection.remote!
        guard !node.isBanned(remote), let size = node.chunks.size(digest), connection.admit(digest) else {
            channel.writeAndFlush(TransferFrame.missing(digest).buffer(), promise: nil)
            return
        }
        guard node.queueUpload(Upload(peer: remote, digest: digest, size: size, channel: channel, connection: connection), to: remote) else {
            _ = connection.finish(digest)
            channel.writeAndFlush(TransferFrame.missing(digest).buffer(), promise: nil)
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
