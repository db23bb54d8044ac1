import BundlecastCore
import NIOCore
import TransferWire

/// With a fleet key, the first handler of every transfer connection (``TransferCipher``): the
/// handshake, then each flush sealed as one message, and each message opened before the frame
/// decoder sees its bytes. Writes made during the handshake wait for it. A peer without the
/// fleet key fails at its first message, and the connection is closed.
final class SecureTransferHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Until a peer has sent one message that opens, it may not make us buffer more than this.
    static let firstMessageLimit = 64 << 10
    /// Writes are coalesced into messages of about this size (a flush seals sooner).
    static let coalesce = 1 << 20
    /// The largest message: coalesced writes plus one whole frame (a manifest, when one was
    /// asked for, may be large; otherwise a chunk is the largest).
    static let messageLimit = coalesce + TransferFrame.maxFrame + 64
    static let messageLimitWithoutManifest = coalesce + TransferFrame.maxChunkFrame + 64

    private let fleetKey: FleetKey
    private var handshake: TransferCipher.Handshake?
    private var sender: TransferCipher.Sender?
    private var receiveKey: [UInt8]?
    private var receiver: TransferCipher.Receiver?
    private var inbound = ByteBuffer()
    private var pending = ByteBuffer()
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private var opened = 0
    private let onRefused: (String) -> Void
    private let connection: TransferConnection

    init(fleetKey: FleetKey, isClient: Bool, connection: TransferConnection, onRefused: @escaping (String) -> Void) {
        self.fleetKey = fleetKey
        self.connection = connection
        handshake = TransferCipher.Handshake(isClient: isClient)
        self.onRefused = onRefused
    }

    func channelActive(context: ChannelHandlerContext) {
        if let handshake { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: handshake.hello)), promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        do {
            try process(context)
        } catch {
            onRefused("\(error)")
            inbound.clear()
            context.close(promise: nil)
        }
    }

    private func process(_ context: ChannelHandlerContext) throws {
        if sender == nil {
            guard inbound.readableBytes >= TransferCipher.helloLength, let handshake else { return }
            var keys = try handshake.keys(peerHello: inbound.readBytes(length: TransferCipher.helloLength)!, fleetKey: fleetKey)
            self.handshake = nil
            let started = TransferCipher.Sender(key: keys.send)
            Sodium.wipe(&keys.send)
            sender = started
            receiveKey = keys.receive
            context.write(wrapOutboundOut(ByteBuffer(bytes: started.header)), promise: nil)
            sealPending(context)
            context.flush()
        }
        if receiver == nil {
            guard inbound.readableBytes >= TransferCipher.headerLength, let key = receiveKey else { return }
            receiver = try TransferCipher.Receiver(key: key, header: inbound.readBytes(length: TransferCipher.headerLength)!)
            // In place: a copy would be wiped and the original freed as it was.
            Sodium.wipe(&receiveKey!)
            receiveKey = nil
        }
        while let length = inbound.getInteger(at: inbound.readerIndex, as: UInt32.self) {
            // Until the peer proved its id, no message may be larger than the first.
            let limit = (opened == 0 || connection.remote == nil ? Self.firstMessageLimit
                         : connection.awaitsManifest ? Self.messageLimit : Self.messageLimitWithoutManifest) + TransferCipher.overhead
            guard Int(length) <= limit else { throw TransferCipherError("an encrypted message of \(length) bytes, over \(limit)") }
            guard inbound.readableBytes >= 4 + Int(length) else { break }
            inbound.moveReaderIndex(forwardBy: 4)
            let plaintext = try receiver!.open(inbound.readBytes(length: Int(length))!)
            opened += 1
            context.fireChannelRead(wrapInboundOut(ByteBuffer(bytes: plaintext)))
        }
        if inbound.readerIndex > Self.coalesce { inbound.discardReadBytes() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        pending.writeBuffer(&bytes)
        if let promise { pendingPromises.append(promise) }
        if sender != nil && pending.readableBytes >= Self.coalesce { sealPending(context) }
    }

    func flush(context: ChannelHandlerContext) {
        // During the handshake, what was written goes out once the keys are known.
        guard sender != nil else { return }
        sealPending(context)
        context.flush()
    }

    private func sealPending(_ context: ChannelHandlerContext) {
        guard pending.readableBytes > 0 else { return }
        let ciphertext = pending.withUnsafeReadableBytes { sender!.seal($0) }
        pending.clear()
        var out = context.channel.allocator.buffer(capacity: 4 + ciphertext.count)
        out.writeInteger(UInt32(ciphertext.count))
        out.writeBytes(ciphertext)
        let promises = pendingPromises
        pendingPromises = []
        let promise = promises.isEmpty ? nil : context.eventLoop.makePromise(of: Void.self)
        promise?.futureResult.whenComplete { result in for p in promises { p.completeWith(result) } }
        context.write(wrapOutboundOut(out), promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let promises = pendingPromises
        pendingPromises = []
        for p in promises { p.fail(ChannelError.ioOnClosedChannel) }
    }
}
