import BundlecastCore
import Foundation
import GRDB
import Policy

extension NodeStore {
    public func installRecord(app: String) throws -> InstallRecord {
        try pool.read { db in
            var record = InstallRecord()
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM app WHERE app = ?", arguments: [app]) else { return record }
            // Every column decoded with a check: a damaged or hand-edited row is an error, not a trap.
            func installed(_ prefix: String) throws -> InstallRecord.Installed? {
                guard let version = try row.decode(String?.self, forColumn: prefix + "Version"),
                      let hex = try row.decode(String?.self, forColumn: prefix + "Manifest"), let digest = Digest256(hex: hex),
                      let sequence = try row.decode(Int64?.self, forColumn: prefix + "Sequence") else { return nil }
                return .init(version: version, manifest: digest, sequence: UInt64(max(0, sequence)))
            }
            record.current = try installed("current")
            record.previous = try installed("previous")
            record.failedVersion = try row.decode(String?.self, forColumn: "failedVersion")
            record.failedManifest = (try row.decode(String?.self, forColumn: "failedManifest")).flatMap { Digest256(hex: $0) }
            record.failedSequence = (try row.decode(Int64?.self, forColumn: "failedSequence")).map { UInt64(max(0, $0)) }
            record.failedReason = try row.decode(String?.self, forColumn: "failedReason")
            record.holdSequence = (try row.decode(Int64?.self, forColumn: "holdSequence")).map { UInt64(max(0, $0)) }
            return record
        }
    }

    public func saveInstallRecord(app: String, _ r: InstallRecord, event: (name: String, version: String, manifest: Digest256, detail: String)?) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO app (app, currentVersion, currentManifest, currentSequence,
                        previousVersion, previousManifest, previousSequence, failedVersion, failedManifest, failedSequence, failedReason, holdSequence)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [app, r.current?.version, r.current?.manifest.hex, r.current.map { Int64(clamping: $0.sequence) },
                            r.previous?.version, r.previous?.manifest.hex, r.previous.map { Int64(clamping: $0.sequence) },
                            r.failedVersion, r.failedManifest?.hex, r.failedSequence.map { Int64(clamping: $0) }, r.failedReason,
                            r.holdSequence.map { Int64(clamping: $0) }])
            if let event {
                try db.execute(
                    sql: "INSERT INTO history (app, version, manifest, event, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [app, event.version, event.manifest.hex, event.name, event.detail, Int64(Date().timeIntervalSince1970)])
            }
        }
    }

    /// The newest accepted notices of every app and channel (for collecting manifests a notice still names).
    public func allNotices() throws -> [SignedNotice] {
        try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM notice").compactMap { try? SignedNotice(bytes: [UInt8]($0)) }
        }
    }
}
