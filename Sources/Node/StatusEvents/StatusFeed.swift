import NIOCore
import ServiceLifecycle
import Synchronization

/// One producer of the node's status for every open `GET /v1/status/events` stream.
///
/// While anyone listens, it computes the status at most once per ``Settings/interval``
/// and hands it on only when its encoded bytes changed; every ``Settings/keepAlive`` it
/// ticks every stream so that proxies and browsers see the connection live. With nobody
/// listening it computes nothing. However many streams are open, the status is computed
/// by this one loop (and once for each new stream, its first event).
///
/// A slow client costs a bounded amount: each stream holds one tick, the newest, so a
/// client that falls behind skips to the newest status (a status is a snapshot: the
/// newest says all the skipped ones did). A client that has not taken a tick for
/// ``Settings/stallLimit`` (its socket full: it stopped reading) is closed, which frees
/// its slot and its buffers. At most ``Settings/maxStreams`` streams are open at once.
///
/// A service of the admin API's `Application`: it stops after the HTTP server, and then
/// closes what is still open. The streams themselves end at the server's graceful
/// shutdown (``StatusEventStream``).
final class StatusFeed: Service, Sendable, CustomStringConvertible {
    struct Settings: Sendable {
        /// How often the status is computed while a stream is open.
        var interval: Duration = .milliseconds(500)
        /// How often every stream gets a `: keep-alive` comment.
        var keepAlive: Duration = .seconds(15)
        /// Streams open at once; one more is answered 503.
        var maxStreams = 256
        /// How long a stream may leave its ticks untaken before it is closed.
        var stallLimit: Duration = .seconds(30)
        init() {}
    }

    /// What a stream is handed: the newest status and whether to show life.
    struct Tick: Sendable {
        /// Counts status changes (0: no status yet); a stream writes ``frame`` when this is not the last it wrote.
        let generation: UInt64
        /// The `event: status` frame of that status.
        let frame: ByteBuffer
        let keepAlive: Bool
    }

    /// One open stream's view of the feed.
    struct Subscription: Sendable {
        /// The stream's ticks, newest only; the first comes at once. Ends when the stream
        /// is ended (``end()``, the feed stopping or closing it).
        let ticks: AsyncStream<Tick>
        /// Finishes when the feed closes the stream: it stalled, or the feed stopped.
        let closed: AsyncStream<Void>
        fileprivate let id: Int
        fileprivate let feed: StatusFeed

        /// Ends ``ticks`` after the tick it holds.
        func end() { feed.end(id) }
        /// Forgets the stream (its slot is free again).
        func cancel() { feed.remove(id) }
    }

    private struct Subscriber {
        let ticks: AsyncStream<Tick>.Continuation
        let closed: AsyncStream<Void>.Continuation
        /// Since when ticks for this stream are dropped untaken.
        var behindSince: ContinuousClock.Instant?
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var open = true
        var latest: [UInt8]?
        var tick = Tick(generation: 0, frame: ByteBuffer(), keepAlive: false)
        /// The ticket of the computation ``latest`` came from: an older one that finishes later is not applied.
        var applied: UInt64 = 0
    }

    let settings: Settings
    /// The status JSON now, or nil when it cannot be computed (the stream keeps the last).
    private let snapshot: @Sendable () -> [UInt8]?
    private let state = Mutex(State())
    private let tickets = Atomic<UInt64>(0)
    /// Wakes ``run()`` when a stream opens.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    var description: String { "status feed" }

