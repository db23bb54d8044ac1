import BundlecastCore
import Foundation
import Gossip
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A peer node: membership and notices by gossip, bundles from peers over
/// the transfer protocol, installs and auto-update, state in SQLite, an admin
/// API on loopback.
///
/// The node is one `ServiceGroup`: transfer, gossip, the updater and its helpers, the
/// origin watcher and the admin API, shut down in the reverse of that order on SIGINT,
/// SIGTERM or the failure of any of them, so the fleet hears this node leave and every
/// socket is closed whichever way it ends.
public enum NodeService {
    public struct Settings: Sendable {
        public var dataDirectory: String
        /// Where gossip binds, and the address it tells members.
        public var gossip = GossipRuntime.Settings()
        /// Members to join through once the admin API serves.
        public var join: [PeerAddress] = []
        /// Where transfers are served, and the upload cap.
        public var transfer = TransferNode.Settings()
        /// Channel, zone, stagger, health check, seed-only, download cap.
        public var update = Updater.Settings()
        public var admin = AdminSettings()
        public var trust = TrustSettings()
        public var origin = OriginSettings()
        /// Authenticates gossip and encrypts transfers; nil: an open fleet.
        public var fleetKey: FleetKey?
        /// Most bytes the chunk store may hold; nil: unlimited.
        public var maxStore: UInt64?
        /// The local content server (`--serve`); nil: off.
        public var serve: ContentServer.Settings?

        public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
    }

    /// The admin API's address and token.
    public struct AdminSettings: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// Required as `Authorization: Bearer TOKEN` when set.
        public var token: String?
        /// Connections open at once at most, in all and from one address off loopback
        /// (``ConnectionSlots``); more are closed as they arrive.
        public var maxConnections = ConnectionSlots.defaultTotal
        public var maxConnectionsPerAddress = ConnectionSlots.defaultPerAddress
        public init() {}
    }

    /// The publisher keys this node pins.
    public struct TrustSettings: Sendable {
        /// App → key from `--trust`; a key the stored rotation chain retired loses to the stored one.
        public var trusted: [String: PublicKey] = [:]
        /// Apps whose `--trust` key replaces the stored one even though no rotation led to it
        /// (the recovery path when the publisher lost its key): epoch 0 of a new chain.
        public var repin: Set<String> = []
        public init() {}
    }

    /// The origin as a backstop to gossip, and its freshness timestamps.
    public struct OriginSettings: Sendable {
        /// The origin to long-poll; nil: gossip only.
        public var url: URL?
        /// The origin's own public key: timestamps it signed tell this node whether it is up to date.
        public var key: PublicKey?
        /// How old the newest origin timestamp may be, in seconds, before status says freshness is unconfirmed.
        public var freshnessThreshold: UInt64 = 3600
        public init() {}
    }

    /// Runs until SIGINT or SIGTERM, then leaves the fleet. Sockets bound before a start-up
    /// error are closed before the error is thrown.
    public static func run(_ settings: Settings, logger: Logger) async throws {
        let lock = try DataDirectoryLock(directory: settings.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        // A ready file left by an earlier run must not be mistaken for this one's.
        let ready = settings.dataDirectory + "/ready.json"
        try? FileManager.default.removeItem(atPath: ready)
        let components = try await makeComponents(settings, logger: logger)
        let services = services(of: components, settings: settings, ready: ready, logger: logger)
        // Any service ending, by error or not, shuts the others down gracefully (last first).
        let group = ServiceGroup(configuration: .init(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// `DATA/ready.json` of a node.
public struct NodeReadyFile: Codable, Sendable {
    public var gossip: Int
    public var admin: Int
    public var transfer: Int
    public var pid: Int32
    /// The content server's port, with `--serve`.
    public var serve: Int?

    public func write(to path: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

extension NodeService {
    /// How many event loop threads the node's shared group gets (transfers, admin API); call
    /// before the node starts. One loop keeps a transfer's frames and the download planner on
    /// one thread, so the planner's lock is never contended and no hop between loops wakes a
    /// thread (measurements: docs/benchmarks.md).
    public static func useEventLoops(_ count: Int) {
        NIOSingletons.groupLoopCountSuggestion = max(1, count)
    }

    /// Gossip's own event loop, one for the process like NIO's shared group. A transfer loop
    /// waits for the page cache while it stores a received chunk, which on a disk slower than
    /// the link can be hundreds of milliseconds; probes and their acks must not wait with it,
    /// or a busy node would be suspected by the fleet.
    static let gossipLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
}
