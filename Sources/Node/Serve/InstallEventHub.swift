import Foundation
import NIOCore
import Synchronization

/// The open `GET /apps/APP/events` streams and what is sent on them.
///
/// Every event is encoded once and handed to each stream of its app. A stream whose
/// client does not read (its channel stopped being writable) is closed rather than
/// buffered for: `EventSource` reconnects, and the `current` event sent on every
/// connect tells it what it missed. The number of streams is bounded.
public final class InstallEventHub: Sendable {
    /// Streams one node keeps open at most; more are refused with 503.
    public static let maxStreams = 4096
    /// What a browser waits before it reconnects after the stream ends (the node restarting).
    public static let retryMilliseconds = 2000

    /// Sends bytes on one stream; false when the stream is gone or stuck (it is dropped).
    public typealias Send = @Sendable (ByteBuffer) -> Bool

    private struct Subscriber {
        let app: String
        let send: Send
    }

    private struct Inner {
        var subscribers: [UInt64: Subscriber] = [:]
        var next: UInt64 = 0
    }

    private let inner = Mutex(Inner())

    public init() {}

    public var count: Int { inner.withLock { $0.subscribers.count } }

    /// Adds a stream for `app`; nil when the node holds as many as it may.
    public func subscribe(app: String, send: @escaping Send) -> UInt64? {
        inner.withLock { s in
            guard s.subscribers.count < Self.maxStreams else { return nil }
            s.next += 1
            s.subscribers[s.next] = Subscriber(app: app, send: send)
            return s.next
        }
    }

    public func unsubscribe(_ id: UInt64) {
        _ = inner.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Tells every stream of the app about an install or rollback.
    public func publish(_ change: InstalledReleases.Change) {
        send(ByteBuffer(string: Self.event("installed", change)), to: change.app)
    }

    /// A comment on every stream, so proxies and the idle timeout keep them open.
    public func keepAlive() {
        send(ByteBuffer(string: ": keep-alive\n\n"), to: nil)
    }

    private func send(_ bytes: ByteBuffer, to app: String?) {
        let targets = inner.withLock { s in s.subscribers.filter { app == nil || $0.value.app == app } }
        var dead: [UInt64] = []
        for (id, subscriber) in targets where !subscriber.send(bytes) { dead.append(id) }
        if !dead.isEmpty { inner.withLock { s in for id in dead { s.subscribers[id] = nil } } }
    }

    /// One event in the `text/event-stream` format: its `id` is the notice sequence, so a
    /// client that reconnects says which install it saw last (`Last-Event-ID`).
    public static func event(_ name: String, _ change: InstalledReleases.Change) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(change)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: \(name)\nid: \(change.sequence)\ndata: \(data)\n\n"
    }

    /// The start of a stream: the reconnect delay, then the version installed now (nil: none yet).
    public static func opening(_ current: InstalledReleases.Change?) -> String {
        "retry: \(retryMilliseconds)\n\n" + (current.map { event("current", $0) } ?? ": nothing installed yet\n\n")
    }
}
