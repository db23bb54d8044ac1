import Foundation
import Hummingbird
import Logging
import NIOEmbedded
@testable import Node
import ServiceLifecycle
import Synchronization
import Testing

/// `GET /v1/status/events` through the router, its body read as it is written: the first
/// event, changes, keep-alives, the limit, a client that stops reading, and the end at a
/// graceful shutdown. Waits have deadlines; nothing sleeps to let something happen.
@Suite struct StatusEventStreamTests {
    /// The status the feed computes; the test changes it.
    final class Status: Sendable {
        private let bytes: Mutex<[UInt8]>
        init(_ text: String) { bytes = Mutex(Array(text.utf8)) }
        func set(_ text: String) { bytes.withLock { $0 = Array(text.utf8) } }
        var snapshot: @Sendable () -> [UInt8]? { { self.bytes.withLock { $0 } } }
    }

    /// What a client received, as it arrives.
    final class Received: Sendable {
        private let state = Mutex((text: "", finished: false))
        var text: String { state.withLock { $0.text } }
        var finished: Bool { state.withLock { $0.finished } }
        /// The data of each `status` event, in order.
        var events: [String] {
            text.components(separatedBy: "\n\n").compactMap { block -> String? in
                let lines = block.split(separator: "\n")
                guard lines.first == "event: status" else { return nil }
                return lines.dropFirst().filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined(separator: "\n")
            }
        }
        var keepAlives: Int { text.components(separatedBy: ": keep-alive\n\n").count - 1 }
        var writer: Writer { Writer(received: self) }

        struct Writer: ResponseBodyWriter {
            let received: Received
            func write(_ buffer: ByteBuffer) async throws { received.state.withLock { $0.text += String(buffer: buffer) } }
            func finish(_ trailingHeaders: HTTPFields?) async throws { received.state.withLock { $0.finished = true } }
        }
    }

    /// A client that never takes a byte: every write waits until it is cancelled.
    struct StuckWriter: ResponseBodyWriter {
        func write(_ buffer: ByteBuffer) async throws { try await Task.sleep(for: .seconds(3600)) }
        func finish(_ trailingHeaders: HTTPFields?) async throws { try await Task.sleep(for: .seconds(3600)) }
    }

    static func settings(keepAlive: Duration = .seconds(3600), maxStreams: Int = 256, stallLimit: Duration = .seconds(30)) -> StatusFeed.Settings {
        var settings = StatusFeed.Settings()
        settings.interval = .milliseconds(5)
        settings.keepAlive = keepAlive
        settings.maxStreams = maxStreams
        settings.stallLimit = stallLimit
        return settings
    }

