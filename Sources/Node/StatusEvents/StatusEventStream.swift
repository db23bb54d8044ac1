import Hummingbird
import ServiceLifecycle

/// `GET /v1/status/events` for one client: a `retry:` hint, then an `event: status` with the
/// status now, one more each time it changes, and `: keep-alive` comments, from the
/// node's one ``StatusFeed``.
///
/// The stream ends when the admin API shuts down gracefully: the events already due are
/// written and the response is finished, so a node with open streams still stops at
/// once. A client that stopped reading would leave a write suspended for ever and hold the
/// shutdown; so the writes run in a child task, which is cancelled (and the connection
/// closed) when the stream has not ended ``shutdownGrace`` after the shutdown began, or
/// when the feed closed the stream as stalled.
enum StatusEventStream {
    /// The `retry:` hint: how long a browser waits before it reconnects.
    static let retryMilliseconds = 3000
    /// How long a stream may take to end at shutdown before its connection is cut.
    static let shutdownGrace: Duration = .seconds(1)

    /// The response: the stream, or 503 when the feed has no room (or has stopped).
    static func response(_ feed: StatusFeed) -> Response {
        guard feed.hasRoom else { return full(feed) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            // Subscribed when the body is written, so that a response never sent holds no slot.
            body: ResponseBody { writer in
                guard let subscription = feed.subscribe() else {
                    // The last slot went between the check and now: the client retries.
                    try await writer.write(ServerSentEvent.retry(milliseconds: retryMilliseconds))
                    try await writer.finish(nil)
                    return
                }
                try await stream(subscription, to: writer)
            })
    }

    static func full(_ feed: StatusFeed) -> Response {
        let message = "{\"error\":\"too many status streams are open (at most \(feed.settings.maxStreams)): try again later\"}\n"
        return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "3"],
                        body: .init(byteBuffer: ByteBuffer(string: message)))
    }

    /// Writes the stream until it ends; throws (and so closes the connection) when it had to be cut.
    static func stream(_ subscription: StatusFeed.Subscription, to writer: any ResponseBodyWriter) async throws {
        defer { subscription.cancel() }
        let handoff = WriterHandoff(writer)
        let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await handoff.writer.write(ServerSentEvent.retry(milliseconds: retryMilliseconds))
                var written: UInt64 = 0
                for await tick in subscription.ticks {
                    var out = ByteBuffer()
                    if tick.generation != written {
                        out.writeImmutableBuffer(tick.frame)
                        written = tick.generation
                    }
                    if tick.keepAlive { out.writeImmutableBuffer(ServerSentEvent.keepAlive) }
                    if out.readableBytes > 0 { try await handoff.writer.write(out) }
                }
                try await handoff.writer.finish(nil)
                return true
            }
            group.addTask {
                // Until the admin API shuts down or the feed closes the stream (or the client left).
                for await _ in subscription.closed.cancelOnGracefulShutdown() {}
                subscription.end()
                try? await Task.sleep(for: shutdownGrace)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard finished else { throw Cut() }
    }

    /// The stream did not end in time: Hummingbird closes the connection.
    struct Cut: Error {}
}

/// Hummingbird lends the body writer `inout` to the task that answers; the stream writes
/// from a child task so that a write suspended on a client that stopped reading can be
/// cancelled. One task uses the writer at a time (the writing child; the parent only
/// waits for the group), which is why the conformance is unchecked.
private final class WriterHandoff: @unchecked Sendable {
    var writer: any ResponseBodyWriter
    init(_ writer: any ResponseBodyWriter) { self.writer = writer }
}
