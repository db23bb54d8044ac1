import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Node
import Testing

/// The admin API's guards: which requests ``AdminAddress`` refuses (a table of requests), and
/// what ``AdminRequestGuard`` and ``AdminTokenMiddleware`` answer in front of a router
/// (HummingbirdTesting, in the test process). The process test `AdminGuardTests` keeps one
/// run against a real node and the CLI.
@Suite struct AdminGuardRouteTests {
    /// A request and whether the admin API bound to 127.0.0.1:7400 takes it.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var method = HTTPRequest.Method.post
        var authority: String? = "127.0.0.1:7400"
        var fields: HTTPFields = [.contentType: "application/octet-stream"]
        /// The start of the refusal, or nil when the request may go on.
        let refused: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "the CLI's notice", refused: nil),
        Case(name: "JSON with a charset", fields: [.contentType: "application/json; charset=utf-8"], refused: nil),
        Case(name: "a GET without a body type", method: .get, fields: [:], refused: nil),
        Case(name: "localhost for a loopback address", authority: "localhost:7400", refused: nil),
        Case(name: "an Origin header", fields: [.contentType: "application/octet-stream", .origin: "http://evil.example"],
             refused: "browser requests are refused"),
        Case(name: "Sec-Fetch-Site", fields: [.contentType: "application/octet-stream", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"],
             refused: "browser requests are refused"),
        Case(name: "another host", authority: "evil.example", refused: "Host evil.example is not"),
        Case(name: "another host with the port", authority: "evil.example:7400", refused: "Host evil.example:7400 is not"),
        Case(name: "the right host, another port", authority: "127.0.0.1:7401", refused: "Host 127.0.0.1:7401 is not"),
        Case(name: "no host", authority: nil, refused: "Host (none) is not"),
        Case(name: "a GET from a rebound name", method: .get, authority: "rebound.evil.example:7400", fields: [:], refused: "Host rebound.evil.example:7400"),
        Case(name: "text/plain", fields: [.contentType: "text/plain"], refused: "Content-Type text/plain is refused"),
        Case(name: "a form", fields: [.contentType: "application/x-www-form-urlencoded"], refused: "Content-Type application/x-www-form-urlencoded"),
        Case(name: "a POST without Content-Type", fields: [:], refused: "Content-Type (none) is refused"),
        Case(name: "a quote in the host", authority: "a\"b:7400", refused: "Host ab:7400 is not"),
    ]

    @Test(arguments: cases) func whichRequestsTheAdminAPIRefuses(_ c: Case) {
        let address = AdminAddress(host: "127.0.0.1", port: 7400)
        let request = HTTPRequest(method: c.method, scheme: "http", authority: c.authority, path: "/v1/notices", headerFields: c.fields)
        let refusal = address.refusal(for: request)
        if let expected = c.refused {
            #expect(refusal?.hasPrefix(expected) == true, "\(refusal ?? "taken")")
            #expect(refusal?.contains("\"") == false && refusal?.contains("\n") == false, "one line, no quotes: it goes into JSON as is")
        } else {
            #expect(refusal == nil)
        }
    }

    /// Names a bound wildcard address accepts: IP literals and localhost, never a DNS name.
    @Test(arguments: [("0.0.0.0:7400", true), ("10.1.2.3:7400", true), ("[::1]:7400", true), ("localhost:7400", true),
                      ("node.example:7400", false), ("10.1.2.3:80", false)])
    func aWildcardAddressAcceptsIPLiteralsOnly(_ authority: String, _ accepted: Bool) {
        #expect(AdminAddress(host: "0.0.0.0", port: 7400).accepts(authority: authority) == accepted)
    }

    // MARK: - In front of a router

    /// A router guarded as the node's admin API is, with stand-in routes. HummingbirdTesting's router
    /// client names the host `localhost` (port 80).
    static func application(token: String?) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: AdminRequestGuard(address: AdminAddress(host: "127.0.0.1", port: 80)))
        if let token { router.add(middleware: AdminTokenMiddleware(token: token)) }
        router.get("/healthz") { _, _ in "ok\n" }
        router.post("/v1/notices") { _, _ in Response(status: .created) }
        return Application(router: router)
    }

    struct Answer: Sendable, CustomTestStringConvertible {
        let name: String
        let token: String?
        let method: HTTPRequest.Method
        let path: String
        let fields: HTTPFields
        let status: Int
        var testDescription: String { name }
    }

    static let octets: HTTPFields = [.contentType: "application/octet-stream"]
    static let answers: [Answer] = [
        Answer(name: "no token set: taken", token: nil, method: .post, path: "/v1/notices", fields: octets, status: 201),
        Answer(name: "no token set, from a browser", token: nil, method: .post, path: "/v1/notices",
               fields: [.contentType: "application/octet-stream", .origin: "null"], status: 403),
        Answer(name: "no token set, text/plain", token: nil, method: .post, path: "/v1/notices", fields: [.contentType: "text/plain"], status: 403),
        Answer(name: "the right token", token: "s3cret", method: .post, path: "/v1/notices",
               fields: [.contentType: "application/octet-stream", .authorization: "Bearer s3cret"], status: 201),
        Answer(name: "no token given", token: "s3cret", method: .post, path: "/v1/notices", fields: octets, status: 401),
        Answer(name: "a wrong token", token: "s3cret", method: .post, path: "/v1/notices",
               fields: [.contentType: "application/octet-stream", .authorization: "Bearer s3cre"], status: 401),
        Answer(name: "the token without Bearer", token: "s3cret", method: .post, path: "/v1/notices",
               fields: [.contentType: "application/octet-stream", .authorization: "s3cret"], status: 401),
        Answer(name: "healthz needs no token", token: "s3cret", method: .get, path: "/healthz", fields: [:], status: 200),
        Answer(name: "the guard before the token", token: "s3cret", method: .post, path: "/v1/notices",
               fields: [.contentType: "text/plain", .authorization: "Bearer s3cret"], status: 403),
    ]

    @Test(arguments: answers) func whatTheGuardsAnswer(_ a: Answer) async throws {
        try await Self.application(token: a.token).test(.router) { client in
            let response = try await client.execute(uri: a.path, method: a.method, headers: a.fields, body: a.method == .post ? ByteBuffer(bytes: [1]) : nil)
            #expect(response.status.code == a.status)
            guard a.status >= 400 else { return }
            let text = String(buffer: response.body)
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
            #expect(json?["error"]?.isEmpty == false, "one JSON error: \(text)")
            #expect(!text.dropLast().contains("\n"), "one line")
            if a.status == 401 { #expect(response.headers[.wwwAuthenticate] == "Bearer") }
        }
    }
}