    /// `GET /v1/status/events` through a router that holds the fleet page's routes.
    static func get(_ feed: StatusFeed) async throws -> Response {
        let router = Router()
        NodeAdminAPI.addFleetPageRoutes(to: router, feed: feed)
        let request = Request(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/v1/status/events"), body: RequestBody(buffer: ByteBuffer()))
        let context = BasicRequestContext(source: .init(channel: NIOAsyncTestingChannel(), logger: Logger(label: "test")))
        return try await router.buildResponder().respond(to: request, context: context)
    }

    @Test func theFirstEventIsTheStatusAndEachChangeSendsOneMore() async throws {
        let status = Status(#"{"members":[1]}"#)
        let feed = StatusFeed(settings: Self.settings(), snapshot: status.snapshot)
        let response = try await Self.get(feed)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/event-stream")
        #expect(response.headers[.cacheControl] == "no-cache")
        let received = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await feed.run() }
            group.addTask { try await response.body.write(received.writer) }
            try await Self.until("the first event") { received.events.count == 1 }
            #expect(received.text.hasPrefix("retry: 3000\n\nevent: status\ndata: {\"members\":[1]}\n\n"), "\(received.text)")
            status.set(#"{"members":[1,2]}"#)
            try await Self.until("the change") { received.events.count == 2 }
            #expect(received.events == [#"{"members":[1]}"#, #"{"members":[1,2]}"#])
            #expect(feed.count == 1)
            group.cancelAll()
        }
        #expect(feed.count == 0, "a stream that ends gives its slot back")
    }

    @Test func anUnchangedStatusSendsKeepAlivesAndNoEvent() async throws {
        let feed = StatusFeed(settings: Self.settings(keepAlive: .milliseconds(20)), snapshot: Status("{}").snapshot)
        let response = try await Self.get(feed)
        let received = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await feed.run() }
            group.addTask { try await response.body.write(received.writer) }
            try await Self.until("three keep-alives") { received.keepAlives >= 3 }
            #expect(received.events == ["{}"], "the same bytes are not sent twice")
            group.cancelAll()
        }
    }

    @Test func manyStreamsShareOneProducer() async throws {
        let computed = Atomic<Int>(0)
        let feed = StatusFeed(settings: Self.settings()) {
            computed.add(1, ordering: .relaxed)
            return Array("{}".utf8)
        }
        let streams = (0..<20).map { _ in feed.subscribe()! }
        // One computation per new stream (its first event), then the feed's loop alone.
        #expect(computed.load(ordering: .relaxed) == 20)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await feed.run() }
            try await Self.until("the feed computes") { computed.load(ordering: .relaxed) >= 60 }
            let before = computed.load(ordering: .relaxed)
            let started = ContinuousClock.now
            try await Self.until("40 more computations") { computed.load(ordering: .relaxed) >= before + 40 }
            // 40 rounds of 5 ms: not 20 pollers (they would take a tenth of the time).
            #expect(ContinuousClock.now - started >= .milliseconds(150))
            group.cancelAll()
        }
        streams.forEach { $0.cancel() }
        #expect(feed.count == 0)
    }

    @Test func beyondTheLimitTheAnswerIs503() async throws {
        let feed = StatusFeed(settings: Self.settings(maxStreams: 1), snapshot: Status("{}").snapshot)
        let held = try #require(feed.subscribe())
        let refused = try await Self.get(feed)
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.headers[.retryAfter] == "3")
        held.cancel()
        let taken = try await Self.get(feed)
        #expect(taken.status == .ok)
        #expect(feed.count == 0, "a response whose body was never written holds no slot")
    }

    @Test func aClientThatStopsReadingIsClosed() async throws {
        let status = Status("{}")
        let feed = StatusFeed(settings: Self.settings(keepAlive: .milliseconds(5), stallLimit: .milliseconds(50)), snapshot: status.snapshot)
        let response = try await Self.get(feed)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await feed.run() }
            let cut = Flag()
            group.addTask {
                do { try await response.body.write(StuckWriter()) } catch is StatusEventStream.Cut { cut.set() }
            }
            try await Self.until("the stream is subscribed") { feed.count == 1 }
            try await Self.until("the stalled stream is closed") { cut.isSet }
            #expect(feed.count == 0)
            group.cancelAll()
        }
    }

    /// A service that writes one stream, as the admin API's server does for a request.
    struct Client: Service {
        let feed: StatusFeed
        let writer: any ResponseBodyWriter & Sendable
        let ended: Ended

        func run() async {
            let outcome: String
            do {
                try await StatusEventStream.stream(feed.subscribe()!, to: writer)
                outcome = "finished"
            } catch is StatusEventStream.Cut {
                outcome = "cut"
            } catch {
                outcome = "\(error)"
            }
            ended.value.withLock { $0 = outcome }
        }
    }

    /// How the client's stream ended, once it has.
    final class Ended: Sendable {
        let value = Mutex<String?>(nil)
    }

    /// Runs `client` and the feed in a group, shuts it down gracefully once `ready`, and
    /// returns how the stream ended and how long the group took to stop.
    func shutDown(_ feed: StatusFeed, writer: any ResponseBodyWriter & Sendable, ready: @escaping () -> Bool) async throws -> (String?, Duration) {
        let ended = Ended()
        let stopped = Flag()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [feed, Client(feed: feed, writer: writer, ended: ended)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await group.run()
                stopped.set()
            }
            try await Self.until("the stream is open") { feed.count == 1 && ready() }
            let started = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await Self.until("the group stops") { stopped.isSet }
            return (ended.value.withLock { $0 }, ContinuousClock.now - started)
        }
    }

    @Test func aGracefulShutdownEndsTheStreamAtOnce() async throws {
        let feed = StatusFeed(settings: Self.settings(), snapshot: Status("{}").snapshot)
        let received = Received()
        let (ended, took) = try await shutDown(feed, writer: received.writer) { received.events.count == 1 }
        #expect(ended == "finished")
        #expect(received.finished, "the response is finished, not cut")
        #expect(took < StatusEventStream.shutdownGrace, "\(took)")
    }

    @Test func aClientThatStoppedReadingDoesNotHoldTheShutdown() async throws {
        let feed = StatusFeed(settings: Self.settings(), snapshot: Status("{}").snapshot)
        let (ended, took) = try await shutDown(feed, writer: StuckWriter()) { true }
        #expect(ended == "cut")
        #expect(took < StatusEventStream.shutdownGrace + .seconds(4), "cut after the grace, not held: \(took)")
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    /// Polls `condition` until it holds, or fails after `seconds`.
    static func until(_ what: String, within seconds: Double = 10, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw DeadlinePassed(what: what) }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    struct DeadlinePassed: Error, CustomStringConvertible {
        let what: String
        var description: String { "not within the deadline: \(what)" }
    }
}
