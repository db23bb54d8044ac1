import BundlecastCore
import Foundation
import Gossip
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A peer node: membership and notices by gossip, bundles from peers over
/// the transfer protocol, installs and auto-update, state in SQLite, an admin
/// API on loopback.
public enum NodeService {
    public struct Settings: Sendable {
        public var dataDirectory: String
        public var gossip = GossipRuntime.Settings()
        public var adminHost = "127.0.0.1"
        public var adminPort = 0
        public var join: [PeerAddress] = []
        public var trusted: [String: PublicKey] = [:]
        public var channel = "stable"
        public var zone: String?
        public var fleetKey: FleetKey?
        /// The origin to long-poll as a backstop; nil: gossip only.
        public var origin: URL?
        public var transfer = TransferNode.Settings()
        /// Serve and hold releases, never install them.
        public var seedOnly = false
        /// Random delay before a download starts.
        public var stagger: Duration = .seconds(2)
        /// Health check run after each install (`/bin/sh -c`); failure or time-out rolls back.
        public var onInstall: String?
        public var onInstallTimeout: Duration = .seconds(60)
        /// Bytes per second over all downloads; nil: unlimited.
        public var maxDownloadRate: UInt64?
        /// Most bytes the chunk store may hold; nil: unlimited.
        public var maxStore: UInt64?
        /// Required as `Authorization: Bearer TOKEN` on the admin API when set.
        public var adminToken: String?

        public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
    }

    /// Runs until SIGINT or SIGTERM, then leaves the fleet.
    public static func run(_ settings: Settings, logger: Logger) async throws {
        // A ready file left by an earlier run must not be mistaken for this one's.
        let ready = settings.dataDirectory + "/ready.json"
        try? FileManager.default.removeItem(atPath: ready)
        let store = try NodeStore(path: settings.dataDirectory + "/node.sqlite")
        let id = try store.nodeID()
        let inbox = NoticeInbox(intake: NoticeIntake(trusted: settings.trusted), store: store)
        let chunks = try ChunkStore(root: settings.dataDirectory + "/chunks", limit: settings.maxStore)
        let manifests = try ManifestCache(root: settings.dataDirectory + "/manifests")
        let installer = Installer(appsRoot: settings.dataDirectory + "/apps", chunks: chunks)
        var transferSettings = settings.transfer
        transferSettings.fleetKey = settings.fleetKey
        let transfer = try await TransferNode.start(id: id, settings: transferSettings, chunks: chunks, manifests: manifests, logger: logger)
        let downloads = PeerDownloads(node: transfer, logger: logger)
        var initial = NodeMetadata(zone: settings.zone, admin: nil)
        initial.transfer = transfer.port
        initial.channel = settings.channel == NodeMetadata.defaultChannel ? nil : settings.channel
        let state = NodeState(metadata: initial)
        // Every trusted app is listed, at sequence 0 before any notice, so peers can tell this node is behind.
        for app in settings.trusted.keys.sorted() {
            let n = try store.latest(app: app, channel: settings.channel)?.notice
            state.updateApp(app) { $0.sequence = n?.sequence ?? 0; $0.version = n?.version.description ?? "" }
        }
        let wake = Hook<String>()
        if settings.fleetKey == nil {
            logger.warning("no --fleet-key: the fleet is open, anyone who reaches the gossip port can join or spread rumours")
        }
        let accept: @Sendable ([UInt8], String) -> Result<SignedNotice, NoticeIntake.Refusal> = { body, source in
            let result: Result<SignedNotice, NoticeIntake.Refusal>
            do { result = try inbox.receive(body, source: source, now: UInt64(Date().timeIntervalSince1970)) } catch {
                logger.error("cannot store a notice: \(error)")
                return .failure(.malformed("node database error"))
            }
            switch result {
            case .success(let signed):
                let n = signed.notice
                logger.info("accepted notice", metadata: ["app": "\(n.app)", "version": "\(n.version)", "sequence": "\(n.sequence)", "from": "\(source)"])
                if n.channel == settings.channel {
                    state.updateApp(n.app) { $0.sequence = n.sequence; $0.version = n.version.description }
                    wake(n.app)
                }
            case .failure(.stale(_, _, let sequence, let held)) where sequence == held:
                // The same notice again: gossip's normal redundancy, not worth a word.
                _ = state.countRefusal("duplicate", from: source)
            case .failure(let refusal):
                if state.countRefusal(refusal.reason, from: source) {
                    logger.warning("dropped notice from \(source): \(refusal)")
                }
            }
            return result
        }
        let gossip = try await GossipRuntime.start(
            id: id, settings: settings.gossip, metadata: state.metadata.encoded(), fleetKey: settings.fleetKey, logger: logger,
            onNotice: { body, sender in
                if case .success = accept(body, "peer \(sender)") { return true }
                return false
            })
        state.onMetadataChange.set { gossip.setMetadata($0.encoded()) }
        var updaterSettings = Updater.Settings()
        updaterSettings.channel = settings.channel
        updaterSettings.seedOnly = settings.seedOnly
        updaterSettings.stagger = settings.stagger
        updaterSettings.onInstall = settings.onInstall
        updaterSettings.onInstallTimeout = settings.onInstallTimeout
        updaterSettings.zone = settings.zone
        updaterSettings.fetch.swarm.downloadBytesPerSecond = settings.maxDownloadRate
        let updater = Updater(settings: updaterSettings, id: id, trusted: settings.trusted, store: store, manifests: manifests,
                              installer: installer, downloads: downloads, gossip: gossip, state: state, logger: logger)
        wake.set { updater.wake($0) }

        let router = Router()
        if let token = settings.adminToken { router.add(middleware: AdminTokenMiddleware(token: token)) }
        NodeAdminAPI(gossip: gossip, state: state, channel: settings.channel, trustedApps: settings.trusted.keys.sorted(),
                     store: store, transfer: transfer, updater: updater, accept: accept).addRoutes(to: router)
        var services: [any Service] = [updater, NoticeCatchUpService(gossip: gossip, store: store, apps: settings.trusted.keys.sorted(),
                                                                     channel: settings.channel, logger: logger)]
        if let origin = settings.origin {
            services.append(OriginWatcher(
                origin: origin, apps: settings.trusted.keys.sorted(), channel: settings.channel,
                held: { state.metadata.apps[$0]?.sequence ?? 0 },
                deliver: { body in if case .success = accept(body, "origin") { gossip.spread(notice: body) } },
                logger: logger))
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.adminHost, port: settings.adminPort), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let adminPort = channel.localAddress?.port ?? settings.adminPort
                state.update { $0.admin = adminPort }
                gossip.join(settings.join)
                do {
                    try NodeReadyFile(gossip: gossip.port, admin: adminPort, transfer: transfer.port, pid: getpid()).write(to: ready)
                    logger.info("node serving", metadata: ["id": "\(id.short)", "gossip": "\(gossip.port)", "admin": "\(adminPort)", "transfer": "\(transfer.port)"])
                } catch {
                    logger.error("cannot write \(ready): \(error)")
                }
            },
            logger: logger
        )
        try await app.runService()
        await gossip.shutdown()
        await transfer.shutdown()
    }
}

/// `DATA/ready.json` of a node.
public struct NodeReadyFile: Codable, Sendable {
    public var gossip: Int
    public var admin: Int
    public var transfer: Int
    public var pid: Int32

    public func write(to path: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
