import BundlecastCore
import Foundation
import Gossip
import Hummingbird
import Logging
import NIOCore
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
        /// Apps whose `--trust` key replaces the stored one even though no rotation led to it
        /// (the recovery path when the publisher lost its key): epoch 0 of a new chain.
        public var repin: Set<String> = []
        public var channel = "stable"
        public var zone: String?
        public var fleetKey: FleetKey?
        /// The origin to long-poll as a backstop; nil: gossip only.
        public var origin: URL?
        /// The origin's own public key: timestamps it signed tell this node whether it is up to date.
        public var originKey: PublicKey?
        /// How old the newest origin timestamp may be before status says freshness is unconfirmed.
        public var freshnessThreshold: UInt64 = 3600
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
        let identity = try store.identity()
        let id = identity.id
        let now: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
        let (keys, decisions) = try PublisherKeys.open(store: store, trusted: settings.trusted, repin: settings.repin, now: now())
        for (app, key, decision) in decisions {
            switch decision {
            case .retired(let epoch, let current):
                logger.notice("--trust \(app) names key \(key.keyID), which the rotation to epoch \(epoch) retired: the stored \(current) wins; update --trust")
            case .repinned(let previous):
                logger.warning("re-pinned \(app): key \(key.keyID) replaces \(previous) and starts a new rotation chain at epoch 0; drop --repin once the fleet is re-pinned")
            case .added, .unchanged, .conflict:
                break
            }
        }
        let inbox = NoticeInbox(intake: NoticeIntake(keys: keys), store: store)
        let chunks = try ChunkStore(root: settings.dataDirectory + "/chunks", limit: settings.maxStore)
        let manifests = try ManifestCache(root: settings.dataDirectory + "/manifests")
        let installer = Installer(appsRoot: settings.dataDirectory + "/apps", chunks: chunks) { manifest, why in
            logger.warning("the tree of \(manifest.app) \(manifest.version) written during its download was not used (\(why)); writing it from the store instead")
        }
        var transferSettings = settings.transfer
        transferSettings.fleetKey = settings.fleetKey
        // Bans reach the store through the download router, the transfer shell's delegate from construction.
        let downloadRouter = DownloadRouter { peer, reason in
            do { try store.saveBan(peer, reason: reason, at: now()) } catch { logger.error("cannot record the ban of \(peer): \(error)") }
        }
        let transfer = try await TransferNode.start(identity: identity, settings: transferSettings, chunks: chunks, manifests: manifests,
                                                    delegate: downloadRouter, logger: logger)
        // Bans outlive a restart for a day (a peer whose disk went bad may be repaired).
        let bansLast: UInt64 = 86_400
        let remembered = try store.bans(now: now(), lasting: bansLast)
        transfer.restoreBans(remembered)
        if !remembered.isEmpty { logger.info("\(remembered.count) peer(s) still banned from before the restart") }
        let downloads = PeerDownloads(node: transfer, router: downloadRouter)
        var initial = NodeMetadata(zone: settings.zone, admin: nil)
        initial.transfer = transfer.port
        initial.channel = settings.channel == NodeMetadata.defaultChannel ? nil : settings.channel
        let state = NodeState(metadata: initial)
        // Every trusted app is listed, at sequence 0 before any notice, so peers can tell this node is behind.
        for app in keys.apps {
            let epoch = keys.pinned(app)?.epoch ?? 0
            let n = try store.latest(app: app, channel: settings.channel)?.notice
            state.updateApp(app) {
                $0.epoch = epoch == 0 ? nil : epoch
                $0.sequence = n?.sequence ?? 0
                $0.version = n?.version.description ?? ""
            }
        }
        if settings.fleetKey == nil {
            logger.warning("no --fleet-key: the fleet is open, anyone who reaches the gossip port can join or spread rumours")
        }
        // Wake-ups for the updater and catch-ups on rotations from the origin (when a notice names an
        // unknown key), passed on by the NodeSignalRelay service once those exist.
        let (intakeSignals, intakeSignalSink) = AsyncStream.makeStream(of: IntakeSignal.self, bufferingPolicy: .bufferingNewest(1024))
        let timestamps = OriginTimestamps(originKey: settings.originKey, channel: settings.channel, apps: keys.apps)
        let intake = SignedIntake(inbox: inbox, keys: keys, timestamps: timestamps, state: state, channel: settings.channel,
                                  logger: logger, signals: intakeSignalSink, now: now)
        let accept: @Sendable ([UInt8], String) -> Result<SignedNotice, NoticeIntake.Refusal> = intake.notice
        let acceptRotation: @Sendable ([UInt8], String) -> Result<PublisherKeys.Acceptance, RotationRefusal> = intake.rotation
        let gossip = try await GossipRuntime.start(
            id: id, settings: settings.gossip, metadata: state.metadata.encoded(), fleetKey: settings.fleetKey, logger: logger,
            onNotice: { body, sender in intake.fromPeer(body, sender) })
        let fromOrigin: @Sendable ([UInt8]) -> Void = { body in
            if case .success(let accepted) = acceptRotation(body, "origin"), accepted.change != .known { gossip.spread(notice: body) }
        }
        let originSync = settings.origin.map { OriginRotationSync(origin: $0, logger: logger, apply: fromOrigin) }
        var updaterSettings = Updater.Settings()
        updaterSettings.channel = settings.channel
        updaterSettings.seedOnly = settings.seedOnly
        updaterSettings.stagger = settings.stagger
        updaterSettings.onInstall = settings.onInstall
        updaterSettings.onInstallTimeout = settings.onInstallTimeout
        updaterSettings.zone = settings.zone
        updaterSettings.fetch.swarm.downloadBytesPerSecond = settings.maxDownloadRate
        let updater = Updater(settings: updaterSettings, id: id, keys: keys, store: store, manifests: manifests,
                              installer: installer, downloads: downloads, gossip: gossip, state: state, logger: logger)

        let router = Router()
        let adminAddress = AdminAddress(host: settings.adminHost, port: settings.adminPort)
        router.add(middleware: AdminRequestGuard(address: adminAddress))
        if let token = settings.adminToken { router.add(middleware: AdminTokenMiddleware(token: token)) }
        NodeAdminAPI(gossip: gossip, state: state, channel: settings.channel, trustedApps: keys.apps,
                     store: store, transfer: transfer, updater: updater, keys: keys, accept: accept, acceptRotation: acceptRotation,
                     timestamps: timestamps, freshnessThreshold: settings.freshnessThreshold,
                     acceptTimestamp: { body in
                         let result = intake.timestamp(body, "admin API")
                         if case .success = result { gossip.spread(notice: body) }
                         return result
                     })
            .addRoutes(to: router)
        var services: [any Service] = [updater, RotationRelay(keys: keys, gossip: gossip),
                                       NoticeCatchUpService(gossip: gossip, store: store, apps: keys.apps, channel: settings.channel,
                                                            held: { state.metadata.apps.compactMapValues { $0.sequence > 0 ? $0.sequence : nil } },
                                                            logger: logger),
                                       NodeSignalRelay(metadata: state.changes, intake: intakeSignals, gossip: gossip, updater: updater, originSync: originSync)]
        if let origin = settings.origin, let originSync {
            services.append(originSync)
            services.append(OriginWatcher(
                origin: origin, apps: keys.apps, channel: settings.channel,
                held: { state.metadata.apps[$0]?.sequence ?? 0 },
                deliver: { body in
                    switch accept(body, "origin") {
                    case .success:
                        gossip.spread(notice: body)
                        return .accepted
                    case .failure(.expired(_, let sequence, _)), .failure(.stale(_, _, let sequence, _)):
                        return .refused(sequence: sequence)
                    case .failure:
                        return .refused(sequence: nil)
                    }
                },
                catchUp: { await originSync.sync($0, force: true) },
                timestamps: settings.originKey == nil ? nil : OriginWatcher.Timestamps(
                    deliver: { body in if case .success = intake.timestamp(body, "origin") { gossip.spread(notice: body) } }),
                logger: logger))
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.adminHost, port: settings.adminPort), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let adminPort = channel.localAddress?.port ?? settings.adminPort
                adminAddress.port = adminPort
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

extension NodeService {
    /// How many event loop threads the node's shared group gets (gossip, transfers, admin
    /// API); call before the node starts. In the 20-node benchmark on 2 cores, one loop per
    /// node took 5.6-6.3 s at 463-550 µs of CPU per chunk against 9.0-11.6 s at 824-1,076 µs
    /// with two (NIO's default, a loop per core), in interleaved runs: with two, the
    /// planner's lock was contended between the loops and every hop between them woke a thread.
    public static func useEventLoops(_ count: Int) {
        NIOSingletons.groupLoopCountSuggestion = max(1, count)
    }
}
