import HTTPTypes

/// The one exception to "no browser requests": the fleet page and its event stream.
///
/// `GET /ui` and `GET /v1/status/events` only read, and what they show is what
/// `GET /v1/status` answers any local tool. A browser may load them when the request
/// comes from the address bar or from the page itself, and from nowhere else:
///
/// - `Sec-Fetch-Site`, when sent, is `none` (a typed URL or a bookmark) or `same-origin`
///   (the page's own `EventSource`); `same-site` is refused too, because a site ignores
///   the port and another web app on `localhost` is the same site;
/// - `Origin`, when sent, is this API's own origin: `http://` and a `Host` value that
///   ``AdminAddress/accepts(authority:)`` takes. Bound to every address, where any IP
///   literal passes the `Host` check, the origin must be the request's own `Host`, so a
///   page served on the same port of another machine is not mistaken for this one.
///
/// The `Host` check (against DNS rebinding) stays for every route, these two included,
/// so a rebound name never reads the status through them. Every other route and method
/// keeps refusing a request with either header: nothing a page does can change the node.
extension AdminAddress {
    /// The routes a browser may `GET` (or `HEAD`).
    static let browserPaths: Set<String> = ["/ui", "/v1/status/events"]

    /// Whether `path` (without its query) is one of ``browserPaths`` and `method` only reads.
    static func isBrowserRoute(_ method: HTTPRequest.Method, path: String) -> Bool {
        (method == .get || method == .head) && browserPaths.contains(path)
    }

    /// Whether a request that carries `Origin` or `Sec-Fetch-Site` may go on (see above).
    func admitsBrowser(_ request: HTTPRequest) -> Bool {
        let path = request.path.map { String($0.prefix { $0 != "?" && $0 != "#" }) } ?? ""
        guard Self.isBrowserRoute(request.method, path: path) else { return false }
        if let site = request.headerFields[Self.secFetchSite]?.lowercased(), site != "none" && site != "same-origin" {
            return false
        }
        if let origin = request.headerFields[.origin] {
            return isOwnOrigin(origin, host: request.authority)
        }
        return true
    }

    /// Whether `origin` (`scheme://host[:port]`) is this API's origin, as the request reached it.
    func isOwnOrigin(_ origin: String, host: String?) -> Bool {
        let text = origin.lowercased()
        guard text.hasPrefix("http://") else { return false }
        let authority = String(text.dropFirst("http://".count))
        guard accepts(authority: authority) else { return false }
        return !isWildcard || authority == host?.lowercased()
    }
}
