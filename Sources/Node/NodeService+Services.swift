import BundlecastCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

extension NodeService {
    /// The node's services in start order; the group shuts them down last first: the admin
    /// API stops taking requests, the origin watcher and the updater stop, gossip tells the
    /// fleet this node leaves, and the transfer listener closes last.
    static func services(of c: NodeComponents, settings: Settings, ready: String, logger: Logger) -> [any Service] {
        let channel = settings.update.channel
        let state = c.state
        var services: [any Service] = [
            ShutdownOnExit("transfer") { await c.transfer.shutdown() },
            ShutdownOnExit("gossip") { await c.gossip.shutdown() },
            c.updater,
            RotationRelay(keys: c.keys, gossip: c.gossip),
            NoticeCatchUpService(gossip: c.gossip, store: c.store, apps: c.keys.apps, channel: channel,
                                 held: { state.metadata.apps.compactMapValues { $0.sequence > 0 ? $0.sequence : nil } },
                                 logger: logger),
            NodeSignalRelay(metadata: state.changes, intake: c.intakeSignals, gossip: c.gossip, updater: c.updater, originSync: c.originSync),
        ]
        if let origin = settings.origin.url, let originSync = c.originSync {
            let intake = c.intake
            services.append(originSync)
            services.append(OriginWatcher(
                origin: origin, apps: c.keys.apps, channel: channel,
                held: { state.metadata.apps[$0]?.sequence ?? 0 },
                deliver: { body in
                    switch intake.notice(body, "origin") {
                    case .success:
                        return .accepted
                    case .failure(.expired), .failure(.stale):
                        // Its signature verified: the app, channel and sequence it names are the publisher's.
                        guard let n = try? SignedNotice(bytes: body).notice else { return .refused(issued: nil) }
                        return .refused(issued: OriginWatcher.Issued(app: n.app, channel: n.channel, sequence: n.sequence))
                    case .failure:
                        return .refused(issued: nil)
                    }
                },
                catchUp: { await originSync.sync($0, force: true) },
                timestamps: settings.origin.key == nil ? nil : OriginWatcher.Timestamps(
                    deliver: { body in _ = intake.timestamp(body, "origin") }),
                logger: logger))
        }
        if let content = c.content { services.append(content) }
        services.append(adminAPI(c, settings: settings, ready: ready, logger: logger))
        return services
    }

    /// How long an admin connection may wait with no request under way.
    static let adminIdleTimeout = TimeAmount.seconds(60)

    /// The admin API. Once it listens, the node joins the fleet and writes `ready.json`
    /// with every bound port: a node is ready when all of it is.
    static func adminAPI(_ c: NodeComponents, settings: Settings, ready: String, logger: Logger) -> some Service {
        let router = Router()
        let adminAddress = AdminAddress(host: settings.admin.host, port: settings.admin.port)
        router.add(middleware: AdminRequestGuard(address: adminAddress))
        if let token = settings.admin.token { router.add(middleware: AdminTokenMiddleware(token: token)) }
        let intake = c.intake
        let api = NodeAdminAPI(gossip: c.gossip, state: c.state, channel: settings.update.channel, trustedApps: c.keys.apps,
                               store: c.store, transfer: c.transfer, updater: c.updater, keys: c.keys,
                               accept: intake.notice, acceptRotation: intake.rotation,
                               timestamps: c.timestamps, freshnessThreshold: settings.origin.freshnessThreshold,
                               acceptTimestamp: { intake.timestamp($0, "admin API") }, metrics: c.metrics)
        api.addRoutes(to: router)
        // The fleet page's event streams share one producer, run by the application (stopped after its server).
        let feed = StatusFeed(snapshot: api.statusJSON)
        NodeAdminAPI.addFleetPageRoutes(to: router, feed: feed)
        let (gossip, transfer, state, id) = (c.gossip, c.transfer, c.state, c.id)
        let content = c.content
        let slots = ConnectionSlots(total: DescriptorBudget.connections(cap: settings.admin.maxConnections, fraction: 8),
                                         perAddress: settings.admin.maxConnectionsPerAddress)
        return Application(
            router: router,
            // A connection with no request under way is closed after a minute (a request
            // whose head is still coming in counts as none): any local process can connect,
            // and idle ones would otherwise hold descriptors for ever. Streams and long
            // answers are requests under way. How many may be open is capped too.
            server: .http1(configuration: .init(additionalChannelHandlers: [AdminConnectionCap(slots: slots)],
                                                idleTimeout: Self.adminIdleTimeout)),
            configuration: .init(address: .hostname(settings.admin.host, port: settings.admin.port), serverName: nil),
            services: [feed],
            onServerRunning: { channel in
                let adminPort = channel.localAddress?.port ?? settings.admin.port
                adminAddress.port = adminPort
                state.update { $0.admin = adminPort }
                // The join carries the admin port at once (the metadata stream would bring it a moment later).
                gossip.setMetadata(state.metadata.encoded())
                gossip.join(settings.join)
                do {
                    try NodeReadyFile(gossip: gossip.port, admin: adminPort, transfer: transfer.port, pid: getpid(), serve: content?.port).write(to: ready)
                    logger.info("node serving", metadata: ["id": "\(id.short)", "gossip": "\(gossip.port)", "admin": "\(adminPort)", "transfer": "\(transfer.port)", "serve": "\(content.map { String($0.port) } ?? "off")"])
                } catch {
                    logger.error("cannot write \(ready): \(error)")
                }
            },
            logger: logger
        )
    }
}

// Names for the group's log lines (a struct's default description dumps its fields).
extension NoticeCatchUpService: CustomStringConvertible {
    var description: String { "notice catch-up" }
}

extension OriginWatcher: CustomStringConvertible {
    var description: String { "origin watcher" }
}
