import BundlecastCore
import Dispatch
import Foundation
import Gossip
import Logging
import NIOCore
import NIOPosix
import Swarm
import Synchronization
import TransferWire

/// The transfer shell: a TCP listener and the connections to peers, serving
/// manifests, have-sets and chunks to anyone who asks, and handing the
/// answers to our own requests to its delegate (the downloads, ``Fetch``).
///
/// Uploads are paced node-wide by `--max-upload-rate` (each chunk reserves
/// the next slot on a virtual link of that rate, so the burst is one chunk),
/// and chunks are read from disk only when their slot comes, so a queue of
/// requests costs no memory.
///
/// The node-wide books (links, limits, the upload pacer, bans, counters) are one state
/// struct under one lock, each touched briefly and never while a connection's own lock is
/// held by this side; a connection's state is its own (``TransferConnection``).
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
        /// While the link is busy, refuse a chunk sent to another peer less than `resendAfter`
        /// ago (BitTorrent's super-seeding, for seeds; see ``SuperSeeding``). The link is the
        /// upload cap's when there is one, else the kernel's (``superSeedsOnBackPressure``).
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

    /// File regions being sent (``sendFromFile(_:)``).
    let regionsInFlight = Atomic<Int>(0)
    /// Room for manifest-sized frames being received, over all connections.
    let largeFrames = LargeFrameBudget()

    /// The node-wide books.
    struct State {
        var server: (any Channel)?
        /// The connection our requests to a peer go over.
        var links: [NodeID: any Channel] = [:]
        var dialing: [NodeID: EventLoopFuture<any Channel>] = [:]
        /// Registered (proven) connections, and those of them the peer dialled.
        var connections = 0
        var inbound = 0
        var connectionsByPeer: [NodeID: Int] = [:]
        /// Accepted connections whose peer has not proven its id yet.
        var unproven = UnprovenConnections()
        /// The upload pacer (see ``queueUpload(_:to:)``).
        var uploads: UploadState
        /// Room for bulk answers in write buffers (see ``pumpOutgoing(_:on:)``).
        var bulk = BulkBudget()
        var counters = TransferCounters()
        var bans = BanBook()
        /// Every registered connection (both directions), for pushing `has` frames.
        var open: [ObjectIdentifier: OpenConnection] = [:]
        /// The distinct chunk lists of manifests peers asked about (have-queries come every
        /// second), oldest first out.
        var haveIndex = HaveIndex()
    }

    /// (A struct, not a tuple: a generic over a tuple looks its metadata up on every call.)
    struct OpenConnection {
        let channel: any Channel
        let connection: TransferConnection
        let peer: NodeID
        /// Dialled by this node.
        let outbound: Bool
    }

    public var id: NodeID { identity.id }
    /// The key this node proves its id with on every connection.
    let identity: NodeIdentity
    let settings: Settings
    let chunks: ChunkStore
    let manifests: ManifestCache
    let logger: Logger
    let group: any EventLoopGroup
    /// Where answers to our requests, news, lost links and bans go; fixed at construction.
    let delegate: any TransferNodeDelegate
    let state: Mutex<State>
    /// Disk reads for uploads, and hashing manifests: never on an event loop.
    let io = DispatchQueue(label: "bundlecast.transfer.io", attributes: .concurrent)

    init(identity: NodeIdentity, settings: Settings, chunks: ChunkStore, manifests: ManifestCache,
         delegate: any TransferNodeDelegate, logger: Logger, group: any EventLoopGroup) {
        self.identity = identity
        self.settings = settings
        self.chunks = chunks
        self.manifests = manifests
        self.delegate = delegate
        self.logger = logger
        self.group = group
        let link = settings.maxUploadRate.flatMap { $0 > 0 ? UploadQueue<Upload>(bytesPerSecond: $0) : nil }
        state = Mutex(State(uploads: UploadState(link: link, seeding: SuperSeeding(refuses: settings.superSeed))))
    }

    /// Binds the listener; `port` is then the one bound.
    static func start(identity: NodeIdentity, settings: Settings, chunks: ChunkStore, manifests: ManifestCache,
                      delegate: any TransferNodeDelegate, logger: Logger,
                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TransferNode {
        let node = TransferNode(identity: identity, settings: settings, chunks: chunks, manifests: manifests,
                                delegate: delegate, logger: logger, group: group)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: Self.waterMark)
                .childChannelOption(.recvAllocator, value: Self.reads)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try node.setUp(channel, expect: nil) }
                }
                .bind(host: settings.host, port: settings.port).get()
            node.state.withLock { $0.server = channel }
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            throw TransferError("cannot listen for transfers on \(settings.host):\(settings.port): \(reason); choose another --transfer port, or 0 for any")
        }
        return node
    }

    public var port: Int { state.withLock { $0.server?.localAddress?.port } ?? settings.port }
    public var counters: TransferCounters { state.withLock { $0.counters } }

    func count(_ body: (inout TransferCounters) -> Void) { state.withLock { body(&$0.counters) } }

    public func shutdown() async {
        let (server, links) = state.withLock { ($0.server, Array($0.links.values) + $0.open.values.map(\.channel)) }
        try? await server?.close()
        // Every connection, dialled or accepted: a stopped node serves no one.
        for channel in links { try? await channel.close() }
        // Manifest checks and bans already under way finish before the transfer shell is down.
        await io.drained()
    }

    /// Tells the peers following `manifest` that we now hold `chunk` (BitTorrent's HAVE).
    ///
    /// A node stores a chunk every few milliseconds and tells each of a dozen or more peers:
    /// sent one by one, that is a system call here and a wake-up there per chunk and peer. So
    /// each connection queues its `has` frames and sends them together, in one write, at most
    /// once per ``hasDelay``; a few milliseconds later news does not change a pick. The first
    /// news after a quiet spell goes at once (``NewsPacing``): a small release's chunks travel
    /// on it.
    func announce(chunk: Digest256, of manifest: Digest256) {
        // A peer that stops reading misses news (its have-query refresh catches up), rather
        // than this node buffering it.
        let now = NIODeadline.now().uptimeNanoseconds
        for open in state.withLock({ Array($0.open.values) }) where open.connection.isInterested(in: manifest) && open.channel.isWritable {
            guard let wait = open.connection.queueHas(chunk, now: now) else { continue }
            let (channel, connection) = (open.channel, open.connection)
            let send: @Sendable () -> Void = {
                let chunks = connection.takeHas(now: NIODeadline.now().uptimeNanoseconds)
                guard !chunks.isEmpty else { return }
                channel.writeAndFlush(TransferFrame.buffer(chunks.map { .has($0) }), promise: nil)
            }
            if wait == 0 {
                channel.eventLoop.execute(send)
            } else {
                channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: wait)), send)
            }
        }
    }

    static let hasDelay = TimeAmount.milliseconds(20)

    public func send(_ frame: TransferFrame, to peer: NodeID) {
        guard let link = state.withLock({ s in s.links[peer].map { Link(channel: $0, connection: s.open[ObjectIdentifier($0)]?.connection) } }) else { return }
        if case .getManifest(let d) = frame { link.connection?.askedForManifest(d) }
        link.channel.writeAndFlush(frame.buffer(), promise: nil)
    }

    /// The connection our requests to a peer go over, and its state once the peer proved its id.
    private struct Link {
        let channel: any Channel
        let connection: TransferConnection?
    }

    /// Sends several frames to a peer in one write (one hop to its event loop, one system call).
    func send(_ frames: [TransferFrame], to peer: NodeID) {
        guard !frames.isEmpty else { return }
        guard let channel = state.withLock({ $0.links[peer] }) else {
            logger.debug("no connection to peer \(peer.short): \(frames.count) frames not sent")
            return
        }
        channel.writeAndFlush(TransferFrame.buffer(frames), promise: nil)
    }

    // MARK: - Serving

    func deliver(_ frame: TransferFrame, from peer: NodeID) {
        delegate.transfer(received: frame, from: peer)
    }

    /// A peer's `has` frames: chunks it now holds.
    func deliverNews(_ chunks: [Digest256], from peer: NodeID) {
        delegate.transfer(peer: peer, nowHolds: chunks)
    }

    /// A manifest we asked this peer for: hashed off the event loop (it may be 16 MiB), then
    /// handed on if it matches its digest; a peer that sends one that does not is banned.
    func deliverManifest(_ digest: Digest256, _ bytes: [UInt8], from peer: NodeID) {
        io.async { [self] in
            if Blake2b.digest256(bytes) == digest {
                deliver(.manifest(digest, bytes), from: peer)
            } else {
                ban(peer, reason: "sent a manifest that does not hash to \(digest.short)")
            }
        }
    }

    /// The distinct chunk digests of a manifest we hold (cached: have-queries come every second).
    func distinctChunks(of digest: Digest256) -> [Digest256]? {
        if let cached = state.withLock({ $0.haveIndex.list(of: digest) }) { return cached }
        guard let manifest = manifests.manifest(digest) else { return nil }
        let list = manifest.distinctChunks.map(\.digest)
        state.withLock { $0.haveIndex.insert(list, for: digest) }
        return list
    }

    /// Reads of up to 128 KiB: a chunk frame (64 KiB on average, and its header) no longer
    /// takes two reads, the second copying the first into the decoder's buffer; NIO's default
    /// stops at 64 KiB. Not more: NIO keeps a few read buffers per connection for reuse.
    static let reads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 128 << 10)

    /// A connection stops being read (``BackPressureHandler``) when this much waits to be
    /// written. Above the bulk answers' own limit (``TransferConnection/maxUnsentBytes`` plus
    /// a chunk), so chunks on their way out never stop the chunks coming in on the same
    /// connection; only small answers piling up (a peer that asks and does not read) do.
    static let waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: TransferConnection.maxUnsentBytes,
                                                                     high: TransferConnection.maxUnsentBytes + (512 << 10))
}
