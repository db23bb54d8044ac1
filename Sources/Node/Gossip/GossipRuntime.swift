import BundlecastCore
import Dispatch
import Foundation
import Gossip
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import Synchronization

/// Runs the pure ``SWIMMembership`` for real: UDP datagrams for probes and
/// rumours, TCP frames (u32 length + payload) for push-pull, on the same
/// port number, every packet sealed with the fleet key when there is one.
///
/// All state-machine calls happen under one lock and return directives; the
/// packets they ask for are written after the lock is released.
public final class GossipRuntime: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// Address other members use, when it differs from the bound one.
        public var advertise: String?
        public var swim = SWIMSettings()
        /// Anti-entropy: a full-state exchange with one random member. Twice as often as
        /// memberlist's LAN default (30 s): member metadata now carries install state, and a
        /// lost rumour about it should not keep `status` stale for long.
        public var pushPullInterval: UInt64 = 15_000_000_000
        /// Test only: members to act cut off from.
        public var partition: Partition?
        public init() {}
    }

    private let swim: Mutex<SWIMMembership>
    private let counters = Mutex(GossipCounters())
    private let udp = Mutex<(any Channel)?>(nil)
    private let ticker = Mutex<RepeatedTask?>(nil)
    private let tcp = Mutex<(any Channel)?>(nil)
    /// Push-pull connections being served: each may hold a 4 MiB frame, so they are few.
    private let pushPullOpen = Mutex(0)
    static let maxPushPullConnections = 8
    private let nextPushPull = Mutex<UInt64>(0)
    private let group: any EventLoopGroup
    private let fleetKey: FleetKey?
    let settings: Settings
    private let logger: Logger
    /// Called with every member change (for the node's store and status).
    private let onChange: @Sendable (Member) -> Void
    /// Called with every notice received from a peer (only accepted ones are passed on).
    private let onNotice: @Sendable ([UInt8], PeerAddress) -> NoticeOutcome
    /// Notices being spread: each goes to `gossipFanout` random members per
    /// gossip interval, `retransmitLimit` times.
    private let notices: Mutex<RumourQueue<[UInt8]>>
    /// Digests of the last notices seen: gossip delivers each one dozens of
    /// times, and a repeat needs no signature check and no database.
    private let seen = Mutex<[Digest256]>([])
    /// Checking and storing a notice verifies a signature and writes SQLite:
    /// never on an event loop.
    private let noticeWork = DispatchQueue(label: "bundlecast.node.notices")

    public static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Binds UDP and TCP and starts ticking. `port` in the result is the one bound.
    public static func start(
        id: NodeID, settings: Settings, metadata: [UInt8], fleetKey: FleetKey?, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onChange: @escaping @Sendable (Member) -> Void = { _ in },
        onNotice: @escaping @Sendable ([UInt8], PeerAddress) -> NoticeOutcome = { _, _ in .refused }
    ) async throws -> GossipRuntime {
        // Bind UDP first (port 0 picks one), then TCP on the same port number. With port 0,
        // that number can be taken on the TCP side (an outgoing connection's ephemeral
        // port): then both are released and another pair is tried.
        var attempt = 0
        while true {
            attempt += 1
            let udpChannel: any Channel
            do {
                udpChannel = try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                    .bind(host: settings.host, port: settings.port).get()
            } catch {
                throw GossipBindError(what: "UDP", host: settings.host, port: settings.port, error: error)
            }
            let port = udpChannel.localAddress?.port ?? settings.port
            let address = PeerAddress(host: settings.advertise ?? settings.host, port: UInt16(port))
            let incarnation = UInt64(Date().timeIntervalSince1970)
            let machine = SWIMMembership(id: id, address: address, incarnation: incarnation, metadata: metadata,
                                         settings: settings.swim, seed: UInt64.random(in: 0...UInt64.max), now: now())
            let runtime = GossipRuntime(swim: machine, group: group, fleetKey: fleetKey, settings: settings, logger: logger,
                                        onChange: onChange, onNotice: onNotice)
            let tcpChannel: any Channel
            do {
                tcpChannel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            // A flood of connections each holding part of a 4 MiB frame must not add up.
                            let admitted = runtime.pushPullOpen.withLock { open -> Bool in
                                guard open < Self.maxPushPullConnections else { return false }
                                open += 1
                                return true
                            }
                            guard admitted else {
                                channel.close(promise: nil)
                                return
                            }
                            channel.closeFuture.whenComplete { _ in runtime.pushPullOpen.withLock { $0 -= 1 } }
                            try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PushPullFrameDecoder()))
                            try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
                            try channel.pipeline.syncOperations.addHandler(PushPullServerHandler(runtime: runtime))
                            // A push-pull takes milliseconds; a connection kept open longer is closed.
                            channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
                        }
                    }
                    .bind(host: settings.host, port: port).get()
            } catch {
                try? await udpChannel.close()
                if settings.port == 0 && attempt < 20 { continue }
                throw GossipBindError(what: "TCP", host: settings.host, port: port, error: error)
            }
            runtime.udp.withLock { $0 = udpChannel }
            try await udpChannel.pipeline.addHandler(DatagramHandler(runtime: runtime)).get()
            runtime.tcp.withLock { $0 = tcpChannel }
            runtime.nextPushPull.withLock { $0 = now() + settings.pushPullInterval }
            let ticker = udpChannel.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(20), delay: .milliseconds(20)) { _ in
                runtime.tick()
            }
            runtime.ticker.withLock { $0 = ticker }
            return runtime
        }
    }

    private init(swim: SWIMMembership, group: any EventLoopGroup, fleetKey: FleetKey?, settings: Settings, logger: Logger,
                 onChange: @escaping @Sendable (Member) -> Void, onNotice: @escaping @Sendable ([UInt8], PeerAddress) -> NoticeOutcome) {
        self.swim = Mutex(swim)
        self.group = group
        self.fleetKey = fleetKey
        self.settings = settings
        self.logger = logger
        self.onChange = onChange
        self.onNotice = onNotice
        notices = Mutex(RumourQueue(interval: settings.swim.gossipInterval, freshDelay: settings.swim.freshRumourDelay))
    }

    /// Starts spreading a notice or rotation statement this node accepted (it must fit a datagram).
    public func spread(notice body: [UInt8]) {
        guard body.count + 64 <= GossipCodec.maxDatagram else {
            logger.warning("notice of \(body.count) bytes does not fit a gossip datagram; not spread")
            return
        }
        notices.withLock { _ = $0.add(body) }
    }

    /// Sends signed bytes (a notice or a rotation statement) to one member at once, outside
    /// the rumour rounds: how a member that lags gets what it missed.
    public func send(notice body: [UInt8], to target: PeerAddress) {
        guard body.count + 64 <= GossipCodec.maxDatagram else { return }
        sendDatagram(.notice(from: me.id, body: body), to: target)
    }

    public var port: Int { udp.withLock { $0?.localAddress?.port } ?? settings.port }
    public var me: Member { swim.withLock { $0.me } }
    public var members: [Member] { swim.withLock { $0.members } }
    public var counterValues: GossipCounters { counters.withLock { $0 } }

    public func join(_ seeds: [PeerAddress]) { perform(swim.withLock { $0.join(seeds) }) }
    public func setMetadata(_ metadata: [UInt8]) { perform(swim.withLock { $0.setMetadata(metadata) }) }

    /// Leaves gracefully and closes the sockets.
    public func shutdown() async {
        perform(swim.withLock { $0.leave() })
        ticker.withLock { $0 }?.cancel()
        try? await udp.withLock { $0 }?.close()
        try? await tcp.withLock { $0 }?.close()
    }

    // MARK: - Inbound

    func receiveDatagram(_ raw: [UInt8], from remote: SocketAddress) {
        counters.withLock {
            $0.datagramsIn += 1
            $0.bytesIn += raw.count
        }
        let limit = GossipCodec.maxDatagram + (fleetKey == nil ? 0 : FleetKey.tagLength)
        guard raw.count <= limit else { return count(\.droppedOversized) }
        guard let payload = unseal(raw) else { return count(\.droppedUnauthenticated) }
        guard let host = remote.ipAddress, let port = remote.port else { return count(\.droppedMalformed) }
        let message: Message
        do { message = try GossipCodec.decodeDatagram(payload) } catch { return count(\.droppedMalformed) }
        let sender = PeerAddress(host: host, port: UInt16(port))
        if let partition = settings.partition, partition.blocks(sender) { return }
        if case .notice(_, let body) = message {
            // Rotation statements skip the repeat filter: one refused as a gap may be resent by a
            // member that lags less, after the statement it lacked; they are rare and a repeat of
            // a held one costs no signature check.
            if SignedRotation.looksLike(body) {
                noticeWork.async { if self.onNotice(body, sender) == .accepted { self.spread(notice: body) } }
                return
            }
            let digest = Blake2b.digest256(body)
            let fresh = seen.withLock { recent -> Bool in
                guard !recent.contains(digest) else { return false }
                recent.append(digest)
                if recent.count > 256 { recent.removeFirst() }
                return true
            }
            guard fresh else { return }
            noticeWork.async {
                switch self.onNotice(body, sender) {
                case .accepted: self.spread(notice: body)
                case .known: break
                // Refused now (a key this node does not know yet, expired at its clock...): forgotten, so the same
                // bytes sent again later, once the reason may be gone (a rotation caught up), are checked again.
                case .refused: self.seen.withLock { $0.removeAll { $0 == digest } }
                }
            }
            return
        }
        let now = Self.now()
        perform(swim.withLock { $0.receive(message, from: sender, now: now) })
    }

    /// A push-pull frame in; the answer frame out (sealed), if any.
    func receiveStream(_ raw: [UInt8], from remote: SocketAddress?) -> [UInt8]? {
        count(\.pushPulls)
        guard let payload = unseal(raw) else {
            count(\.droppedUnauthenticated)
            return nil
        }
        guard let message = try? GossipCodec.decodeStream(payload), case .pushPull(_, _, let state) = message else {
            count(\.droppedMalformed)
            return nil
        }
        let now = Self.now()
        let sender = state.first.flatMap { if case .alive(_, _, let a, _) = $0 { return a }; return nil }
            ?? PeerAddress(host: remote?.ipAddress ?? "0.0.0.0", port: UInt16(remote?.port ?? 0))
        if let partition = settings.partition, partition.blocks(sender) { return nil }
        let directives = swim.withLock { $0.receive(message, from: sender, now: now) }
        var reply: [UInt8]?
        var rest: [SWIMMembership.Directive] = []
        for directive in directives {
            if case .send(let m, let to) = directive, case .pushPull(_, false, _) = m, to == sender {
                reply = seal(GossipCodec.encodeStream(m))
            } else {
                rest.append(directive)
            }
        }
        perform(rest)
        return reply
    }

    private func tick() {
        let now = Self.now()
        var directives = swim.withLock { $0.nextDeadline <= now ? $0.tick(now: now) : [] }
        let due = nextPushPull.withLock { next -> Bool in
            guard now >= next else { return false }
            next = now + settings.pushPullInterval
            return true
        }
        if due { directives += swim.withLock { $0.pushPullTarget() + $0.reconnectTarget(now: now) } }
        perform(directives)
        gossipNotices(now: now)
    }

    private func gossipNotices(now: UInt64) {
        guard notices.withLock({ $0.nextDeadline <= now }) else { return }
        let (targets, limit, me) = swim.withLock { s -> ([PeerAddress], Int, NodeID) in
            var live = s.members.filter { $0.status == .alive || $0.status == .suspect }.map(\.address)
            live.shuffle()
            return (Array(live.prefix(s.settings.gossipFanout)), s.retransmitLimit, s.me.id)
        }
        guard !targets.isEmpty else { return }
        let batch = notices.withLock { $0.round(now: now, limit: limit) }
        for body in batch {
            for target in targets { sendDatagram(.notice(from: me, body: body), to: target) }
        }
    }

    // MARK: - Outbound

    private func perform(_ directives: [SWIMMembership.Directive]) {
        for directive in directives {
            switch directive {
            case .changed(let member):
                logger.debug("member \(member.id.short) \(member.status)", metadata: ["address": "\(member.address)"])
                onChange(member)
            case .send(let message, let to):
                if case .pushPull = message { pushPull(message, to: to) } else { sendDatagram(message, to: to) }
            }
        }
    }

    private func sendDatagram(_ message: Message, to: PeerAddress) {
        if let partition = settings.partition, partition.blocks(to) { return }
        guard let channel = udp.withLock({ $0 }), let address = try? SocketAddress(ipAddress: to.host, port: Int(to.port)) else { return }
        let bytes = seal(GossipCodec.encodeDatagram(message))
        counters.withLock {
            $0.datagramsOut += 1
            $0.bytesOut += bytes.count
        }
        let envelope = AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes))
        channel.writeAndFlush(envelope, promise: nil)
    }

    /// Opens a TCP connection, sends our state, merges the answer.
    private func pushPull(_ message: Message, to: PeerAddress) {
        if let partition = settings.partition, partition.blocks(to) { return }
        guard let address = try? SocketAddress(ipAddress: to.host, port: Int(to.port)) else { return }
        let frame = seal(GossipCodec.encodeStream(message))
        let runtime = self
        ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PushPullFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
                    try channel.pipeline.syncOperations.addHandler(PushPullClientHandler(runtime: runtime))
                }
            }
            .connect(to: address)
            .whenSuccess { channel in
                channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
                // Answers come within seconds or not at all.
                channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
            }
    }

    private func seal(_ payload: [UInt8]) -> [UInt8] { fleetKey?.seal(payload) ?? payload }

    private func unseal(_ packet: [UInt8]) -> [UInt8]? {
        guard let fleetKey else { return packet }
        return fleetKey.open(packet)
    }

    private func count(_ field: WritableKeyPath<GossipCounters, Int>) {
        counters.withLock { $0[keyPath: field] += 1 }
    }
}

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

/// A push-pull request in, our state back, then the connection closes.
final class PushPullServerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let runtime: GossipRuntime

    /// One exchange per connection: a second request would queue a second full state.
    private let answered = Mutex(false)

    init(runtime: GossipRuntime) { self.runtime = runtime }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let first = answered.withLock { done -> Bool in
            guard !done else { return false }
            done = true
            return true
        }
        guard first else { return }
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
