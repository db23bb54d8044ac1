import Synchronization

/// The newest notice of every app and channel, in memory, and the clients
/// long-polling for a newer one.
///
/// `latest` is the origin's hot path: it reads one dictionary under a lock,
/// never the database. A publish updates the board after its transaction
/// commits and wakes every waiter whose `after` it passes.
///
/// A long-poll whose `after` is above what the board holds waits as any other does (a node
/// may hold a notice given it directly before the origin had it, and needs nothing older),
/// except when a rotation lowers the board below it: the notices above the retired key's
/// floor were never the publisher's, and no notice published next may pass them, so those
/// waiters are answered at once with what the board now holds (or told there is none).
public final class NoticeBoard: Sendable {
    struct Key: Hashable {
        let app: String
        let channel: String
    }

    private struct Waiter {
        let key: Key
        let after: UInt64
        let continuation: CheckedContinuation<WaitResult, Never>
    }

    private struct State {
        var latest: [Key: StoredNotice] = [:]
        var waiters: [UInt64: Waiter] = [:]
        /// Ids handed out whose waiter is not registered yet, and those of
        /// them cancelled in that window.
        var unregistered: Set<UInt64> = []
        var cancelledBeforeRegistration: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    /// What a long-poll ended with.
    public enum WaitResult: Sendable, Equatable {
        case notice(StoredNotice)
        /// The board holds no notice of the app and channel, and `after` is above 0: answered
        /// at once, as `latest` without a query is.
        case noneHeld
        case timedOut
        /// The wait was cancelled: the origin is shutting down.
        case cancelled
    }

    /// The answer a waiter after `after` gets when a rotation has lowered the board: the newest
    /// notice when it differs from `after`; ``WaitResult/noneHeld`` when there is none and
    /// `after` is past 0. Nil: go on waiting.
    private static func afterRotation(_ current: StoredNotice?, after: UInt64) -> WaitResult? {
        guard let current else { return after > 0 ? .noneHeld : nil }
        return current.sequence == after ? nil : .notice(current)
    }

    private let state = Mutex(State())

    public init(_ notices: [StoredNotice] = []) {
        state.withLock { s in
            for n in notices { s.latest[Key(app: n.app, channel: n.channel)] = n }
        }
    }

    public func latest(app: String, channel: String) -> StoredNotice? {
        state.withLock { $0.latest[Key(app: app, channel: channel)] }
    }

    /// Records a newly accepted notice and wakes the waiters it satisfies.
    public func publish(_ notice: StoredNotice) {
        let key = Key(app: notice.app, channel: notice.channel)
        let woken: [CheckedContinuation<WaitResult, Never>] = state.withLock { s in
            if let current = s.latest[key], current.sequence >= notice.sequence { return [] }
            s.latest[key] = notice
            var woken: [CheckedContinuation<WaitResult, Never>] = []
            for (id, waiter) in s.waiters where waiter.key == key && notice.sequence > waiter.after {
                woken.append(waiter.continuation)
                s.waiters[id] = nil
            }
            return woken
        }
        for continuation in woken { continuation.resume(returning: .notice(notice)) }
    }

    /// Replaces what the board holds for `app` by `notices` (its newest per channel once a
    /// rotation dropped what the retired key signed above its floor). The board's sequences
    /// may go down here, and only here: the notices removed were never the publisher's.
    /// Waiters of the app now past what the board holds are answered at once.
    public func replace(app: String, with notices: [StoredNotice]) {
        let woken: [(CheckedContinuation<WaitResult, Never>, WaitResult)] = state.withLock { s in
            var before: [Key: UInt64] = [:]
            for key in s.latest.keys where key.app == app {
                before[key] = s.latest[key]?.sequence
                s.latest[key] = nil
            }
            for n in notices where n.app == app { s.latest[Key(app: n.app, channel: n.channel)] = n }
            var woken: [(CheckedContinuation<WaitResult, Never>, WaitResult)] = []
            // Only where the board went down: a statement posted again (`known`) changes
            // nothing, and must not send every poll waiting past the board off to back off.
            for (id, waiter) in s.waiters where waiter.key.app == app {
                guard let was = before[waiter.key], was > s.latest[waiter.key]?.sequence ?? 0,
                      let result = Self.afterRotation(s.latest[waiter.key], after: waiter.after) else { continue }
                woken.append((waiter.continuation, result))
                s.waiters[id] = nil
            }
            return woken
        }
        for (continuation, result) in woken { continuation.resume(returning: result) }
    }

    /// Number of clients waiting now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Waits up to `seconds` for a notice of `app`/`channel` newer than `after`.
    /// Returns at once when one is already there; ends early on cancellation.
    public func wait(app: String, channel: String, after: UInt64, seconds: Int) async -> WaitResult {
        if let current = latest(app: app, channel: channel), current.sequence > after { return .notice(current) }
        guard seconds > 0 else { return .timedOut }
        return await withTaskGroup(of: WaitResult.self) { group in
            group.addTask { await self.waitForPublish(Key(app: app, channel: channel), after: after) }
            group.addTask {
                do {
                    try await Task.sleep(for: .seconds(seconds))
                    return .timedOut
                } catch {
                    return .cancelled
                }
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            return first
        }
    }

    private func waitForPublish(_ key: Key, after: UInt64) async -> WaitResult {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            s.unregistered.insert(s.nextID)
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WaitResult, Never>) in
                let immediate: WaitResult? = state.withLock { s in
                    s.unregistered.remove(id)
                    if s.cancelledBeforeRegistration.remove(id) != nil { return .cancelled }
                    // A publish between the caller's check and now must not be missed.
                    if let current = s.latest[key], current.sequence > after { return .notice(current) }
                    s.waiters[id] = Waiter(key: key, after: after, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<WaitResult, Never>? = state.withLock { s in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter.continuation }
                if s.unregistered.contains(id) { s.cancelledBeforeRegistration.insert(id) }
                return nil
            }
            continuation?.resume(returning: .cancelled)
        }
    }
}
