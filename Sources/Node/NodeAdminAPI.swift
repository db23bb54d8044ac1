import BundlecastCore
import Foundation
import Gossip
import Hummingbird

/// The node's admin API (HTTP/JSON, loopback by default).
///
/// | route | answers |
/// |---|---|
/// | `GET /v1/status` | this node, every member it knows with their versions, gossip counters, refused notices |
/// | `POST /v1/notices` | a `.minisig` notice: 201 accepted and spread, 200 already held, 409 stale or expired, 400 malformed, 403 untrusted app or wrong key, 401 forged |
/// | `POST /v1/manifests` | manifest bytes: stored by digest; answers `{"digest", "missing": [chunk hex...]}` |
/// | `POST /v1/chunks` | a batch of chunks, each `digest(32) length(u32 BE) bytes`: each checked, then stored |
/// | `POST /v1/rotations` | a rotation statement: 201 rotated and spread, 200 already held or the statement that brought the pinned key, 409 replay or gap, 400 malformed, 403 untrusted app or wrong old key, 401 forged |
/// | `POST /v1/rollback` | `{"app", "to"?}`: `current` back to the kept earlier version, held until a newer notice |
/// | `GET /healthz` | `ok` |
/// | `GET /metrics` | Prometheus text (``NodeMetrics``) |
/// | `GET /v1/status/events` | the status as Server-Sent Events, at each change (``StatusEventStream``) |
/// | `GET /ui` | the fleet page, drawn live from those events (``FleetPage``) |
///
/// Every route sits behind ``AdminRequestGuard`` (403 for what a browser could send, but for the last two) and,
/// with `--admin-token`, ``AdminTokenMiddleware``; every body is read with a limit.
struct NodeAdminAPI: Sendable {
    let gossip: GossipRuntime
    let state: NodeState
    let channel: String
    let trustedApps: [String]
    let store: NodeStore
    let transfer: TransferNode
    let updater: Updater
    let keys: PublisherKeys
    /// Checks, keeps and spreads a notice (``SpreadingIntake``).
    let accept: @Sendable ([UInt8], String) -> Result<SignedNotice, NoticeIntake.Refusal>
    /// Checks, keeps and spreads a rotation statement that moves a key on.
    let acceptRotation: @Sendable ([UInt8], String) -> Result<PublisherKeys.Acceptance, RotationRefusal>
    let timestamps: OriginTimestamps
    let freshnessThreshold: UInt64
    /// Checks, keeps and spreads an origin timestamp.
    let acceptTimestamp: @Sendable ([UInt8]) -> Result<SignedTimestamp, OriginTimestamps.Refusal>
    /// What `GET /metrics` exposes.
    let metrics: NodeMetrics

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        addTransferRoutes(to: router)
        if let partition = gossip.settings.partition { addPartitionRoute(partition, to: router) }
        router.get("/v1/status") { _, _ in json(.ok, try status()) }
        addMetricsRoute(to: router)
        router.post("/v1/timestamps") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 4096))
            switch acceptTimestamp(body) {
            case .success: return json(.created, ["status": "accepted"])
            case .failure(.notNewer): return json(.ok, ["status": "already held"])
            case .failure(let refusal):
                let status: HTTPResponse.Status = switch refusal {
                case .forged: .unauthorized
                case .noOriginKey, .notFollowed: .forbidden
                case .expired, .fromTheFuture: .conflict
                case .malformed, .notNewer: .badRequest
                }
                return json(status, ["error": refusal.description])
            }
        }
        router.post("/v1/notices") { request, _ in
            let body = try await request.body.collect(upTo: 64 << 10)
            let bytes = Array(buffer: body)
            switch accept(bytes, "admin API") {
            case .success(let signed):
                return json(.created, ["status": "accepted", "app": signed.notice.app, "sequence": String(signed.notice.sequence)])
            case .failure(.stale(let app, _, let sequence, let held)) where sequence == held:
                // The same signed notice again (from the origin or a peer first): already done.
                return json(.ok, ["status": "known", "app": app, "sequence": String(sequence)])
            case .failure(let refusal):
                let status: HTTPResponse.Status
                switch refusal {
                case .malformed, .sequenceTooLarge: status = .badRequest
                case .untrustedApp, .wrongKey, .retiredKey, .wrongApp: status = .forbidden
                case .badSignature: status = .unauthorized
                case .expired, .stale: status = .conflict
                }
                return json(status, ["error": refusal.description])
            }
        }
        addRotationRoutes(to: router)
    }

    func addTransferRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/manifests") { request, _ in
            let bytes = Array(buffer: try await request.body.collect(upTo: ManifestCache.maxBytes))
            let digest = Blake2b.digest256(bytes)
            let manifest: Manifest
            do { manifest = try transfer.manifests.put(bytes, digest: digest) } catch {
                return json(.badRequest, ["error": "not a valid manifest: \(error)"])
            }
            guard trustedApps.contains(manifest.app) else {
                transfer.manifests.remove(digest)
                return json(.forbidden, ["error": "this node does not trust \(manifest.app)"])
            }
            let distinct = manifest.distinctChunks
            let present = transfer.chunks.presence(distinct.map(\.digest))
            let missing = zip(distinct, present).filter { !$0.1 }.map { $0.0.digest.hex }
            return json(.ok, SeedAnswer(digest: digest.hex, missing: missing))
        }
        router.post("/v1/chunks") { request, _ in
            let body = try await request.body.collect(upTo: 32 << 20)
            var buffer = body
            var stored = 0
            while buffer.readableBytes > 0 {
                guard let digestBytes = buffer.readBytes(length: 32), let digest = Digest256(bytes: digestBytes),
                      let length = buffer.readInteger(as: UInt32.self), Int(length) <= ChunkStore.maxChunk,
                      let bytes = buffer.readBytes(length: Int(length)) else {
                    return json(.badRequest, ["error": "malformed chunk batch after \(stored) chunks"])
                }
                guard try transfer.chunks.put(digest, bytes) else {
                    return json(.unprocessableContent, ["error": "chunk \(digest.short) does not match its digest", "stored": String(stored)])
                }
                transfer.count { $0.bytesSeeded += UInt64(bytes.count) }
                stored += 1
            }
            return json(.ok, ["stored": String(stored)])
        }
        router.post("/v1/rollback") { request, _ in
            let body = try await request.body.collect(upTo: 4096)
            guard let ask = try? JSONDecoder().decode(RollbackRequest.self, from: Data(buffer: body)) else {
                return json(.badRequest, ["error": "expected {\"app\": APP, \"to\": VERSION (optional)}"])
            }
            do {
                let (from, to) = try await updater.rollbackBlocking(app: ask.app, to: ask.to)
                return json(.ok, ["app": ask.app, "from": from, "to": to])
            } catch let error as UpdateError {
                return json(.conflict, ["error": error.message])
            } catch let error as InstallError {
                return json(.conflict, ["error": "\(error)"])
            }
        }
    }

    func status() throws -> NodeStatus {
        var me = NodeStatus.view(gossip.me)
        let meta = state.metadata
        me.apps = NodeStatus.apps(meta)
        me.zone = meta.zone
        me.admin = meta.admin
        me.fromPeers = meta.fromPeers
        me.transferPort = transfer.port
        me.transfer = transfer.counters
        let members = ([me] + gossip.members.map(NodeStatus.view)).sorted { $0.id < $1.id }
        let apps = try trustedApps.map { app -> NodeStatus.AppView in
            let latest = try store.latestRecord(app: app, channel: channel).map {
                NodeStatus.Latest(version: $0.notice.notice.version.description, kind: $0.notice.notice.kind.rawValue, sequence: $0.notice.notice.sequence, receivedAt: $0.receivedAt)
            }
            var view = NodeStatus.view(of: app, over: members, latest: latest, key: keys.pinned(app))
            let held = state.metadata.apps[app]?.sequence ?? 0
            view.freshness = timestamps.freshness(app: app, held: held, now: UInt64(Date().timeIntervalSince1970), threshold: freshnessThreshold)
                .map { NodeStatus.FreshnessView($0, threshold: freshnessThreshold) }
            return view
        }
        let errors = state.errors
        let mirrors = updater.downloads.mirrors.views(now: Fetch.now())
        return NodeStatus(self: me, channel: channel, members: members, apps: apps, gossip: gossip.counterValues, refusedNotices: state.refused,
                          errors: errors.isEmpty ? nil : errors, refusedRotations: state.refusedRotations, mirrors: mirrors.isEmpty ? nil : mirrors)
    }

    struct SeedAnswer: Codable {
        var digest: String
        var missing: [String]
    }

    struct RollbackRequest: Codable {
        var app: String
        var to: String?
    }

    func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension NodeAdminAPI {
    /// Test only (`--test-faults`): `POST /v1/test/partition` with `{"cut": ["HOST:PORT", ...]}`
    /// (members' gossip addresses) cuts this node off from them; `{"cut": []}` heals.
    func addPartitionRoute(_ partition: Partition, to router: Router<BasicRequestContext>) {
        struct Cut: Decodable { let cut: [String] }
        router.post("/v1/test/partition") { request, _ in
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let cut = try? JSONDecoder().decode(Cut.self, from: Data(buffer: body)) else {
                return json(.badRequest, ["error": "expected {\"cut\": [\"HOST:PORT\", ...]}"])
            }
            var addresses = Set<PeerAddress>()
            for text in cut.cut {
                guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
                    return json(.badRequest, ["error": "\(text) is not HOST:PORT"])
                }
                addresses.insert(PeerAddress(host: String(text[..<colon]), port: port))
            }
            let ids = Set(gossip.members.filter { addresses.contains($0.address) }.map(\.id))
            partition.set(addresses: addresses, ids: ids)
            transfer.closeConnections(to: ids)
            return json(.ok, ["cut": String(ids.count)])
        }
    }
}
