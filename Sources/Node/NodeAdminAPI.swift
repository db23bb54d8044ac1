import BundlecastCore
import Foundation
import Gossip
import Hummingbird

/// The node's admin API (HTTP/JSON, loopback by default).
///
/// | route | answers |
/// |---|---|
/// | `GET /v1/status` | this node, every member it knows with their versions, gossip counters, refused notices |
/// | `POST /v1/notices` | a `.minisig` notice: 201 accepted and spread, 409 stale or expired, 400 malformed, 403 untrusted app or wrong key, 401 forged |
/// | `GET /healthz` | `ok` |
struct NodeAdminAPI: Sendable {
    let gossip: GossipRuntime
    let state: NodeState
    let channel: String
    let trustedApps: [String]
    let store: NodeStore
    let accept: @Sendable ([UInt8], String) -> Result<SignedNotice, NoticeIntake.Refusal>

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/v1/status") { _, _ in json(.ok, try status()) }
        router.post("/v1/notices") { request, _ in
            let body = try await request.body.collect(upTo: 64 << 10)
            let bytes = Array(buffer: body)
            switch accept(bytes, "admin API") {
            case .success(let signed):
                gossip.spread(notice: bytes)
                return json(.created, ["status": "accepted", "app": signed.notice.app, "sequence": String(signed.notice.sequence)])
            case .failure(let refusal):
                let status: HTTPResponse.Status
                switch refusal {
                case .malformed: status = .badRequest
                case .untrustedApp, .wrongKey: status = .forbidden
                case .badSignature: status = .unauthorized
                case .expired, .stale: status = .conflict
                }
                return json(status, ["error": refusal.description])
            }
        }
    }

    func status() throws -> NodeStatus {
        var me = NodeStatus.view(gossip.me)
        let meta = state.metadata
        me.apps = meta.apps.keys.sorted().map { NodeStatus.AppVersion(app: $0, version: meta.apps[$0]!.version, sequence: meta.apps[$0]!.sequence) }
        me.zone = meta.zone
        me.admin = meta.admin
        let members = ([me] + gossip.members.map(NodeStatus.view)).sorted { $0.id < $1.id }
        let apps = try trustedApps.map { app -> NodeStatus.AppView in
            let latest = try store.latestRecord(app: app, channel: channel).map {
                NodeStatus.Latest(version: $0.notice.notice.version.description, sequence: $0.notice.notice.sequence, receivedAt: $0.receivedAt)
            }
            let (spread, without) = NodeStatus.spread(of: app, over: members)
            return NodeStatus.AppView(app: app, latest: latest, spread: spread, without: without)
        }
        return NodeStatus(self: me, channel: channel, members: members, apps: apps, gossip: gossip.counterValues, refusedNotices: state.refused)
    }

    private func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
