import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Refuses every admin request that a web page in a local browser could make.
///
/// Loopback alone does not mean "a local tool": a page the operator has open can
/// POST to `127.0.0.1` (a `text/plain` body needs no CORS pre-flight) and, through
/// DNS rebinding, even read the answers. So a request is refused with 403 when it
/// carries `Origin` or `Sec-Fetch-Site` (browsers add them, tools do not), when its
/// `Host` is not the address the API is bound to (a rebound name is not), or when
/// it has a body whose `Content-Type` is not `application/json` or
/// `application/octet-stream` (a page can send those only after a pre-flight that
/// this API never answers). A bearer token stays optional on loopback.
///
/// One exception, for the fleet page: `GET`/`HEAD` of `/ui` and `/v1/status/events` from
/// the page itself or the address bar (``AdminAddress/admitsBrowser(_:)``). The `Host`
/// check still applies to them.
struct AdminRequestGuard<Context: RequestContext>: RouterMiddleware {
    let address: AdminAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = address.refusal(for: request.head) {
            return Response(status: .forbidden, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(refusal)\"}\n")))
        }
        return try await next(request, context)
    }
}

/// The host and port the admin API listens on, and the `Host` values that name it.
final class AdminAddress: Sendable {
    /// The bound host, without brackets, lower case.
    let host: String
    private let boundPort: Atomic<Int>

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    /// What a legitimate client sends with a body: JSON (rollback) or raw bytes (notices, manifests, chunks, statements).
    static let bodyTypes: Set<String> = ["application/json", "application/octet-stream"]

    init(host: String, port: Int) {
        self.host = host.trimmingCharacters(in: ["[", "]"]).lowercased()
        boundPort = Atomic(port)
    }

    /// The port once bound (the one asked for until then; 0 matches nothing).
    var port: Int {
        get { boundPort.load(ordering: .relaxed) }
        set { boundPort.store(newValue, ordering: .relaxed) }
    }

    var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
    var isWildcard: Bool { host == "0.0.0.0" || host == "::" }

    /// Why `request` is refused, or nil when it may go on: one line, no quotes.
    func refusal(for request: HTTPRequest) -> String? {
        if request.headerFields[.origin] != nil || request.headerFields[Self.secFetchSite] != nil, !admitsBrowser(request) {
            return "browser requests are refused: the admin API is for local tools (an Origin or Sec-Fetch-Site header came)"
        }
        guard let authority = request.authority, accepts(authority: authority) else {
            return "Host \(printableExcerpt(request.authority ?? "(none)")) is not the admin API's address"
        }
        if request.method == .post || request.method == .put || request.method == .patch || request.headerFields[.contentType] != nil {
            let type = request.headerFields[.contentType].map(Self.mediaType) ?? ""
            guard Self.bodyTypes.contains(type) else {
                return "Content-Type \(printableExcerpt(type.isEmpty ? "(none)" : type)) is refused: send application/json or application/octet-stream"
            }
        }
        return nil
    }

    /// Whether a `Host` value names this API: the bound host and port; on loopback also
    /// `localhost`; bound to every address, any IP literal (a rebound DNS name is never one).
    func accepts(authority: String) -> Bool {
        let text = authority.lowercased()
        let (name, port): (String, Int)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            name = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { port = 80 } else if rest.hasPrefix(":"), let p = Int(rest.dropFirst()) { port = p } else { return false }
        } else if let colon = text.lastIndex(of: ":") {
            guard let p = Int(text[text.index(after: colon)...]) else { return false }
            (name, port) = (String(text[..<colon]), p)
        } else {
            (name, port) = (text, 80)
        }
        guard port == self.port, port != 0 else { return false }
        if name == host { return true }
        if isLoopback {
            return name == "localhost" || (host == "localhost" && (name == "127.0.0.1" || name == "::1"))
        }
        if isWildcard { return name == "localhost" || Self.isIPLiteral(name) }
        return false
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func mediaType(_ value: String) -> String {
        (value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func isIPLiteral(_ name: String) -> Bool {
        if name.contains(":") { return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
