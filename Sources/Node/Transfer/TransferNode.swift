import BundlecastCore
import Dispatch
import Foundation
import Gossip
import TransferWire
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import Swarm
import Synchronization

/// The transfer shell: a TCP listener and the connections to peers, serving
/// manifests, have-sets and chunks to anyone who asks, and handing the
/// answers to our own requests to the downloads (``Fetch``).
///
/// Uploads are paced node-wide by `--max-upload-rate` (each chunk reserves
/// the next slot on a virtual link of that rate, so the burst is one chunk),
/// and chunks are read from disk only when their slot comes, so a queue of
/// requests costs no memory.
public final class TransferNode: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// Bytes per second over all uploads; nil: unlimited.
        public var maxUploadRate: UInt64?
        /// Connections in total, both directions.
        public var maxConnections = 256
        /// Connections with one peer (one each way is normal).
        public var maxConnectionsPerPeer = 2
        /// With an upload cap, refuse a chunk sent to another peer less than `resendAfter`
        /// ago (BitTorrent's super-seeding, for seeds; see ``queueUpload(_:to:)``).
        public var superSeed = false
        /// Upload requests served in turns per requester (``UploadQueue``); false: in arrival
        /// order (for benchmarks that compare the two).
        public var uploadsInTurns = true
        /// Test only: flip a byte of every chunk and manifest sent, to play a malicious peer.
        public var corruptUploads = false
        /// With a fleet key, every connection is encrypted and authenticated (``TransferCipher``).
        public var fleetKey: FleetKey?
        /// Test only: peers to act cut off from.
        public var partition: Partition?
        public init() {}
    }

    public var id: NodeID { identity.id }
    /// The key this node proves its id with on every connection.
    let identity: NodeIdentity
    let settings: Settings
    let chunks: ChunkStore
    let manifests: ManifestCache
    let logger: Logger
    let group: any EventLoopGroup
    private let server = Mutex<(any Channel)?>(nil)
    /// The connection our requests to a peer go over.
    private let links = Mutex<[NodeID: any Channel]>([:])
    private let dialing = Mutex<[NodeID: EventLoopFuture<any Channel>]>([:])
    private let perPeer = Mutex<(total: Int, byPeer: [NodeID: Int])>((0, [:]))
    /// The upload pacer (see ``queueUpload(_:to:)``).
    let uploads: Mutex<UploadState>
    /// Room for bulk answers in write buffers (see ``pumpOutgoing(_:on:)``).
    let bulk = Mutex(BulkBudget())
    private let counterValues = Mutex(TransferCounters())
    private let bannedPeers = Mutex<Set<NodeID>>([])
    /// Every open connection (both directions), for pushing `has` frames.
    private let open = Mutex<[ObjectIdentifier: (channel: any Channel, connection: TransferConnection)]>([:])
    private let haveIndex = Mutex<[Digest256: [Digest256]]>([:])
    /// Answers to our requests (manifest, have, chunk, missing), for the downloads.
    /// (A struct, not a tuple: a generic over a tuple looks its metadata up on every call.)
    struct Delivery: Sendable {
        let peer: NodeID
        let frame: TransferFrame
    }

    private let responder = Hook<Delivery>()
    /// `has` frames from one peer, several at a time (``TransferHandler``).
    private let newsResponder = Hook<News>()
    struct News: Sendable {
        let peer: NodeID
        let chunks: [Digest256]
    }
    private let disconnected = Hook<NodeID>()
    /// Disk reads for uploads: never on an event loop.
    let io = DispatchQueue(label: "bundlecast.transfer.io", attributes: .concurrent)

    init(identity: NodeIdentity, settings: Settings, chunks: ChunkStore, manifests: ManifestCache, logger: Logger, group: any EventLoopGroup) {
        self.identity = identity
        self.settings = settings
        self.chunks = chunks
        self.manifests = manifests
        self.logger = logger
        self.group = group
        uploads = Mutex(UploadState(link: settings.maxUploadRate.flatMap { $0 > 0 ? UploadQueue(bytesPerSecond: $0) : nil }))
    }

    /// Binds the listener; `port` is then the one bound.
    public static func start(identity: NodeIdentity, settings: Settings, chunks: ChunkStore, manifests: ManifestCache, logger: Logger,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TransferNode {
        let node = TransferNode(identity: identity, settings: settings, chunks: chunks, manifests: manifests, logger: logger, group: group)
        settings.partition?.onCut.set { [weak node] ids in
            guard let node else { return }
            for (channel, connection) in node.open.withLock({ Array($0.values) }) where connection.remote.map(ids.contains) == true {
                channel.close(promise: nil)
            }
        }
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: Self.waterMark)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try node.setUp(channel, expect: nil) }
                }
                .bind(host: settings.host, port: settings.port).get()
            node.server.withLock { $0 = channel }
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            throw TransferError("cannot listen for transfers on \(settings.host):\(settings.port): \(reason); choose another --transfer port, or 0 for any")
        }
        return node
    }

    public var port: Int { server.withLock { $0?.localAddress?.port } ?? settings.port }
    public var counters: TransferCounters { counterValues.withLock { $0 } }

    func count(_ body: (inout TransferCounters) -> Void) { counterValues.withLock { body(&$0) } }

    func setResponder(_ f: @escaping @Sendable (NodeID, TransferFrame) -> Void) { responder.set { f($0.peer, $0.frame) } }
    func setNewsResponder(_ f: @escaping @Sendable (NodeID, [Digest256]) -> Void) { newsResponder.set { f($0.peer, $0.chunks) } }
    func setDisconnectHandler(_ f: @escaping @Sendable (NodeID) -> Void) { disconnected.set(f) }

    public func shutdown() async {
        try? await server.withLock { $0 }?.close()
        for channel in links.withLock({ Array($0.values) }) { try? await channel.close() }
    }

    // MARK: - Connections

    private func setUp(_ channel: any Channel, expect: NodeID?) throws {
        let connection = TransferConnection(expect: expect, eventLoop: channel.eventLoop)
        // A peer that does not read what it asked for stops being read: its requests wait in
        // its own socket buffer, not in this node's memory.
        try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
        if let fleetKey = settings.fleetKey {
            try channel.pipeline.syncOperations.addHandler(SecureTransferHandler(fleetKey: fleetKey, isClient: expect != nil, connection: connection) { [self] why in
                count { $0.badFrames += 1 }
                logger.info("closing transfer connection with \(channel.remoteAddress?.description ?? "?"): \(why)")
            })
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransferFrameDecoder(connection: connection)))
        // A connect that fails never becomes active: the hello promise must not be left unfulfilled.
        channel.closeFuture.whenComplete { _ in connection.hello.fail(ChannelError.ioOnClosedChannel) }
        try channel.pipeline.syncOperations.addHandler(TransferHandler(node: self, connection: connection))
        // A peer that never says hello is dropped, and so is one that stops reading what it asked for.
        channel.eventLoop.scheduleTask(in: .seconds(10)) {
            if connection.remote == nil { channel.close(promise: nil) }
        }
        let stallCheck = channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { [self] _ in
            guard connection.isStalled(now: NIODeadline.now().uptimeNanoseconds) else { return }
            logger.info("closing transfer connection with \(connection.remote?.short ?? "?"): it has not read for \(TransferConnection.stallTimeout / 1_000_000_000) s")
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in stallCheck.cancel() }
    }

    /// The connection to a peer (dialled if there is none); succeeds once the peer said hello with the expected id.
    public func link(to peer: NodeID, at address: PeerAddress) -> EventLoopFuture<any Channel> {
        if let channel = links.withLock({ $0[peer] }), channel.isActive { return channel.eventLoop.makeSucceededFuture(channel) }
        if let pending = dialing.withLock({ $0[peer] }) { return pending }
        guard !isBanned(peer) else { return group.next().makeFailedFuture(TransferError("peer \(peer.short) is banned")) }
        if settings.partition?.blocks(peer) == true { return group.next().makeFailedFuture(TransferError("peer \(peer.short) is cut off (test partition)")) }
        let node = self
        let future = ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: Self.waterMark)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try node.setUp(channel, expect: peer) } }
            .connect(host: address.host, port: Int(address.port))
            .flatMap { channel -> EventLoopFuture<any Channel> in
                channel.pipeline.handler(type: TransferHandler.self).flatMap { handler in
                    handler.connection.hello.futureResult.map { _ in channel }
                }
            }
        dialing.withLock { $0[peer] = future }
        future.whenComplete { _ in _ = node.dialing.withLock { $0.removeValue(forKey: peer) } }
        return future
    }

    /// Called by a connection once the peer said hello; false: refuse it (limits, banned).
    func registered(_ channel: any Channel, peer: NodeID, outbound: Bool) -> Bool {
        guard !isBanned(peer) else { return false }
        let admitted = perPeer.withLock { p -> Bool in
            guard p.total < settings.maxConnections, p.byPeer[peer, default: 0] < settings.maxConnectionsPerPeer else { return false }
            p.total += 1
            p.byPeer[peer, default: 0] += 1
            return true
        }
        guard admitted else {
            count { $0.connectionsRefused += 1 }
            return false
        }
        count { if outbound { $0.connectionsOut += 1 } else { $0.connectionsIn += 1 } }
        links.withLock { links in
            if links[peer]?.isActive != true || outbound { links[peer] = channel }
        }
        return true
    }

    func unregistered(_ channel: any Channel, peer: NodeID, connection: TransferConnection) {
        dropUploads(on: channel, to: peer)
        for case .chunk(let upload) in connection.close() { _ = connection.finish(upload.digest) }
        perPeer.withLock { p in
            p.total -= 1
            p.byPeer[peer, default: 1] -= 1
            if p.byPeer[peer] == 0 { p.byPeer[peer] = nil }
        }
        let wasLink = links.withLock { links -> Bool in
            guard links[peer] === channel else { return false }
            links[peer] = nil
            return true
        }
        if wasLink { disconnected(peer) }
    }

    func opened(_ channel: any Channel, _ connection: TransferConnection) {
        open.withLock { $0[ObjectIdentifier(channel)] = (channel, connection) }
    }

    func closed(_ channel: any Channel) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Tells the peers following `manifest` that we now hold `chunk` (BitTorrent's HAVE).
    ///
    /// A node stores a chunk every few milliseconds and tells each of a dozen or more peers:
    /// sent one by one, that is a system call here and a wake-up there per chunk and peer. So
    /// each connection queues its `has` frames and sends them together, in one write, at most
    /// ``hasDelay`` after the first; a few milliseconds later news does not change a pick.
    func announce(chunk: Digest256, of manifest: Digest256) {
        // A peer that stops reading misses news (its have-query refresh catches up), rather
        // than this node buffering it.
        for (channel, connection) in open.withLock({ Array($0.values) }) where connection.isInterested(in: manifest) && channel.isWritable {
            guard connection.queueHas(chunk) else { continue }
            channel.eventLoop.scheduleTask(in: Self.hasDelay) {
                let chunks = connection.takeHas()
                channel.writeAndFlush(TransferFrame.buffer(chunks.map { .has($0) }), promise: nil)
            }
        }
    }

    static let hasDelay = TimeAmount.milliseconds(20)

    public func send(_ frame: TransferFrame, to peer: NodeID) {
        guard let channel = links.withLock({ $0[peer] }) else { return }
        if case .getManifest(let d) = frame { open.withLock { $0[ObjectIdentifier(channel)] }?.connection.askedForManifest(d) }
        channel.writeAndFlush(frame.buffer(), promise: nil)
    }

    /// Sends several frames to a peer in one write (one hop to its event loop, one system call).
    func send(_ frames: [TransferFrame], to peer: NodeID) {
        guard !frames.isEmpty else { return }
        guard let channel = links.withLock({ $0[peer] }) else {
            logger.debug("no connection to peer \(peer.short): \(frames.count) frames not sent")
            return
        }
        channel.writeAndFlush(TransferFrame.buffer(frames), promise: nil)
    }

    /// Bans a peer for sending bad data: its connections close and it is never asked or served again.
    public func ban(_ peer: NodeID, reason: String) {
        guard bannedPeers.withLock({ $0.insert(peer).inserted }) else { return }
        logger.warning("banned peer \(peer): \(reason)")
        onBan((peer, reason))
        count { $0.banned.append(peer.description) }
        links.withLock { $0[peer] }?.close(promise: nil)
    }

    public func isBanned(_ peer: NodeID) -> Bool { bannedPeers.withLock { $0.contains(peer) } }

    /// Called with each new ban (the node records it, so a restart keeps it).
    let onBan = Hook<(peer: NodeID, reason: String)>()

    /// Bans remembered from before a restart: kept out as before, without a new log line.
    func restoreBans(_ peers: [NodeID]) {
        bannedPeers.withLock { $0.formUnion(peers) }
        count { $0.banned.append(contentsOf: peers.map(\.description)) }
    }

    // MARK: - Serving

    func deliver(_ frame: TransferFrame, from peer: NodeID) {
        responder(Delivery(peer: peer, frame: frame))
    }

    /// A peer's `has` frames: chunks it now holds.
    func deliverNews(_ chunks: [Digest256], from peer: NodeID) {
        newsResponder(News(peer: peer, chunks: chunks))
    }

    /// The distinct chunk digests of a manifest we hold (cached: have-queries come every second).
    func distinctChunks(of digest: Digest256) -> [Digest256]? {
        if let cached = haveIndex.withLock({ $0[digest] }) { return cached }
        guard let manifest = manifests.manifest(digest) else { return nil }
        let list = manifest.distinctChunks.map(\.digest)
        haveIndex.withLock { cache in
            if cache.count >= 8 { cache.removeAll() }
            cache[digest] = list
        }
        return list
    }

    static let resendAfter: UInt64 = 5_000_000_000

    /// A connection stops being read (``BackPressureHandler``) when this much waits to be
    /// written. Above the bulk answers' own limit (``TransferConnection/maxUnsentBytes`` plus
    /// a chunk), so chunks on their way out never stop the chunks coming in on the same
    /// connection; only small answers piling up (a peer that asks and does not read) do.
    static let waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: TransferConnection.maxUnsentBytes,
                                                                     high: TransferConnection.maxUnsentBytes + (512 << 10))
}

/// Transfer frames: a u32 length, then the frame. A length over the limit
/// closes the connection before any of it is buffered.
struct TransferFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    struct FrameTooLarge: Error {}
    /// A manifest frame is allowed only while we wait for one we asked for.
    let connection: TransferConnection
    /// Before the peer said hello, nothing bigger than a hello is buffered.
    var first = true

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let type = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self)
        if length > 0 && type == nil { return .needMoreData }
        let limit = TransferFrame.maxLength(type: type ?? 0, beforeHello: first, manifestAsked: connection.awaitsManifest)
        guard Int(length) <= limit else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        first = false
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
