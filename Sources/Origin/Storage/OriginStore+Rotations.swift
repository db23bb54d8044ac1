import BundlecastCore
import Foundation
import GRDB

/// The rotation chain of each app: the statements that replaced its key, one
/// per epoch, and the trust decisions made at start.
extension OriginStore {
    /// A rotation statement the origin holds, byte for byte as it was posted.
    public struct StoredRotation: Sendable, Equatable {
        public let epoch: UInt64
        public let oldKey: KeyID
        public let newKey: KeyID
        public let body: [UInt8]
    }

    static func pinnedKey(_ db: Database, _ app: String) throws -> PinnedKey? {
        guard let row = try Row.fetchOne(db, sql: "SELECT publicKey, epoch FROM app WHERE name = ?", arguments: [app]) else { return nil }
        return PinnedKey(key: try PublicKey(base64: try row.decode(String.self, forColumn: "publicKey")),
                         epoch: UInt64(max(0, try row.decode(Int64.self, forColumn: "epoch"))))
    }

    /// Applies a rotation statement to `app` in one transaction: on `rotated` the app's
    /// key and epoch change, the statement joins the chain, and every notice of the app
    /// above the statement's floor is deleted (only the retired key can have signed
    /// them, and the publisher disowned them). `nil` when the app is not registered.
    ///
    /// `known` means the statement brought the registered key and is not contradicted by
    /// the chain's statement for its epoch; another statement for an epoch held is a replay.
    ///
    /// `checked` is the statement's verdict against a key read before (``checkRotation(_:app:)``):
    /// the signatures are checked outside the write transaction and the caller's locks, so
    /// statements with junk signatures hold neither. It stands if the key is still that one.
    public func submitRotation(_ rotation: SignedRotation, app: String, now: UInt64,
                               checked: (key: PinnedKey, verdict: RotationVerdict)? = nil) throws -> RotationVerdict? {
        guard let checked = try checked ?? checkRotation(rotation, app: app) else { return nil }
        return try pool.write { db in
            guard let pinned = try Self.pinnedKey(db, app) else { return nil }
            let verdict = pinned == checked.key ? checked.verdict : pinned.evaluate(rotation, app: app)
            let s = rotation.statement
            switch verdict {
            case .known:
                let held = try Data.fetchOne(db, sql: "SELECT body FROM rotation WHERE app = ? AND epoch = ?", arguments: [app, Int64(s.epoch)])
                return held.map { [UInt8]($0) == rotation.bytes } ?? true ? .known : .refused(.replay(epoch: s.epoch, current: pinned.epoch))
            case .rotated(let next):
                try db.execute(sql: "DELETE FROM notice WHERE app = ? AND sequence > ?", arguments: [app, Int64(s.floor)])
                try db.execute(sql: "UPDATE app SET publicKey = ?, epoch = ? WHERE name = ?",
                               arguments: [next.key.base64, Int64(next.epoch), app])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO rotation (app, epoch, oldKey, newKey, body, receivedAt) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [app, Int64(s.epoch), s.oldKeyID.description, s.newKeyID.description, Data(rotation.bytes), Int64(clamping: now)])
                return verdict
            case .refused:
                return verdict
            }
        }
    }

    /// The statement's verdict against `app`'s key as pinned now (the signature checks);
    /// nil when the app is not registered.
    public func checkRotation(_ rotation: SignedRotation, app: String) throws -> (key: PinnedKey, verdict: RotationVerdict)? {
        guard let key = try pool.read({ try Self.pinnedKey($0, app) }) else { return nil }
        return (key, key.evaluate(rotation, app: app))
    }

    /// The chain of `app`, oldest first.
    public func rotations(app: String) throws -> [StoredRotation] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT epoch, oldKey, newKey, body FROM rotation WHERE app = ? ORDER BY epoch", arguments: [app]).compactMap {
                guard let old = KeyID(text: try $0.decode(String.self, forColumn: "oldKey")),
                      let new = KeyID(text: try $0.decode(String.self, forColumn: "newKey")) else { return nil }
                return StoredRotation(epoch: UInt64(max(0, try $0.decode(Int64.self, forColumn: "epoch"))), oldKey: old, newKey: new,
                                      body: [UInt8](try $0.decode(Data.self, forColumn: "body")))
            }
        }
    }

    /// The epoch whose rotation retired `key` for `app`, if the chain retired it.
    public func retirement(app: String, key: KeyID) throws -> UInt64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT max(epoch) FROM rotation WHERE app = ? AND oldKey = ?", arguments: [app, key.description])
                .map { UInt64(max(0, $0)) }
        }
    }

    /// Registers `key` for `app` unless it is registered. A stored key differing
    /// from `key` wins when the chain retired `key`; otherwise it is a conflict,
    /// unless `repin`: then `key` becomes the app's key at epoch 0 and the old
    /// chain is dropped (the recovery path when the current key is lost).
    public func trust(app: String, key: PublicKey, repin: Bool, now: UInt64) throws -> TrustDecision {
        try Identifier.validateApp(app)
        return try pool.write { db in
            let retired = try Int64.fetchOne(db, sql: "SELECT max(epoch) FROM rotation WHERE app = ? AND oldKey = ?",
                                             arguments: [app, key.keyID.description])
            let decision = TrustDecision.decide(stored: try Self.pinnedKey(db, app), key: key,
                                                retiredAt: retired.map { UInt64(max(0, $0)) }, repin: repin)
            switch decision {
            case .added:
                try db.execute(sql: "INSERT INTO app (name, publicKey, registeredAt) VALUES (?, ?, ?)",
                               arguments: [app, key.base64, Int64(clamping: now)])
            case .repinned:
                try db.execute(sql: "UPDATE app SET publicKey = ?, epoch = 0 WHERE name = ?", arguments: [key.base64, app])
                try db.execute(sql: "DELETE FROM rotation WHERE app = ?", arguments: [app])
            case .unchanged, .retired, .conflict:
                break
            }
            return decision
        }
    }
}
