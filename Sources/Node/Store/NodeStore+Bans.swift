import GRDB
import Gossip

extension NodeStore {
    /// Remembers that these peers were banned at `now`, in one transaction (one fsync, however
    /// many): a restart keeps each banned until ``bans(now:lasting:)`` says its time is over.
    public func saveBans(_ bans: [(peer: NodeID, reason: String)], at now: UInt64) throws {
        guard !bans.isEmpty else { return }
        try pool.write { db in
            for ban in bans {
                try db.execute(sql: "INSERT OR REPLACE INTO ban (peer, reason, bannedAt) VALUES (?, ?, ?)",
                               arguments: [ban.peer.description, String(ban.reason.prefix(500)), Int64(clamping: now)])
            }
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
