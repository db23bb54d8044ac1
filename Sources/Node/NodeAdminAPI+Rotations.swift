import BundlecastCore
import Hummingbird

/// `POST /v1/rotations`: a publisher's rotation statement in, checked against
/// the pinned key and spread by gossip when it moves the key on.
extension NodeAdminAPI {
    func addRotationRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/rotations") { request, _ in
            let bytes = Array(buffer: try await request.body.collect(upTo: 4096))
            switch acceptRotation(bytes, "admin API") {
            case .success(let accepted):
                let answer = ["status": accepted.change.rawValue, "app": accepted.app, "keyId": accepted.pinned.key.keyID.description,
                              "epoch": String(accepted.pinned.epoch)]
                return json(accepted.change == .known ? .ok : .created, answer)
            case .failure(let refusal):
                let status: HTTPResponse.Status
                switch refusal {
                case .malformed: status = .badRequest
                case .replay, .gap: status = .conflict
                case .badSignature: status = .unauthorized
                case .untrustedApp, .wrongApp, .wrongOldKey, .sameKey: status = .forbidden
                }
                return json(status, ["error": refusal.description])
            }
        }
    }
}
