import BundlecastCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Key rotation: statements in, the chain out (so a node can catch up).
extension OriginAPI {
    func addRotationRoutes(to router: Router<OriginRequestContext>) {
        router.post("/v1/apps/:app/rotations") { request, context in try await answerAsync { try await submitRotation(request, context) } }
        router.get("/v1/apps/:app/rotations") { _, context in try await answer { try rotations(context) } }
    }

    struct RotationResult: Encodable {
        let app: String
        let epoch: UInt64
        let keyId: String
        let status: String
    }

    private func submitRotation(_ request: Request, _ context: OriginRequestContext) async throws -> Response {
        let app = try appName(context)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: settings.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            metrics.rotation("too_large")
            return APIResponse.error(.contentTooLarge, "body larger than \(settings.maxBodyBytes) bytes: a rotation statement is about 500 bytes")
        }
        do {
            let bytes = Array(buffer: body)
            let (status, result) = try await Self.blocking { try acceptRotation(app: app, bytes: bytes) }
            metrics.rotation(result.status)
            return APIResponse.json(status, result)
        } catch let failure as APIFailure {
            metrics.rotation(failure.reason ?? "refused")
            logger.warning("refused rotation statement", metadata: ["app": "\(app)", "status": "\(failure.status.code)", "reason": "\(failure.logged)"])
            throw failure
        }
    }

    private func acceptRotation(app: String, bytes: [UInt8]) throws -> (HTTPResponse.Status, RotationResult) {
        _ = try registered(app)
        let rotation: SignedRotation
        do { rotation = try SignedRotation(bytes: bytes) } catch {
            throw APIFailure(.badRequest, "\(error)", reason: "malformed")
        }
        // The board follows the database under the same lock as notices do; on `known` too,
        // so that a board left behind by a failed read after a rotation's commit catches up
        // when the publisher posts the statement again.
        guard let checked = try store.checkRotation(rotation, app: app) else { throw APIFailure(.notFound, "unknown app \(app)") }
        // Refused against the key pinned now (a forged signature, a replay of an older epoch, a
        // gap): answered without the app's write lock or a write transaction, which publishers
        // need, so a flood of junk statements does not queue in front of them. A rotation
        // committed meanwhile can only make a refused statement acceptable on a retry.
        if case .refused(let refusal) = checked.verdict {
            throw APIFailure(HTTPResponse.Status(code: refusal.httpStatusCode), refusal.description, reason: refusal.reason)
        }
        let verdict = try boardWrites.withLock {
            let verdict = try store.submitRotation(rotation, app: app, now: clock(), checked: checked)
            switch verdict {
            case .rotated, .known: board.replace(app: app, with: try store.latest(app: app))
            case .refused, nil: break
            }
            return verdict
        }
        guard let verdict else { throw APIFailure(.notFound, "unknown app \(app)") }
        let s = rotation.statement
        switch verdict {
        case .rotated(let next):
            logger.notice("rotated publisher key", metadata: ["app": "\(app)", "epoch": "\(next.epoch)", "old": "\(s.oldKeyID)", "new": "\(next.key.keyID)",
                                                              "floor": "\(s.floor)"])
            return (.created, RotationResult(app: app, epoch: next.epoch, keyId: next.key.keyID.description, status: "rotated"))
        case .known:
            return (.ok, RotationResult(app: app, epoch: s.epoch, keyId: s.newKeyID.description, status: "known"))
        case .refused(let refusal):
            throw APIFailure(HTTPResponse.Status(code: refusal.httpStatusCode), refusal.description, reason: refusal.reason)
        }
    }

    struct RotationList: Encodable {
        struct Item: Encodable {
            let epoch: UInt64
            let oldKeyId: String
            let newKeyId: String
            /// The `.rotation` file's text.
            let statement: String
        }

        let app: String
        let keyId: String
        let epoch: UInt64
        let rotations: [Item]
    }

    private func rotations(_ context: OriginRequestContext) throws -> Response {
        let app = try appName(context)
        let record = try registered(app)
        let items = try store.rotations(app: app).map {
            RotationList.Item(epoch: $0.epoch, oldKeyId: $0.oldKey.description, newKeyId: $0.newKey.description,
                              statement: String(decoding: $0.body, as: UTF8.self))
        }
        return APIResponse.json(.ok, RotationList(app: app, keyId: record.key.keyID.description, epoch: record.epoch, rotations: items),
                                headers: [.cacheControl: "no-store"])
    }
}
