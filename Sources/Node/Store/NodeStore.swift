import BundlecastCore
import Foundation
import GRDB
import Gossip
import Policy
import TransferWire

/// A node's state in SQLite (GRDB, WAL, migrations): its identity, the
/// newest accepted notice per app and channel, and each app's publisher key
/// with its rotation chain. The accepted sequence only
/// ever goes up (rollback protection survives restarts).
public final class NodeStore: Sendable {
    let pool: DatabasePool

    /// Opens or creates `DIR/node.sqlite`.
    public init(path: String) throws {
        do {
            // A node that has just stopped may still be finishing a write: wait for it rather than fail.
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            // It holds the node's identity key: no one else on the machine may read it. Changed
            // through a descriptor opened without following a symlink, so a link planted in
            // the data directory does not carry the change to another file.
            for file in [path, path + "-wal", path + "-shm"] {
                let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                if fd >= 0 {
                    fchmod(fd, 0o600)
                    close(fd)
                } else if errno == ELOOP {
                    throw NodeStoreError("\(file) is a symlink: the node keeps its identity key there and does not make a file elsewhere private; put the file itself in the data directory")
                }
            }
        } catch let error as DatabaseError {
            throw NodeStoreError("cannot open node database \(path): \(error.message ?? "\(error.resultCode)"); move it away to start afresh (the node re-learns notices from its peers)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "notice") { t in
                t.column("app", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("sequence", .integer).notNull()
                t.column("version", .text).notNull()
                t.column("manifest", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("source", .text).notNull()
                t.column("receivedAt", .integer).notNull()
                t.primaryKey(["app", "channel"])
            }
        }
        migrator.registerMigration("v2-installs") { db in
            // One row per app: what is installed, what was before, and the
            // decisions that outlive a restart (a failed manifest, a hold).
            try db.create(table: "app") { t in
                t.primaryKey("app", .text)
                t.column("currentVersion", .text)
                t.column("currentManifest", .text)
                t.column("currentSequence", .integer)
                t.column("previousVersion", .text)
                t.column("previousManifest", .text)
                t.column("previousSequence", .integer)
                t.column("failedVersion", .text)
                t.column("failedManifest", .text)
                t.column("failedSequence", .integer)
                t.column("failedReason", .text)
                t.column("holdSequence", .integer)
            }
            try db.create(table: "history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("app", .text).notNull()
                t.column("version", .text).notNull()
                t.column("manifest", .text).notNull()
                t.column("event", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("at", .integer).notNull()
            }
        }
        migrator.registerMigration("v3-rotations") { db in
            // The key each app's notices are checked against, at its epoch, and the rotation
            // statements accepted (served onwards to members that lag, and compared to replays).
            try db.create(table: "publisherKey") { t in
                t.primaryKey("app", .text)
                t.column("publicKey", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("pinnedAt", .integer).notNull()
            }
            try db.create(table: "rotation") { t in
                t.column("app", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("oldKey", .text).notNull()
                t.column("newKey", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("source", .text).notNull()
                t.column("receivedAt", .integer).notNull()
                t.primaryKey(["app", "epoch"])
            }
        }
        migrator.registerMigration("v4-bans") { db in
            // Peers banned for bad data: remembered across restarts, for a while.
            try db.create(table: "ban") { t in
                t.primaryKey("peer", .text)
                t.column("reason", .text).notNull()
                t.column("bannedAt", .integer).notNull()
            }
        }
        return migrator
    }

    /// This node's id: generated on first start, then kept.
    /// This node's identity key, made on first use and kept in the database: its public key
    /// is where the node id comes from (``NodeIdentity``), so a restarted node is the same
    /// member and proves it. An id stored by an earlier version (16 random bytes, no key)
    /// is replaced: that node joins as a new member, and its old id is declared dead.
    public func identity() throws -> NodeIdentity {
        try pool.write { db in
            if let hex = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'identity_seed'"),
               let seed = Hex.decode(hex), seed.count == 32 {
                return NodeIdentity(seed: seed)
            }
            let seed = Sodium.randomBytes(32)
            try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES ('identity_seed', ?)", arguments: [Hex.encode(seed)])
            try db.execute(sql: "DELETE FROM setting WHERE key = 'node_id'")
            return NodeIdentity(seed: seed)
        }
    }

    /// This node's id (see ``identity()``).
    public func nodeID() throws -> NodeID { try identity().id }

    /// What became of a checked notice.
    public enum Acceptance: Equatable, Sendable {
        case accepted
        /// The node holds this sequence or a higher one for the app and channel.
        case stale(held: UInt64)
    }

    /// Records a notice that passed ``NoticeGate`` if it is newer than the
    /// one held for its app and channel; one transaction, so concurrent
    /// deliveries of two notices cannot lower the accepted sequence.
    public func accept(_ signed: SignedNotice, source: String, now: UInt64) throws -> Acceptance {
        let n = signed.notice
        guard n.sequence <= Notice.maxSequence else { return .stale(held: Notice.maxSequence) }
        return try pool.write { db in
            // The file is outside input too: a negative sequence in it (which this code never
            // writes) counts as none held, and the row is replaced, rather than trapping here.
            let held = try Int64.fetchOne(db, sql: "SELECT sequence FROM notice WHERE app = ? AND channel = ?", arguments: [n.app, n.channel])
                .map(UInt64.init(clamping:))
            guard NoticeGate.isNewer(n, than: held) else { return .stale(held: held ?? 0) }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO notice (app, channel, sequence, version, manifest, body, source, receivedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [n.app, n.channel, Int64(n.sequence), n.version.description, n.manifest.hex, Data(signed.bytes),
                            source, Int64(clamping: now)])
            return .accepted
        }
    }

    /// The newest accepted notice of an app's channel, with when it arrived (Unix seconds).
    public func latestRecord(app: String, channel: String) throws -> (notice: SignedNotice, receivedAt: UInt64)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT body, receivedAt FROM notice WHERE app = ? AND channel = ?",
                                             arguments: [app, channel]) else { return nil }
            // Decoded with a check: a damaged or hand-edited row is an error, not a trap.
            return (try SignedNotice(bytes: [UInt8](try row.decode(Data.self, forColumn: "body"))),
                    UInt64(max(0, try row.decode(Int64.self, forColumn: "receivedAt"))))
        }
    }

    /// The newest accepted notice of an app's channel.
    public func latest(app: String, channel: String) throws -> SignedNotice? {
        try latestRecord(app: app, channel: channel)?.notice
    }
}

/// A node database that cannot be used, and what to do.
public struct NodeStoreError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
