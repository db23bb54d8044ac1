import BundlecastCore
import Foundation
import Gossip
import Logging
import Policy

/// The parts of a running node, wired together and with their sockets bound.
struct NodeComponents: Sendable {
    let id: NodeID
    let store: NodeStore
    let keys: PublisherKeys
    let state: NodeState
    let transfer: TransferNode
    let gossip: GossipRuntime
    let updater: Updater
    /// Notices, rotations and timestamps from the admin API and the origin: checked, then spread.
    let intake: SpreadingIntake
    let timestamps: OriginTimestamps
    /// Rotation catch-ups from the origin, with `--origin`.
    let originSync: OriginRotationSync?
    /// Wake-ups for the updater and rotation catch-ups the intake asks for, passed on by
    /// ``NodeSignalRelay``.
    let intakeSignals: AsyncStream<IntakeSignal>
    let metrics: NodeMetrics
    /// The installed versions and their install events, for the content server.
    let releases: InstalledReleases
    /// With `--serve`, bound.
    let content: ContentServer?
}

extension NodeService {
    /// Opens the store, binds transfer and gossip, and wires every part to the others.
    /// Everything that can fail without a socket comes first; if gossip cannot bind, the
    /// transfer listener already bound is closed before the error goes up.
    static func makeComponents(_ settings: Settings, logger: Logger) async throws -> NodeComponents {
        let store = try NodeStore(path: settings.dataDirectory + "/node.sqlite")
        let identity = try store.identity()
        let id = identity.id
        let now: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
        let channel = settings.update.channel
        let (keys, decisions) = try PublisherKeys.open(store: store, trusted: settings.trust.trusted, repin: settings.trust.repin, now: now())
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
        // Bans outlive a restart for a day (a peer whose disk went bad may be repaired).
        let remembered = try store.bans(now: now(), lasting: 86_400)
        // Every trusted app is listed, at sequence 0 before any notice, so peers can tell this node is behind.
        let held = try keys.apps.map { app in (app, epoch: keys.pinned(app)?.epoch ?? 0, notice: try store.latest(app: app, channel: channel)?.notice) }

        var transferSettings = settings.transfer
        transferSettings.fleetKey = settings.fleetKey
        // A seed's upload goes to the chunks the fleet lacks.
        transferSettings.superSeed = settings.update.seedOnly
        // Bans reach the store through the download router, the transfer shell's delegate from construction.
        let downloadRouter = DownloadRouter { bans in
            do { try store.saveBans(bans, at: now()) } catch { logger.error("cannot record the ban of \(bans.count) peer(s): \(error)") }
        }
        let transfer = try await TransferNode.start(identity: identity, settings: transferSettings, chunks: chunks, manifests: manifests,
                                                    delegate: downloadRouter, logger: logger)
        transfer.restoreBans(remembered)
        if !remembered.isEmpty { logger.info("\(remembered.count) peer(s) still banned from before the restart") }
        let downloads = PeerDownloads(node: transfer, router: downloadRouter)
        var initial = NodeMetadata(zone: settings.update.zone, admin: nil)
        initial.transfer = transfer.port
        initial.channel = channel == NodeMetadata.defaultChannel ? nil : channel
        let state = NodeState(metadata: initial)
        for (app, epoch, notice) in held {
            state.updateApp(app) {
                $0.epoch = epoch == 0 ? nil : epoch
                $0.sequence = notice?.sequence ?? 0
                $0.version = notice?.version.description ?? ""
            }
        }
        if settings.fleetKey == nil {
            logger.warning("no --fleet-key: the fleet is open, anyone who reaches the gossip port can join or spread rumours")
        }
        // Wake-ups for the updater and catch-ups on rotations from the origin (when a notice names an
        // unknown key), passed on by the NodeSignalRelay service once those exist.
        let (intakeSignals, intakeSignalSink) = AsyncStream.makeStream(of: IntakeSignal.self, bufferingPolicy: .bufferingNewest(1024))
        let timestamps = OriginTimestamps(originKey: settings.origin.key, channel: channel, apps: keys.apps)
        let signedIntake = SignedIntake(inbox: inbox, keys: keys, timestamps: timestamps, state: state, channel: channel,
                                        logger: logger, signals: intakeSignalSink, now: now,
                                        holdsComplete: { d in manifests.manifest(d).map { chunks.holdsEveryChunk(of: $0) } ?? false })
        let gossip: GossipRuntime
        do {
            gossip = try await GossipRuntime.start(
                id: id, settings: settings.gossip, metadata: state.metadata.encoded(), fleetKey: settings.fleetKey, logger: logger,
                group: NodeService.gossipLoop,
                onNotice: { body, sender in signedIntake.fromPeer(body, sender) })
        } catch {
            await transfer.shutdown()
            throw error
        }
        let intake = SpreadingIntake(intake: signedIntake) { gossip.spread(notice: $0) }
        let originSync = settings.origin.url.map { url in
            OriginRotationSync(origin: url, logger: logger) { body in _ = intake.rotation(body, "origin") }
        }
        let metrics = NodeMetrics()
        let releases = InstalledReleases(apps: keys.apps, appsRoot: installer.appsRoot, manifests: manifests)
        for app in keys.apps {
            if let record = try? store.installRecord(app: app) { releases.record(app: app, record) }
        }
        let updater = Updater(settings: settings.update, id: id, keys: keys, store: store, manifests: manifests,
                              installer: installer, downloads: downloads, gossip: gossip, state: state, logger: logger, metrics: metrics,
                              releases: releases)
        var content: ContentServer?
        if let serve = settings.serve {
            do {
                content = try await ContentServer.start(settings: serve, releases: releases, logger: logger)
            } catch {
                await gossip.shutdown()
                await transfer.shutdown()
                throw error
            }
        }
        return NodeComponents(id: id, store: store, keys: keys, state: state, transfer: transfer, gossip: gossip, updater: updater,
                              intake: intake, timestamps: timestamps, originSync: originSync, intakeSignals: intakeSignals, metrics: metrics,
                              releases: releases, content: content)
    }
}
