import Synchronization

/// The node's mutable state shared by the gossip shell and the admin API.
final class NodeState: Sendable {
    private struct Inner {
        var metadata: NodeMetadata
        var refused: [String: Int] = [:]
        var logged: Set<String> = []
        var errors: [String: String] = [:]
        var refusedRotations: [String: Int] = [:]
    }

    private let inner: Mutex<Inner>
    /// The metadata after each change, newest only: gossip spreads it (``NodeSignalRelay``).
    /// Yielded under the lock, so the newest is always the last change.
    let changes: AsyncStream<NodeMetadata>
    private let changed: AsyncStream<NodeMetadata>.Continuation

    init(metadata: NodeMetadata) {
        inner = Mutex(Inner(metadata: metadata))
        (changes, changed) = AsyncStream.makeStream(of: NodeMetadata.self, bufferingPolicy: .bufferingNewest(1))
    }

    var metadata: NodeMetadata { inner.withLock { $0.metadata } }
    var refused: [String: Int] { inner.withLock { $0.refused } }
    /// Per app, why the last update attempt failed (cleared when one succeeds); this node only.
    var errors: [String: String] { inner.withLock { $0.errors } }

    /// Records (or with nil clears) an app's update error; true when it changed (log it then, not at every retry).
    @discardableResult
    func setError(_ app: String, _ message: String?) -> Bool {
        inner.withLock { s in
            guard s.errors[app] != message else { return false }
            s.errors[app] = message
            return true
        }
    }
    var refusedRotations: [String: Int] { inner.withLock { $0.refusedRotations } }

    /// Changes one app's record (created from the accepted notice fields if new); gossips it if it changed.
    func updateApp(_ app: String, _ change: (inout NodeMetadata.AppState) -> Void) {
        update { meta in
            var value = meta.apps[app] ?? NodeMetadata.AppState(sequence: 0, version: "")
            change(&value)
            meta.apps[app] = value
        }
    }

    /// Changes the metadata; gossips it if it changed.
    func update(_ change: (inout NodeMetadata) -> Void) {
        inner.withLock { s in
            var copy = s.metadata
            change(&copy)
            guard copy != s.metadata else { return }
            s.metadata = copy
            changed.yield(copy)
        }
    }

    /// Senders remembered for "log once": spoofed UDP sources are free, so past this many a
    /// new sender's refusal is counted but not logged.
    static let maxLogged = 1024

    /// Counts a refusal; true the first time this sender is refused for this reason (log once).
    func countRefusal(_ reason: String, from source: String) -> Bool {
        inner.withLock { s in
            s.refused[reason, default: 0] += 1
            return Self.logOnce(&s.logged, reason + "|" + source)
        }
    }

    private static func logOnce(_ logged: inout Set<String>, _ key: String) -> Bool {
        guard logged.count < maxLogged || logged.contains(key) else { return false }
        return logged.insert(key).inserted
    }

    /// Counts a refused rotation statement; true the first time for this sender and reason (log once).
    func countRotationRefusal(_ reason: String, from source: String) -> Bool {
        inner.withLock { s in
            s.refusedRotations[reason, default: 0] += 1
            return Self.logOnce(&s.logged, "rotation|" + reason + "|" + source)
        }
    }
}

