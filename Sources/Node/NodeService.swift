import BundlecastCore
import Foundation
import Gossip
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A peer node: membership and notices by gossip, state in SQLite, an admin
/// API on loopback. (Downloading and installing come with the swarm issue.)
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
        let state = NodeState(metadata: NodeMetadata(zone: settings.zone, admin: nil))
        for app in settings.trusted.keys.sorted() {
            if let n = try store.latest(app: app, channel: settings.channel)?.notice {
                state.setApp(app, NodeMetadata.AppState(sequence: n.sequence, version: n.version.description))
            }
        }
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
                    state.setApp(n.app, NodeMetadata.AppState(sequence: n.sequence, version: n.version.description))
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
        state.onMetadataChange = { gossip.setMetadata($0.encoded()) }

        let router = Router()
        NodeAdminAPI(gossip: gossip, state: state, channel: settings.channel, trustedApps: settings.trusted.keys.sorted(),
                     store: store, accept: accept).addRoutes(to: router)
        var services: [any Service] = []
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
                state.setAdminPort(adminPort)
                gossip.join(settings.join)
                do {
                    try NodeReadyFile(gossip: gossip.port, admin: adminPort, pid: getpid()).write(to: ready)
                    logger.info("node serving", metadata: ["id": "\(id.short)", "gossip": "\(gossip.port)", "admin": "\(adminPort)"])
                } catch {
                    logger.error("cannot write \(ready): \(error)")
                }
            },
            logger: logger
        )
        try await app.runService()
        await gossip.shutdown()
    }
}

/// The node's mutable state shared by the gossip shell and the admin API.
final class NodeState: Sendable {
    private let inner: Mutex<(metadata: NodeMetadata, refused: [String: Int], logged: Set<String>)>
    private let callback = Mutex<(@Sendable (NodeMetadata) -> Void)?>(nil)

    init(metadata: NodeMetadata) { inner = Mutex((metadata, [:], [])) }

    var metadata: NodeMetadata { inner.withLock { $0.metadata } }
    var refused: [String: Int] { inner.withLock { $0.refused } }

    var onMetadataChange: (@Sendable (NodeMetadata) -> Void)? {
        get { callback.withLock { $0 } }
        set { callback.withLock { $0 = newValue } }
    }

    func setApp(_ app: String, _ value: NodeMetadata.AppState) {
        let changed = inner.withLock { s -> NodeMetadata? in
            guard s.metadata.apps[app] != value else { return nil }
            s.metadata.apps[app] = value
            return s.metadata
        }
        if let changed { onMetadataChange?(changed) }
    }

    func setAdminPort(_ port: Int) {
        let changed = inner.withLock { s -> NodeMetadata in
            s.metadata.admin = port
            return s.metadata
        }
        onMetadataChange?(changed)
    }

    /// Counts a refusal; true the first time this sender is refused for this reason (log once).
    func countRefusal(_ reason: String, from source: String) -> Bool {
        inner.withLock { s in
            s.refused[reason, default: 0] += 1
            return s.logged.insert(reason + "|" + source).inserted
        }
    }
}

/// `DATA/ready.json` of a node.
public struct NodeReadyFile: Codable, Sendable {
    public var gossip: Int
    public var admin: Int
    public var pid: Int32

    public func write(to path: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
