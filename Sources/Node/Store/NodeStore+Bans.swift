import GRDB
import Gossip

extension NodeStore {
    /// Remembers that `peer` was banned (a restart keeps it banned until `bansLast` has passed).
    public func saveBan(_ peer: NodeID, reason: String, at now: UInt64) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO ban (peer, reason, bannedAt) VALUES (?, ?, ?)",
                           arguments: [peer.description, String(reason.prefix(500)), Int64(clamping: now)])
        }
    }

    /// Peers banned within `lasting` seconds before `now`; older bans are dropped.
    public func bans(now: UInt64, lasting: UInt64) throws -> [NodeID] {
        try pool.write { db in
            let since = Int64(clamping: now > lasting ? now - lasting : 0)
            try db.execute(sql: "DELETE FROM ban WHERE bannedAt < ?", arguments: [since])
            return try String.fetchAll(db, sql: "SELECT peer FROM ban ORDER BY peer").compactMap { text in
                guard text.count == 32, let high = UInt64(text.prefix(16), radix: 16), let low = UInt64(text.suffix(16), radix: 16) else { return nil }
                return NodeID(high: high, low: low)
            }
        }
    }
}
