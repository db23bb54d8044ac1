import BundlecastCore
import Foundation
import GRDB

/// Each app's pinned publisher key, its epoch, and the rotation chain that led to it.
extension NodeStore {
    /// One app's key state as stored.
    public struct KeyRecord: Sendable, Equatable {
        public var pinned: PinnedKey
        /// Accepted statements by epoch, byte for byte.
        public var chain: [UInt64: [UInt8]]
        /// Key ids the chain retired, with the epoch that retired each.
        public var retired: [KeyID: UInt64]
    }

    public func keyRecord(app: String) throws -> KeyRecord? {
        try pool.read { db in try Self.keyRecord(db, app) }
    }

    static func keyRecord(_ db: Database, _ app: String) throws -> KeyRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT publicKey, epoch FROM publisherKey WHERE app = ?", arguments: [app]) else { return nil }
        // Every column decoded with a check: a damaged or hand-edited row is an error, not a trap.
        let pinned = PinnedKey(key: try PublicKey(base64: try row.decode(String.self, forColumn: "publicKey")),
                               epoch: UInt64(max(0, try row.decode(Int64.self, forColumn: "epoch"))))
        var record = KeyRecord(pinned: pinned, chain: [:], retired: [:])
        for r in try Row.fetchAll(db, sql: "SELECT epoch, oldKey, body FROM rotation WHERE app = ? ORDER BY epoch", arguments: [app]) {
            let epoch = UInt64(max(0, try r.decode(Int64.self, forColumn: "epoch")))
            record.chain[epoch] = [UInt8](try r.decode(Data.self, forColumn: "body"))
            if let old = KeyID(text: try r.decode(String.self, forColumn: "oldKey")) { record.retired[old] = epoch }
        }
        return record
    }

    /// Applies `--trust APP=KEY` at start (see ``TrustDecision``); `.repinned` drops the old chain.
    public func trust(app: String, key: PublicKey, repin: Bool, now: UInt64) throws -> TrustDecision {
        try pool.write { db in
            let stored = try Self.keyRecord(db, app)
            let decision = TrustDecision.decide(stored: stored?.pinned, key: key, retiredAt: stored?.retired[key.keyID], repin: repin)
            switch decision {
            case .added, .repinned:
                try db.execute(sql: "INSERT OR REPLACE INTO publisherKey (app, publicKey, epoch, pinnedAt) VALUES (?, ?, 0, ?)",
                               arguments: [app, key.base64, Int64(clamping: now)])
                try db.execute(sql: "DELETE FROM rotation WHERE app = ?", arguments: [app])
            case .unchanged, .retired, .conflict:
                break
            }
            return decision
        }
    }

    /// Records an accepted rotation if the stored key is still `from`, and in the same
    /// transaction lowers what the retired key set: the accepted notices above the
    /// statement's floor are deleted (the publisher disowned them) and a hold or a failed
    /// sequence above it comes down to it, so the new key's next notice is not stale.
    /// False when another statement changed the key meanwhile.
    public func saveRotation(_ rotation: SignedRotation, from: PinnedKey, to next: PinnedKey, source: String, now: UInt64) throws -> Bool {
        let s = rotation.statement
        return try pool.write { db in
            guard try Self.keyRecord(db, s.app)?.pinned == from else { return false }
            try db.execute(sql: "UPDATE publisherKey SET publicKey = ?, epoch = ? WHERE app = ?",
                           arguments: [next.key.base64, Int64(clamping: next.epoch), s.app])
            if next.key != from.key {
                let floor = Int64(clamping: s.floor)
                try db.execute(sql: "DELETE FROM notice WHERE app = ? AND sequence > ?", arguments: [s.app, floor])
                try db.execute(sql: "UPDATE app SET holdSequence = min(holdSequence, ?1), failedSequence = min(failedSequence, ?1) WHERE app = ?2",
                               arguments: [floor, s.app])
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO rotation (app, epoch, oldKey, newKey, body, source, receivedAt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [s.app, Int64(clamping: s.epoch), s.oldKeyID.description, s.newKeyID.description, Data(rotation.bytes),
                            source, Int64(clamping: now)])
            return true
        }
    }
}
