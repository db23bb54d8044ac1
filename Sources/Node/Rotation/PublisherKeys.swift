import BundlecastCore
import Foundation
import Synchronization

/// The publisher key every notice of a trusted app is checked against, with
/// its epoch and rotation chain: in memory (every notice reads it) and in
/// `node.sqlite`. Only a rotation statement that passes ``PinnedKey/evaluate(_:app:)``
/// moves it on; a `--trust` naming a key the chain retired never moves it back.
public final class PublisherKeys: Sendable {
    private let store: NodeStore
    /// Written only under this lock, after the store committed: notices see the old
    /// key or the new one, and the database never lags behind memory.
    private let records: Mutex<[String: NodeStore.KeyRecord]>
    /// The trusted apps, sorted.
    public let apps: [String]

    /// What a rotation statement did.
    public struct Acceptance: Sendable, Equatable {
        public enum Change: String, Sendable {
            /// A new key is pinned, and the app's accepted notices above the floor are gone.
            case rotated
            /// The statement that brought the pinned key.
            case known
        }

        public let app: String
        public let change: Change
        public let previous: PinnedKey
        public let pinned: PinnedKey
    }

    /// Reconciles each `--trust` with the stored key (``TrustDecision``), then loads them.
    /// Returns the decisions for the log; throws on a conflict.
    public static func open(store: NodeStore, trusted: [String: PublicKey], repin: Set<String>, now: UInt64) throws
        -> (keys: PublisherKeys, decisions: [(app: String, key: PublicKey, decision: TrustDecision)]) {
        var decisions: [(String, PublicKey, TrustDecision)] = []
        var records: [String: NodeStore.KeyRecord] = [:]
        for app in trusted.keys.sorted() {
            let key = trusted[app]!
            let decision = try store.trust(app: app, key: key, repin: repin.contains(app), now: now)
            if case .conflict(let current) = decision {
                throw NodeStoreError("--trust \(app) names key \(key.keyID), but this node holds \(current) for \(app) and no rotation it accepted retired \(key.keyID): the stored key wins; fix --trust, or if the publisher lost its key, re-pin with --repin \(app)")
            }
            decisions.append((app, key, decision))
            records[app] = try store.keyRecord(app: app)
        }
        return (PublisherKeys(store: store, records: records), decisions)
    }

    init(store: NodeStore, records: [String: NodeStore.KeyRecord]) {
        self.store = store
        self.records = Mutex(records)
        apps = records.keys.sorted()
    }

    public func pinned(_ app: String) -> PinnedKey? { records.withLock { $0[app]?.pinned } }

    public func key(_ app: String) -> PublicKey? { pinned(app)?.key }

    /// The epoch whose rotation retired `key` for `app`, if this node's chain did.
    public func retirement(_ app: String, _ key: KeyID) -> UInt64? { records.withLock { $0[app]?.retired[key] } }

    /// The accepted statements of `app` above `epoch`, oldest first (for a member that lags).
    public func statements(_ app: String, after epoch: UInt64) -> [[UInt8]] {
        records.withLock { records in
            guard let chain = records[app]?.chain else { return [] }
            return chain.keys.sorted().filter { $0 > epoch }.map { chain[$0]! }
        }
    }

    /// Checks a rotation statement and, when it moves the key on, records it. Only
    /// `rotated` is news to spread; a repeat of a held statement is `known` without any
    /// signature check.
    public func receive(_ bytes: [UInt8], source: String, now: UInt64) throws -> Result<Acceptance, RotationRefusal> {
        let rotation: SignedRotation
        do { rotation = try SignedRotation(bytes: bytes) } catch { return .failure(.malformed(error.message)) }
        let s = rotation.statement
        return try records.withLock { records -> Result<Acceptance, RotationRefusal> in
            guard var record = records[s.app] else { return .failure(.untrustedApp(s.app)) }
            let previous = record.pinned
            if s.epoch <= previous.epoch {
                guard record.chain[s.epoch] == bytes else { return .failure(.replay(epoch: s.epoch, current: previous.epoch)) }
                return .success(Acceptance(app: s.app, change: .known, previous: previous, pinned: previous))
            }
            let next: PinnedKey
            switch previous.evaluate(rotation, app: s.app) {
            case .rotated(let key): next = key
            case .known: return .success(Acceptance(app: s.app, change: .known, previous: previous, pinned: previous))
            case .refused(let refusal): return .failure(refusal)
            }
            guard try store.saveRotation(rotation, from: previous, to: next, source: source, now: now) else {
                throw NodeStoreError("the stored key of \(s.app) changed outside this node process; restart the node")
            }
            record.pinned = next
            record.chain[s.epoch] = bytes
            record.retired[s.oldKeyID] = s.epoch
            records[s.app] = record
            return .success(Acceptance(app: s.app, change: .rotated, previous: previous, pinned: next))
        }
    }
}
