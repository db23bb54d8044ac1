import NIOCore
import Synchronization

/// Whether the client of one connection is still there, for the requests on it: a
/// long-poll ends when its client leaves (``ConnectionGuard`` says so) rather than
/// holding its connection for the whole wait.
///
/// One per connection, found by its channel; each wait registers and unregisters, so
/// nothing piles up on a connection that stays open through many long-polls.
final class ClientPresence: Sendable {
    private struct State {
        var left = false
        var next: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before they registered: they must not register after.
        var cancelledEarly: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// The presence of each open connection's client, by channel.
    private static let open = Mutex<[ObjectIdentifier: ClientPresence]>([:])

    static func of(_ channel: any Channel) -> ClientPresence? {
        open.withLock { $0[ObjectIdentifier(channel)] }
    }

    static func register(_ presence: ClientPresence, for channel: any Channel) {
        open.withLock { $0[ObjectIdentifier(channel)] = presence }
    }

    static func unregister(_ channel: any Channel) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var hasLeft: Bool { state.withLock { $0.left } }

    /// The client has gone (or closed its side): every wait on it ends, and later ones at once.
    func leave() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.left = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the client has left, or when the calling task is cancelled.
    func untilLeft() async {
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.cancelledEarly.remove(id) != nil || s.left { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                if !s.left { s.cancelledEarly.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}
