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
/// The membership, the rumour queue, the notice filter, the sockets and the counters are one
/// state struct under one lock: each event takes the lock once and returns directives, and
/// the packets they ask for are written after it is released.
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

    struct State {
        var swim: SWIMMembership
        var counters = GossipCounters()
        var udp: (any Channel)?
        /// Where datagrams go out (``GossipSendSocket``: never through `udp`).
        var sender: GossipSendSocket?
        var tcp: (any Channel)?
        /// The next tick: when, and its task (``arm()``).
        var wake: (at: UInt64, task: Scheduled<Void>)?
        /// Shut down: no more ticks.
        var stopped = false
        /// Push-pull connections being served: each may hold a 4 MiB frame, so they are few.
        var pushPullOpen = 0
        /// Push-pull connections open per source address (loopback not counted).
        var pushPullSources: [ClientAddressKey: Int] = [:]
        var nextPushPull: UInt64 = 0
        /// The addresses ``join(_:)`` was given.
        var seeds: [PeerAddress] = []
        /// Notices being spread: each goes to `gossipFanout` random members per
        /// notice interval (``SWIMSettings/noticeInterval``), `retransmitLimit` times.
        var notices: RumourQueue<[UInt8]>
        /// Notices seen lately (``NoticeFilter``).
        var seen = NoticeFilter()
    }

    static let maxPushPullConnections = 8
    static let maxPushPullsPerSource = 2
    static let pushPullRequestTime = TimeAmount.seconds(3)
    let state: Mutex<State>
    private let group: any EventLoopGroup
    private let fleetKey: FleetKey?
    let settings: Settings
    let logger: Logger
    /// Called with every member change (for the node's store and status).
    private let onChange: @Sendable (Member) -> Void
    /// Called with every notice received from a peer (only accepted ones are passed on).
    let onNotice: @Sendable ([UInt8], PeerAddress) -> NoticeOutcome
    /// Checking and storing a notice verifies a signature and writes SQLite:
    /// never on an event loop.
    let noticeWork = DispatchQueue(label: "bundlecast.node.notices")
    /// Notices and rotations queued on ``noticeWork`` or being checked.
    let noticeChecks = Atomic<Int>(0)
    static let maxNoticeChecks = 1024

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
            let sender: GossipSendSocket
            do {
                let opened = try GossipSendSocket.open(try SocketAddress.makeAddressResolvingHost(settings.host, port: settings.port))
                sender = opened.socket
                do {
                    udpChannel = try await DatagramBootstrap(group: group)
                        .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                        .withBoundSocket(opened.readDescriptor).get()
                } catch {
                    // The read descriptor is NIO's once handed over (it closes it when
                    // registration fails); closing it here too could close another file's.
                    sender.close()
                    throw error
                }
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
                        channel.eventLoop.makeCompletedFuture { try runtime.setUpPushPull(channel) }
                    }
                    .bind(host: settings.host, port: port).get()
            } catch {
                try? await udpChannel.close()
                sender.close()
                if settings.port == 0 && attempt < 20 { continue }
                throw GossipBindError(what: "TCP", host: settings.host, port: port, error: error)
            }
            runtime.state.withLock { s in
                s.udp = udpChannel
                s.sender = sender
            }
            try await udpChannel.pipeline.addHandler(DatagramHandler(runtime: runtime)).get()
            runtime.state.withLock { s in
                s.tcp = tcpChannel
                s.nextPushPull = now() + settings.pushPullInterval
            }
            runtime.arm()
            return runtime
        }
    }

    private init(swim: SWIMMembership, group: any EventLoopGroup, fleetKey: FleetKey?, settings: Settings, logger: Logger,
                 onChange: @escaping @Sendable (Member) -> Void, onNotice: @escaping @Sendable ([UInt8], PeerAddress) -> NoticeOutcome) {
        state = Mutex(State(swim: swim, notices: RumourQueue(interval: settings.swim.noticeInterval, freshDelay: settings.swim.freshRumourDelay)))
        self.group = group
        self.fleetKey = fleetKey
        self.settings = settings
        self.logger = logger
        self.onChange = onChange
        self.onNotice = onNotice
    }

    /// A push-pull connection in: admitted while few are open (a flood of connections each
    /// holding part of a 4 MiB frame must not add up) and while its source holds fewer than
    /// ``maxPushPullsPerSource`` (one host must not hold them all, sending nothing, and shut
    /// out every join and anti-entropy exchange); closed after one exchange or 10 s. Loopback
    /// is not counted per source: nodes on one machine (tests, the demo) all come from it.
    func setUpPushPull(_ channel: any Channel) throws {
        let source = channel.remoteAddress.flatMap(ClientAddressKey.init).flatMap { $0.isLoopback ? nil : $0 }
        let admitted = state.withLock { s -> Bool in
            guard s.pushPullOpen < Self.maxPushPullConnections else { return false }
            if let source {
                guard s.pushPullSources[source, default: 0] < Self.maxPushPullsPerSource else { return false }
                s.pushPullSources[source, default: 0] += 1
            }
            s.pushPullOpen += 1
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { s in
                s.pushPullOpen -= 1
                if let source {
                    s.pushPullSources[source, default: 1] -= 1
                    if s.pushPullSources[source] == 0 { s.pushPullSources[source] = nil }
                }
            }
        }
        try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PushPullFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
        let handler = PushPullServerHandler(runtime: self)
        try channel.pipeline.syncOperations.addHandler(handler)
        // A push-pull takes milliseconds: the request frame must be whole within
        // ``pushPullRequestTime`` (a few hosts holding every slot with connections that send
        // nothing get each for that long), and the connection is closed after 10 s whatever.
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        channel.eventLoop.scheduleTask(in: Self.pushPullRequestTime) { if !bound.value.answered { channel.close(promise: nil) } }
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    }

    public var port: Int { state.withLock { $0.udp?.localAddress?.port } ?? settings.port }
    public var me: Member { state.withLock { $0.swim.me } }
    public var members: [Member] { state.withLock { $0.swim.members } }
    public var counterValues: GossipCounters { state.withLock { $0.counters } }
    /// Member changes seen so far (added, or a new status, address or metadata): a download
    /// waiting for someone who holds a release looks again when it moves.
    public var memberChanges: UInt64 { changeCount.load(ordering: .acquiring) }
    private let changeCount = Atomic<UInt64>(0)

    /// Asks the seeds for their state; asked again at each push-pull while no member is live
    /// (the seeds were down at start, or forged departures emptied the table).
    public func join(_ seeds: [PeerAddress]) {
        perform(state.withLock { s in
            s.seeds = seeds
            return s.swim.join(seeds)
        })
    }
    public func setMetadata(_ metadata: [UInt8]) { perform(state.withLock { $0.swim.setMetadata(metadata) }) }

    /// Leaves gracefully and closes the sockets.
    public func shutdown() async {
        let (directives, wake, udp, tcp) = state.withLock { s in
            s.stopped = true
            defer { s.wake = nil }
            return (s.swim.leave(), s.wake?.task, s.udp, s.tcp)
        }
        perform(directives)
        wake?.cancel()
        try? await udp?.close()
        state.withLock { $0.sender }?.close()
        try? await tcp?.close()
        // Notices already taken off the wire are checked and recorded before gossip is down.
        await noticeWork.drained()
    }

    /// The runtime wakes only when something is due: the membership's next probe, timeout or
    /// rumour round, the notices' next round, or the next push-pull. An idle node has no reason
    /// to wake more often, and on a host of many nodes (or a laptop) a fixed 20 ms tick costs
    /// CPU and power for nothing. A change that brings a deadline forward goes through ``perform(_:)`` or
    /// ``spread(notice:)``, which call this; at most ``maxWake`` apart all the same, so a
    /// deadline moved by some other path is late by no more than that.
    func arm() {
        let now = Self.now()
        state.withLock { s in
            guard !s.stopped, let loop = s.udp?.eventLoop else { return }
            let due = min(s.swim.nextDeadline, s.notices.nextDeadline, s.nextPushPull, now &+ Self.maxWake)
            let at = max(due, now &+ Self.minWake)
            if let wake = s.wake, wake.at <= at { return }
            s.wake?.task.cancel()
            s.wake = (at, loop.scheduleTask(deadline: .uptimeNanoseconds(at)) { [self] in tick(scheduledAt: at) })
        }
    }

    /// Ticks closer together than this are merged: deadlines a millisecond apart share a wake.
    static let minWake: UInt64 = 1_000_000
    /// The longest sleep between ticks.
    static let maxWake: UInt64 = 1_000_000_000

    private func tick(scheduledAt: UInt64) {
        let now = Self.now()
        let directives = state.withLock { s -> [SWIMMembership.Directive] in
            if s.wake?.at == scheduledAt { s.wake = nil }
            var directives = s.swim.nextDeadline <= now ? s.swim.tick(now: now) : []
            if now >= s.nextPushPull {
                s.nextPushPull = now + settings.pushPullInterval
                directives += s.swim.pushPullTarget() + s.swim.reconnectTarget(now: now)
                if !s.seeds.isEmpty, s.swim.liveCount == 0 { directives += s.swim.join(s.seeds) }
            }
            return directives
        }
        // The notices' round first, so that the wake `perform` arms sees its next deadline.
        gossipNotices(now: now)
        perform(directives)
    }

    // MARK: - Outbound

    func perform(_ directives: [SWIMMembership.Directive]) {
        for directive in directives {
            switch directive {
            case .changed(let member):
                logger.debug("member \(member.id.short) \(member.status)", metadata: ["address": "\(member.address)"])
                onChange(member)
                changeCount.add(1, ordering: .releasing)
            case .send(let message, let to):
                if case .pushPull = message { pushPull(message, to: to) } else { sendDatagram(message, to: to) }
            }
        }
        arm()
    }

    func sendDatagram(_ message: Message, to: PeerAddress) {
        if let partition = settings.partition, partition.blocks(to) { return }
        guard let address = try? SocketAddress(ipAddress: to.host, port: Int(to.port)) else { return }
        let bytes = seal(GossipCodec.encodeDatagram(message))
        guard let sender = state.withLock({ $0.sender }) else { return }
        let sent = sender.send(bytes, to: address)
        state.withLock { s in
            if sent {
                s.counters.datagramsOut += 1
                s.counters.bytesOut += bytes.count
            } else {
                s.counters.unsent? += 1
            }
        }
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

    func seal(_ payload: [UInt8]) -> [UInt8] { fleetKey?.seal(payload) ?? payload }

    func unseal(_ packet: [UInt8]) -> [UInt8]? {
        guard let fleetKey else { return packet }
        return fleetKey.open(packet)
    }

    /// The largest datagram accepted: a gossip datagram, and its tag with a fleet key.
    var datagramLimit: Int { GossipCodec.maxDatagram + (fleetKey == nil ? 0 : FleetKey.tagLength) }

    func count(_ field: WritableKeyPath<GossipCounters, Int>) {
        state.withLock { $0.counters[keyPath: field] += 1 }
    }
}