    init(settings: Settings = Settings(), snapshot: @escaping @Sendable () -> [UInt8]?) {
        self.settings = settings
        self.snapshot = snapshot
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Streams open now.
    var count: Int { state.withLock { $0.subscribers.count } }

    /// Whether another stream may open now (``subscribe()`` decides; this lets a caller answer 503 first).
    var hasRoom: Bool { state.withLock { $0.open && $0.subscribers.count < settings.maxStreams } }

    /// Opens a stream whose first tick is the status now; nil when ``Settings/maxStreams``
    /// are open or the feed has stopped.
    func subscribe() -> Subscription? {
        let (ticks, tickContinuation) = AsyncStream.makeStream(of: Tick.self, bufferingPolicy: .bufferingNewest(1))
        let (closed, closedContinuation) = AsyncStream.makeStream(of: Void.self)
        let id: Int? = state.withLock { s in
            guard s.open, s.subscribers.count < settings.maxStreams else { return nil }
            defer { s.nextID += 1 }
            s.subscribers[s.nextID] = Subscriber(ticks: tickContinuation, closed: closedContinuation)
            return s.nextID
        }
        guard let id else { return nil }
        // Set outside the lock: it runs remove(id), which takes the lock.
        tickContinuation.onTermination = { [weak self] _ in self?.remove(id) }
        wake.yield()
        publish(first: id, keepAlive: false, now: .now)
        return Subscription(ticks: ticks, closed: closed, id: id, feed: self)
    }

    /// Computes the status while anyone listens, until the group shuts down gracefully or
    /// is cancelled; then closes every stream still open.
    func run() async {
        await cancelWhenGracefulShutdown { [self] in
            for await _ in wakeups {
                var lastKeepAlive = ContinuousClock.now
                while count > 0 {
                    do { try await Task.sleep(for: settings.interval) } catch { return }
                    let now = ContinuousClock.now
                    let keepAlive = now - lastKeepAlive >= settings.keepAlive
                    if keepAlive { lastKeepAlive = now }
                    publish(first: nil, keepAlive: keepAlive, now: now)
                }
            }
        }
        close()
    }

    /// Computes the status; when it changed (and no newer computation was applied first),
    /// hands it to every stream; with `keepAlive`, ticks every stream anyway; and gives
    /// stream `first` its first tick.
    private func publish(first: Int?, keepAlive: Bool, now: ContinuousClock.Instant) {
        let ticket = tickets.add(1, ordering: .relaxed).newValue
        let bytes = snapshot()
        let stalled: [Subscriber] = state.withLock { s in
            var changed = false
            if let bytes, ticket > s.applied, bytes != s.latest {
                s.applied = ticket
                s.latest = bytes
                s.tick = Tick(generation: s.tick.generation + 1, frame: ServerSentEvent.event("status", data: bytes), keepAlive: false)
                changed = true
            }
            guard changed || keepAlive else {
                if let first { s.subscribers[first]?.ticks.yield(s.tick) }
                return []
            }
            let tick = Tick(generation: s.tick.generation, frame: s.tick.frame, keepAlive: keepAlive)
            var stalled: [Subscriber] = []
            for id in Array(s.subscribers.keys) {
                switch s.subscribers[id]!.ticks.yield(tick) {
                case .dropped:
                    // The stream had not taken the tick before: its client is not reading.
                    let since = s.subscribers[id]!.behindSince ?? now
                    s.subscribers[id]!.behindSince = since
                    if now - since >= settings.stallLimit, let gone = s.subscribers.removeValue(forKey: id) { stalled.append(gone) }
                case .enqueued:
                    s.subscribers[id]!.behindSince = nil
                case .terminated:
                    break
                @unknown default:
                    break
                }
            }
            return stalled
        }
        // Outside the lock: finishing runs onTermination, which takes it.
        for subscriber in stalled { Self.finish(subscriber) }
    }

    func end(_ id: Int) {
        state.withLock { $0.subscribers[id]?.ticks }?.finish()
    }

    func remove(_ id: Int) {
        if let gone = state.withLock({ $0.subscribers.removeValue(forKey: id) }) { Self.finish(gone) }
    }

    /// Closes every stream and refuses new ones.
    func close() {
        let all = state.withLock { s in
            s.open = false
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        all.forEach(Self.finish)
    }

    private static func finish(_ subscriber: Subscriber) {
        subscriber.ticks.finish()
        subscriber.closed.finish()
    }
}
