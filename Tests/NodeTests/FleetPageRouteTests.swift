import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Node
import Testing

/// The fleet page's routes behind the admin API's guards: which browser requests
/// ``AdminAddress`` lets through (only `GET`/`HEAD` of `/ui` and `/v1/status/events`, from
/// the page or the address bar), the token in the query, and the page itself.
@Suite struct FleetPageRouteTests {
    // MARK: - The rule, request by request

    /// A request to the admin API bound to `host`:7400 and whether it is taken.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var host = "127.0.0.1"
        var method = HTTPRequest.Method.get
        var path = "/ui"
        var authority = "127.0.0.1:7400"
        var fields: HTTPFields = [:]
        let taken: Bool
        var testDescription: String { name }
    }

    static let site = HTTPField.Name("Sec-Fetch-Site")!
    static let cases: [Case] = [
        Case(name: "typed in the address bar", fields: [site: "none"], taken: true),
        Case(name: "the page's own request", path: "/v1/status/events", fields: [site: "same-origin"], taken: true),
        Case(name: "with the API's own Origin", path: "/v1/status/events", fields: [site: "same-origin", .origin: "http://127.0.0.1:7400"], taken: true),
        Case(name: "Origin as localhost, a form the Host check takes", path: "/v1/status/events", authority: "localhost:7400",
             fields: [.origin: "http://localhost:7400"], taken: true),
        Case(name: "HEAD of the page", method: .head, fields: [site: "none"], taken: true),
        Case(name: "the token in the query", path: "/ui?token=abc", fields: [site: "none"], taken: true),
        Case(name: "from another site", fields: [site: "cross-site"], taken: false),
        Case(name: "from another port of the same host (same-site)", fields: [site: "same-site"], taken: false),
        Case(name: "two Sec-Fetch-Site values", fields: [site: "none", site: "cross-site"], taken: false),
        Case(name: "another Origin", path: "/v1/status/events", fields: [.origin: "http://evil.example"], taken: false),
        Case(name: "the API's port on another host", path: "/v1/status/events", fields: [.origin: "http://evil.example:7400"], taken: false),
        Case(name: "Origin on another port", path: "/v1/status/events", fields: [.origin: "http://127.0.0.1:7401"], taken: false),
        Case(name: "Origin with https", path: "/v1/status/events", fields: [.origin: "https://127.0.0.1:7400"], taken: false),
        Case(name: "Origin null (a sandboxed page)", path: "/v1/status/events", fields: [.origin: "null"], taken: false),
        Case(name: "same-origin but another Origin", path: "/v1/status/events", fields: [site: "same-origin", .origin: "http://evil.example"], taken: false),
        Case(name: "a rebound name", authority: "rebound.evil.example:7400", fields: [site: "none"], taken: false),
        Case(name: "/v1/status from the page", path: "/v1/status", fields: [site: "same-origin"], taken: false),
        Case(name: "/metrics from the page", path: "/metrics", fields: [site: "same-origin"], taken: false),
        Case(name: "a path that starts like the page", path: "/ui/../v1/status", fields: [site: "none"], taken: false),
        Case(name: "a POST from the page", method: .post, path: "/v1/notices",
             fields: [site: "same-origin", .origin: "http://127.0.0.1:7400", .contentType: "application/octet-stream"], taken: false),
        Case(name: "a POST to the page's path", method: .post, fields: [site: "same-origin", .contentType: "application/json"], taken: false),
        Case(name: "wildcard: Origin is the Host", host: "0.0.0.0", path: "/v1/status/events", authority: "10.0.0.5:7400",
             fields: [.origin: "http://10.0.0.5:7400"], taken: true),
        Case(name: "wildcard: a page on another machine's same port", host: "0.0.0.0", path: "/v1/status/events", authority: "10.0.0.5:7400",
             fields: [.origin: "http://10.0.0.9:7400"], taken: false),
    ]

    @Test(arguments: cases) func whichBrowserRequestsTheAdminAPITakes(_ c: Case) {
        let address = AdminAddress(host: c.host, port: 7400)
        let request = HTTPRequest(method: c.method, scheme: "http", authority: c.authority, path: c.path, headerFields: c.fields)
        let refusal = address.refusal(for: request)
        #expect((refusal == nil) == c.taken, "\(refusal ?? "taken")")
    }

    // MARK: - In front of a router

    /// The guards and the fleet page's routes, with stand-ins for the rest. The feed has no
    /// room, so the event stream answers 503 at once: a 503 means the guards let it through.
    /// HummingbirdTesting's router client names the host `localhost` (port 80).
    static func application(token: String?) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: AdminRequestGuard(address: AdminAddress(host: "127.0.0.1", port: 80)))
        if let token { router.add(middleware: AdminTokenMiddleware(token: token)) }
        router.get("/v1/status") { _, _ in "{}" }
        router.post("/v1/notices") { _, _ in Response(status: .created) }
        var settings = StatusFeed.Settings()
        settings.maxStreams = 0
        NodeAdminAPI.addFleetPageRoutes(to: router, feed: StatusFeed(settings: settings) { Array("{}".utf8) })
        return Application(router: router)
    }

    struct Answer: Sendable, CustomTestStringConvertible {
        let name: String
        var token: String? = nil
        var method = HTTPRequest.Method.get
        let path: String
        var fields: HTTPFields = [:]
        let status: Int
        var testDescription: String { name }
    }

    static let token = "s3cret-token-0123456789"
    static let answers: [Answer] = [
        Answer(name: "the page, typed in", path: "/ui", fields: [site: "none"], status: 200),
        Answer(name: "the page, from a tool", path: "/ui", status: 200),
        Answer(name: "its HEAD", method: .head, path: "/ui", fields: [site: "none"], status: 200),
        Answer(name: "the stream, from the page", path: "/v1/status/events", fields: [site: "same-origin"], status: 503),
        Answer(name: "the stream with the API's Origin", path: "/v1/status/events", fields: [.origin: "http://localhost"], status: 503),
        Answer(name: "the page from another site", path: "/ui", fields: [site: "cross-site"], status: 403),
        Answer(name: "the stream with another Origin", path: "/v1/status/events", fields: [.origin: "http://evil.example"], status: 403),
        Answer(name: "the status from the page", path: "/v1/status", fields: [site: "same-origin"], status: 403),
        Answer(name: "a POST from the page", method: .post, path: "/v1/notices",
               fields: [site: "same-origin", .origin: "http://localhost", .contentType: "application/octet-stream"], status: 403),
        Answer(name: "the token in the query", token: token, path: "/ui?token=\(token)", fields: [site: "none"], status: 200),
        Answer(name: "the token in the query, to the stream", token: token, path: "/v1/status/events?token=\(token)", status: 503),
        Answer(name: "the token as a bearer header", token: token, path: "/ui", fields: [.authorization: "Bearer \(token)"], status: 200),
        Answer(name: "a wrong token in the query", token: token, path: "/ui?token=s3cret-token-012345678", status: 401),
        Answer(name: "no token", token: token, path: "/ui", fields: [site: "none"], status: 401),
        Answer(name: "the token in the query of another route", token: token, path: "/v1/status?token=\(token)", status: 401),
        Answer(name: "the token in the query of a POST", token: token, method: .post, path: "/v1/notices?token=\(token)",
               fields: [.contentType: "application/octet-stream"], status: 401),
        Answer(name: "a percent-encoded token", token: "a b+c/d%e&f=0123456789", path: "/ui?token=a%20b%2Bc%2Fd%25e%26f%3D0123456789", status: 200),
    ]

    @Test(arguments: answers) func whatTheGuardsAnswer(_ a: Answer) async throws {
        try await Self.application(token: a.token).test(.router) { client in
            let response = try await client.execute(uri: a.path, method: a.method, headers: a.fields, body: a.method == .post ? ByteBuffer(bytes: [1]) : nil)
            #expect(response.status.code == a.status, "\(String(buffer: response.body))")
            if a.status == 503 { #expect(response.headers[.retryAfter] != nil) }
        }
    }

    // MARK: - The page

    @Test func thePageIsOneSelfContainedHTMLFileWithItsTestHooks() async throws {
        try await Self.application(token: nil).test(.router) { client in
            let response = try await client.execute(uri: "/ui", method: .get, headers: [Self.site: "none"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-cache")
            let policy = try #require(response.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"), "\(policy)")
            let html = String(buffer: response.body)
            for hook in [#"id="member-count""#, #"id="connection""#, #""data-app""#, #""data-version""#, #""data-percent""#,
                         #""bar""#, "new EventSource(", "/v1/status/events", "prefers-color-scheme"] {
                #expect(html.contains(hook), "the page has \(hook)")
            }
            #expect(!html.contains("http://") && !html.contains("https://"), "nothing from another origin")
            #expect(!html.contains("<script src") && !html.contains("stylesheet"), "inline script and style only")
            #expect(!html.contains("innerHTML"), "data from the status is set as text, never as HTML")
            #expect(html.utf8.count < 32 << 10, "small: \(html.utf8.count) bytes")
        }
    }
}
