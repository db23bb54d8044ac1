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
                return json(HTTPResponse.Status(code: refusal.httpStatusCode), ["error": refusal.description])
            }
        }
    }
}
