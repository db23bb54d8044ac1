import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Node
import Testing

/// How long the content server keeps a connection that is waiting for a request, on the
/// embedded loop's clock.
@Suite struct ContentConnectionTests {
    static func connection() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let (channel, loop, _) = try connectionAndHandler()
        return (channel, loop)
    }

    static func connectionAndHandler() throws -> (EmbeddedChannel, EmbeddedEventLoop, ContentHTTPHandler) {
        let dir = NSTemporaryDirectory() + "content-connection-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let releases = InstalledReleases(apps: ["hello"], appsRoot: dir + "/apps", manifests: try ManifestCache(root: dir + "/manifests"))
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        let handler = ContentHTTPHandler(router: ContentRouter(releases: releases, token: nil))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, loop, handler)
    }

    static func send(_ text: String, _ channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// What the server wrote so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
        return out
    }

    @Test func aHeaderDrippedAByteAtATimeIsCutAtTheRequestWait() throws {
        let (channel, loop) = try Self.connection()
        defer { _ = try? channel.finish() }
        let request = "GET /apps/hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for byte in request.prefix(25) {
            try Self.send(String(byte), channel)
            loop.advanceTime(by: .seconds(1))
        }
        #expect(channel.isActive, "within the wait")
        loop.advanceTime(by: ContentHTTPHandler.requestWait - .seconds(25))
        #expect(!channel.isActive, "bytes keep coming, but no whole request")
    }

    @Test func aKeptAliveConnectionWaitsForItsNextRequestFromItsLastAnswer() throws {
        let (channel, loop) = try Self.connection()
        defer { _ = try? channel.finish() }
        loop.advanceTime(by: .seconds(20))
        try Self.send("GET /apps/nothing/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", channel)
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 404"))
        loop.advanceTime(by: ContentHTTPHandler.requestWait - .seconds(1))
        #expect(channel.isActive, "the wait starts again at the answer")
        try Self.send("GET /apps/nothing/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", channel)
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 404"))
        loop.advanceTime(by: ContentHTTPHandler.requestWait)
        #expect(!channel.isActive, "no third request")
    }

    /// An answer with `Connection: close` leaves no deadline scheduled: the task would hold
    /// the closed channel, its pipeline and this handler until it fired (a minute, or hours
    /// for a large file), whatever bounds the open connections.
    @Test func aClosedConnectionLeavesNoDeadlineBehind() throws {
        let (channel, _, handler) = try Self.connectionAndHandler()
        defer { _ = try? channel.finish() }
        try Self.send("GET /apps/nothing/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", channel)
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 404"))
        #expect(!channel.isActive)
        #expect(handler.deadline == nil)
    }
}
