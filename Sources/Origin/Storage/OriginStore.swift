import BundlecastCore
import Foundation
import GRDB
import Policy

/// The origin's state in SQLite (GRDB, WAL): registered apps with their
/// publisher keys, and every accepted notice with its exact signed bytes.
///
/// Writes are serialised by GRDB, so "check the highest sequence, then
/// insert" is one transaction: of two publishers racing with the same
/// sequence exactly one wins.
public final class OriginStore: Sendable {
    let pool: DatabasePool
    public let path: String

    /// Opens an existing database, or creates one when `create` is true.
    public init(path: String, create: Bool) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create {
            throw OriginStoreError("database \(path) does not exist: create it with `bundlecast origin add-app APP --pub KEY --db \(path)` or start with --trust APP=KEY")
        }
        do {
            var config = Configuration()
            config.foreignKeysEnabled = true
            pool = try DatabasePool(path: path, configuration: config)
            let migrator = Self.migrator
            try pool.read { db in
                let known = Set(migrator.migrations)
                if try db.tableExists("grdb_migrations") {
                    let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                    if let unknown = applied.first(where: { !known.contains($0) }) {
                        throw OriginStoreError("database \(path) was written by a newer bundlecast (migration \(unknown)); upgrade bundlecast")
                    }
                } else if exists, try !db.tableExists("app"), try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0 > 0 {
                    throw OriginStoreError("\(path) is a SQLite database but not a Bundlecast origin's")
                }
            }
            try migrator.migrate(pool)
        } catch let error as OriginStoreError {
            throw error
        } catch let error as DatabaseError {
            throw OriginStoreError("cannot open origin database \(path): \(error.message ?? "\(error.resultCode)"); restore it from a backup or move it away")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "app") { t in
                t.primaryKey("name", .text)
                t.column("publicKey", .text).notNull()
                t.column("registeredAt", .integer).notNull()
            }
            try db.create(table: "notice") { t in
                t.column("app", .text).notNull().references("app", onDelete: .cascade)
                t.column("sequence", .integer).notNull()
                t.column("channel", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("version", .text).notNull()
                t.column("manifest", .text).notNull()
                t.column("expires", .integer).notNull()
                t.column("body", .blob).notNull()
                t.column("receivedAt", .integer).notNull()
                t.primaryKey(["app", "sequence"])
            }
            try db.create(index: "notice_by_channel", on: "notice", columns: ["app", "channel", "sequence"])
        }
        migrator.registerMigration("v2-rotations") { db in
            // `app.publicKey` stays the key notices are checked against: a rotation replaces it
            // and records the statement that did, so the chain can be served and replays refused.
            try db.alter(table: "app") { t in t.add(column: "epoch", .integer).notNull().defaults(to: 0) }
            try db.create(table: "rotation") { t in
                t.column("app", .text).notNull().references("app", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("oldKey", .text).notNull()
                t.column("newKey", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("receivedAt", .integer).notNull()
                t.primaryKey(["app", "epoch"])
            }
        }
        return migrator
    }

    /// The outcome of registering an app.
    public enum Registration: Equatable, Sendable {
        case added
        case unchanged
        /// Already registered with another key: nothing was changed.
        case conflict(existing: KeyID)
    }

    public func register(app: String, key: PublicKey, now: UInt64) throws -> Registration {
        try Identifier.validateApp(app)
        return try pool.write { db in
            if let stored = try String.fetchOne(db, sql: "SELECT publicKey FROM app WHERE name = ?", arguments: [app]) {
                let existing = try PublicKey(base64: stored)
                return existing == key ? .unchanged : .conflict(existing: existing.keyID)
            }
            try db.execute(sql: "INSERT INTO app (name, publicKey, registeredAt) VALUES (?, ?, ?)",
                           arguments: [app, key.base64, Int64(clamping: now)])
            return .added
        }
    }

    public func app(_ name: String) throws -> AppRecord? {
        try pool.read { db in try Self.record(db, name) }
    }

    public func apps() throws -> [AppRecord] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM app ORDER BY name").compactMap { try Self.record(db, $0) }
        }
    }

    private static func record(_ db: Database, _ name: String) throws -> AppRecord? {
        guard let pinned = try pinnedKey(db, name) else { return nil }
        let rows = try Row.fetchAll(db, sql: "SELECT channel, max(sequence) AS s FROM notice WHERE app = ? GROUP BY channel ORDER BY channel", arguments: [name])
        return AppRecord(name: name, key: pinned.key, epoch: pinned.epoch,
                         channels: try rows.map {
                             (channel: try $0.decode(String.self, forColumn: "channel"),
                              sequence: UInt64(bitPattern: try $0.decode(Int64.self, forColumn: "s")))
                         })
    }

    /// What became of a submitted notice.
    public enum Submission: Equatable, Sendable {
        case created
        /// The same signed bytes were already accepted (an idempotent retry).
        case duplicate
        /// Not newer than the highest sequence held for the app.
        case stale(highest: UInt64)
        /// Signed by a key that is no longer the app's (a rotation committed meanwhile).
        case keyChanged(current: KeyID)
    }

    /// Stores a notice whose signature has been checked, if its sequence is
    /// higher than every sequence held for its app.
    public func submit(_ notice: SignedNotice, body: [UInt8], now: UInt64) throws -> Submission {
        let n = notice.notice
        // SQLite integers are signed: a larger sequence is refused here, not trapped on below.
        guard n.sequence <= Notice.maxSequence else {
            throw OriginStoreError("sequence \(n.sequence) is above 2^63-1, the origin's limit")
        }
        return try pool.write { db in
            // Checked again inside the transaction: a rotation may have committed since the signature check.
            if let current = try Self.pinnedKey(db, n.app)?.key.keyID, current != notice.signature.keyID {
                return .keyChanged(current: current)
            }
            // The same notice whatever its unsigned comment (rows stored before comments were
            // made canonical hold the comment they were posted with).
            if let same = try Data.fetchOne(db, sql: "SELECT body FROM notice WHERE app = ? AND sequence = ?",
                                            arguments: [n.app, Int64(n.sequence)]),
               [UInt8](same) == body || (try? SignedNotice(bytes: [UInt8](same)))?.canonical == notice.canonical {
                return .duplicate
            }
            let highest = try Int64.fetchOne(db, sql: "SELECT max(sequence) FROM notice WHERE app = ?", arguments: [n.app]) ?? 0
            guard NoticeGate.isNewer(n, than: UInt64(clamping: highest)) else { return .stale(highest: UInt64(clamping: highest)) }
            try db.execute(
                sql: """
                    INSERT INTO notice (app, sequence, channel, kind, version, manifest, expires, body, receivedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [n.app, Int64(n.sequence), n.channel, n.kind.rawValue, n.version.description, n.manifest.hex,
                            Int64(clamping: n.expires), Data(body), Int64(clamping: now)])
            return .created
        }
    }

    /// Every channel's newest notice, for warming the in-memory board.
    public func allLatest() throws -> [StoredNotice] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.app, n.channel, n.sequence, n.body FROM notice n
                JOIN (SELECT app, channel, max(sequence) AS s FROM notice GROUP BY app, channel) m
                  ON n.app = m.app AND n.channel = m.channel AND n.sequence = m.s
                ORDER BY n.app, n.channel
                """).map { try StoredNotice(row: $0, app: $0.decode(String.self, forColumn: "app")) }
        }
    }

    /// The newest notice of each channel of `app`.
    public func latest(app: String) throws -> [StoredNotice] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.channel, n.sequence, n.body FROM notice n
                JOIN (SELECT channel, max(sequence) AS s FROM notice WHERE app = ? GROUP BY channel) m
                  ON n.app = ? AND n.channel = m.channel AND n.sequence = m.s
                ORDER BY n.channel
                """, arguments: [app, app]).map { try StoredNotice(row: $0, app: app) }
        }
    }

    /// Notices of an app after `sequence`, oldest first, at most `limit`.
    public func notices(app: String, after sequence: UInt64, limit: Int) throws -> [StoredNotice] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT channel, sequence, body FROM notice WHERE app = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                             arguments: [app, Int64(clamping: sequence), limit]).map { try StoredNotice(row: $0, app: app) }
        }
    }
}

extension StoredNotice {
    /// A notice row, every column decoded with a check: a row of the wrong type (a
    /// database edited by hand, or damaged) is an error, never a trap.
    init(row: Row, app: String) throws {
        self.init(app: app, channel: try row.decode(String.self, forColumn: "channel"),
                  sequence: UInt64(clamping: try row.decode(Int64.self, forColumn: "sequence")),
                  body: [UInt8](try row.decode(Data.self, forColumn: "body")))
    }
}
