import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
@testable import Origin
import Testing

/// ``LatestFastPath`` alone in a pipeline (`EmbeddedChannel`): which requests it answers
/// itself, which it passes on to the router, and that answers keep the requests' order.
@Suite struct LatestFastPathTests {
    static let body = Array("notice text\n".utf8)
    static let latest = "/v1/apps/hello-fleet/channels/stable/latest"

    static func channel() throws -> EmbeddedChannel {
        let board = NoticeBoard([StoredNotice(app: "hello-fleet", channel: "stable", sequence: 4, body: body)])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(LatestFastPath(board: board, metrics: OriginMetrics(), cacheControl: "public, max-age=5"))
        return channel
    }

    static func request(_ path: String, method: HTTPRequest.Method = .get, fields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: method, scheme: "http", authority: "origin", path: path, headerFields: fields)
    }

    /// Sends a whole request (head and end) into the pipeline.
    static func send(_ channel: EmbeddedChannel, _ request: HTTPRequest) throws {
        try channel.writeInbound(HTTPRequestPart.head(request))
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// The request heads passed on to the router.
    static func passedOn(_ channel: EmbeddedChannel) throws -> [String] {
        var paths: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            if case .head(let head) = part { paths.append(head.path ?? "") }
        }
        return paths
    }

    /// The answers written by the fast path: status, headers and body of each.
    static func answered(_ channel: EmbeddedChannel) throws -> [(status: Int, fields: HTTPFields, body: [UInt8])] {
        var answers: [(Int, HTTPFields, [UInt8])] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let head): answers.append((head.status.code, head.headerFields, []))
            case .body(let bytes): answers[answers.count - 1].2 += Array(buffer: bytes)
            case .end: break
            }
        }
        return answers
    }

    static let tag = StoredNotice(app: "hello-fleet", channel: "stable", sequence: 4, body: body).etag

    @Test func theLatestNoticeIsAnsweredOnTheEventLoop() throws {
        let channel = try Self.channel()
        try Self.send(channel, Self.request(Self.latest))
        try Self.send(channel, Self.request(Self.latest, fields: [.ifNoneMatch: Self.tag]))
        try Self.send(channel, Self.request(Self.latest, fields: [.ifNoneMatch: "\"3\", \(Self.tag)"]))
        try Self.send(channel, Self.request(Self.latest, fields: [.ifNoneMatch: "\"4\", *"]))
        try Self.send(channel, Self.request(Self.latest, fields: [.ifNoneMatch: "\"4\""]))
        let answers = try Self.answered(channel)
        #expect(answers.map(\.status) == [200, 304, 304, 304, 200])
        #expect(answers[0].body == Self.body)
        #expect(Self.tag.hasPrefix("\"4-") && answers[0].fields[.eTag] == Self.tag && answers[0].fields[.cacheControl] == "public, max-age=5")
        #expect(answers[0].fields[.contentLength] == String(Self.body.count) && answers[0].fields[.date] != nil)
        #expect(answers[1].body.isEmpty && answers[1].fields[.eTag] == Self.tag)
        #expect(try Self.passedOn(channel).isEmpty)
    }

    /// Two apps at the same sequence on one connection: each answer carries its own
    /// body's length and tag (headers once cached by sequence alone gave the second
    /// answer the first one's `Content-Length`).
    @Test func twoNoticesAtTheSameSequenceKeepTheirOwnHeaders() throws {
        let long = Array("a longer notice text for another app\n".utf8)
        let board = NoticeBoard([StoredNotice(app: "hello-fleet", channel: "stable", sequence: 4, body: Self.body),
                                 StoredNotice(app: "other", channel: "stable", sequence: 4, body: long)])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(LatestFastPath(board: board, metrics: OriginMetrics(), cacheControl: "public, max-age=5"))
        try Self.send(channel, Self.request(Self.latest))
        try Self.send(channel, Self.request("/v1/apps/other/channels/stable/latest"))
        try Self.send(channel, Self.request(Self.latest))
        let answers = try Self.answered(channel)
        #expect(answers.map(\.body) == [Self.body, long, Self.body])
        #expect(answers.map { $0.fields[.contentLength] } == [String(Self.body.count), String(long.count), String(Self.body.count)])
        #expect(answers[0].fields[.eTag] != answers[1].fields[.eTag])
    }

    /// A socket that cannot take more writes gets no answers queued on the event loop:
    /// its requests go to the router, whose writer waits and stops reading.
    @Test func aConnectionThatCannotTakeWritesIsPassedToTheRouter() throws {
        let channel = try Self.channel()
        channel.isWritable = false
        try Self.send(channel, Self.request(Self.latest))
        try Self.send(channel, Self.request(Self.latest))
        #expect(try Self.answered(channel).isEmpty)
        #expect(try Self.passedOn(channel) == [Self.latest, Self.latest])
    }

    /// Everything the fast path does not answer the same as the router goes to the router untouched.
    static let forRouter: [(String, HTTPRequest)] = [
        ("a long-poll", request(latest + "?after=4&wait=30")),
        ("another channel", request("/v1/apps/hello-fleet/channels/beta/latest")),
        ("an unknown app", request("/v1/apps/nobody/channels/stable/latest")),
        ("a bad app name", request("/v1/apps/..%2Fetc/channels/stable/latest")),
        ("HEAD", request(latest, method: .head)),
        ("POST", request(latest, method: .post)),
        ("Connection: close", request(latest, fields: [.connection: "close"])),
        ("another route", request("/v1/apps/hello-fleet")),
    ]

    @Test(arguments: forRouter) func whatTheRouterAnswers(_ name: String, _ request: HTTPRequest) throws {
        let channel = try Self.channel()
        try Self.send(channel, request)
        #expect(try Self.passedOn(channel) == [request.path ?? ""])
        #expect(try Self.answered(channel).isEmpty)
    }

    /// While the router still owes an answer on this connection, later requests go to it too,
    /// so that no answer overtakes an earlier one; once it answered, the fast path takes over again.
    @Test func answersKeepTheOrderOfPipelinedRequests() throws {
        let channel = try Self.channel()
        try Self.send(channel, Self.request(Self.latest + "?after=4&wait=1"))
        try Self.send(channel, Self.request(Self.latest))
        #expect(try Self.passedOn(channel) == [Self.latest + "?after=4&wait=1", Self.latest])
        #expect(try Self.answered(channel).isEmpty)
        // The router answers both, in order.
        for status in [HTTPResponse.Status.noContent, .ok] {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        #expect(try Self.answered(channel).map(\.status) == [204, 200])
        try Self.send(channel, Self.request(Self.latest))
        #expect(try Self.answered(channel).map(\.status) == [200])
        #expect(try Self.passedOn(channel).isEmpty)
    }
}
