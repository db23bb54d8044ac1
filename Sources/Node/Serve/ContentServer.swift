import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The local content server (`--serve`): installed releases over HTTP to the browsers and
/// apps of this machine (``ContentRouter`` holds the routes).
///
/// It has its own event loops, so serving pages never waits behind a rollout's transfers
/// on the node's loop. Connections are bounded in number; one that has sent nothing for a
/// minute is closed unless an answer to it is still being written or it holds an event
/// stream (which gets a keep-alive comment every 15 s), and one waiting for a request must
/// send a whole one within ``ContentHTTPHandler/requestWait``.
public final class ContentServer: Service, Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// Required from every client when set (`--serve-token`); needed off loopback.
        public var token: String?
        public init() {}
    }

    /// Connections held at once at most; more are closed as they arrive. A quarter of the
    /// descriptor limit when that is lower (``DescriptorBudget``).
    public static let maxConnections = 8192
    /// Connections from one address off loopback (an IPv6 host by its /64), with an eighth
    /// of the total kept for loopback (``ConnectionSlots``): a remote host without the
    /// token cannot hold every connection and shut out the apps and pages on the machine.
    static let maxPerAddress = 64
    static let idleTimeout = TimeAmount.seconds(60)
    static let keepAliveEvery = TimeAmount.seconds(15)

    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let keepAlive: RepeatedTask
    let logger: Logger

    /// The bound port.
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Binds the listener (a start-up error, such as a port in use, is thrown here).
    public static func start(settings: Settings, releases: InstalledReleases, logger: Logger) async throws -> ContentServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(4, System.coreCount)))
        let router = ContentRouter(releases: releases, token: settings.token)
        let slots = ConnectionSlots(total: DescriptorBudget.connections(cap: maxConnections, fraction: 4), perAddress: maxPerAddress)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    guard let slot = slots.take(from: channel.remoteAddress) else { return channel.close() }
                    channel.closeFuture.whenComplete { _ in slots.release(slot) }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                        // A client that sends requests and never reads the answers stops being
                        // read once its answers fill the write buffer: pipelined requests wait
                        // in its socket, not as answers in this process's memory.
                        try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ContentHTTPHandler(router: router))
                    }
                }
                .bind(host: settings.host, port: settings.port).get()
            let events = releases.events
            let keepAlive = group.next().scheduleRepeatedTask(initialDelay: keepAliveEvery, delay: keepAliveEvery) { _ in events.keepAlive() }
            return ContentServer(channel: channel, group: group, keepAlive: keepAlive, logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(channel: any Channel, group: MultiThreadedEventLoopGroup, keepAlive: RepeatedTask, logger: Logger) {
        self.channel = channel
        self.group = group
        self.keepAlive = keepAlive
        self.logger = logger
    }

    /// Serves until graceful shutdown, then closes the listener and every connection
    /// (event streams included: browsers reconnect to the next run).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    public func shutdown() async {
        keepAlive.cancel()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

extension ContentServer: CustomStringConvertible {
    public var description: String { "content server" }
}
