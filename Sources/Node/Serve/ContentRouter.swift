import BundlecastCore
import Foundation
import NIOHTTP1

/// The content server's rules: which request gets which answer.
///
/// | path | answer |
/// |---|---|
/// | `/apps/APP/` (or without the slash) | 302 to `/apps/APP/VERSION/` of the current version, `no-cache` |
/// | `/apps/APP/current/PATH` | 302 to `/apps/APP/VERSION/PATH`, `no-cache` |
/// | `/apps/APP/VERSION/PATH` | the file, if VERSION is installed (current or previous) and PATH is in its signed manifest |
/// | `/apps/APP/events` | Server-Sent Events: `current` at connect, `installed` on each install and rollback |
///
/// A version's files never change, so they are cached for a year (`immutable`) and their
/// strong `ETag` is the file digest the manifest signs; the 302 is what moves a page on,
/// and a page loaded from one version loads all its assets from that version.
public struct ContentRouter: Sendable {
    let releases: InstalledReleases
    /// Required (bearer header, cookie, or once as `?token=`) when set.
    let token: String?

    static let cookieName = "bundlecast_serve"

    public init(releases: InstalledReleases, token: String?) {
        self.releases = releases
        self.token = token
    }

    public func answer(_ head: HTTPRequestHead) -> ContentAnswer {
        var answer = route(head)
        answer.headOnly = head.method == .HEAD
        return answer
    }

    private func route(_ head: HTTPRequestHead) -> ContentAnswer {
        guard head.method == .GET || head.method == .HEAD else {
            return .text(.methodNotAllowed, "only GET and HEAD", headers: [("Allow", "GET, HEAD")])
        }
        let path: ContentPath
        do { path = try ContentPath.parse(head.uri) } catch { return .text(.badRequest, error.description) }
        if let token {
            if let refusal = tokenAnswer(head, path: path, token: token) { return refusal }
        } else if let host = head.headers.first(name: "Host"), !Self.isLocalName(host) {
            return .text(.misdirectedRequest, "Host \(printableExcerpt(host)) is not a loopback name or an IP address: without --serve-token only those are answered")
        }
        let s = path.segments
        guard s.count >= 2, s[0] == "apps" else { return .text(.notFound, "not found: paths start with /apps/APP/") }
        let app = s[1]
        guard releases.apps.contains(app) else { return .text(.notFound, "this node does not follow \(printableExcerpt(app))") }
        guard s.count > 2 else { return toCurrent(app: app, rest: [], path: path, head: head) }
        switch s[2] {
        case "events" where s.count == 3:
            return ContentAnswer(status: .ok, headers: HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                                                                     ("X-Accel-Buffering", "no")]), body: .events(app: app))
        case "current":
            return toCurrent(app: app, rest: Array(s.dropFirst(3)), path: path, head: head)
        default:
            return file(app: app, version: s[2], rest: Array(s.dropFirst(3)), path: path, head: head)
        }
    }

    private func toCurrent(app: String, rest: [String], path: ContentPath, head: HTTPRequestHead) -> ContentAnswer {
        guard let current = releases.current(app: app) else { return .text(.notFound, "\(printableExcerpt(app)) has no installed version here") }
        let slash = rest.isEmpty || path.trailingSlash ? "/" : ""
        let location = "/apps/\(ContentPath.encode(app))/\(ContentPath.encode(current.version))/" + rest.map(ContentPath.encode).joined(separator: "/")
            + (rest.isEmpty ? "" : slash) + (path.query.map { "?" + $0 } ?? "")
        return .redirect(.found, to: Self.absolute(location, head), cache: "no-cache")
    }

    private func file(app: String, version: String, rest: [String], path: ContentPath, head: HTTPRequestHead) -> ContentAnswer {
        guard let tree = releases.tree(app: app, version: version) else {
            return .text(.notFound, "\(printableExcerpt(app)) \(printableExcerpt(version)) is not installed here")
        }
        switch tree.resolve(rest) {
        case .notFound:
            return .text(.notFound, "not in the signed manifest of \(printableExcerpt(app)) \(printableExcerpt(version))")
        case .directory:
            guard path.trailingSlash else {
                let location = "/" + path.segments.map(ContentPath.encode).joined(separator: "/") + "/" + (path.query.map { "?" + $0 } ?? "")
                // Not cached for long: it names the host and scheme of this request.
                return .redirect(.movedPermanently, to: Self.absolute(location, head), cache: "no-cache")
            }
            guard case .file(let file) = tree.resolve(rest + ["index.html"]) else {
                return .text(.notFound, "no index.html here, and directories are not listed")
            }
            return serve(file, in: tree, head: head)
        case .file(let file):
            return serve(file, in: tree, head: head)
        }
    }

    private func serve(_ served: ReleaseTree.File, in tree: ReleaseTree, head: HTTPRequestHead) -> ContentAnswer {
        let (etag, size) = (served.etag, served.size)
        var headers = HTTPHeaders([("ETag", etag), ("Cache-Control", "public, max-age=31536000, immutable"), ("Accept-Ranges", "bytes"),
                                   ("Content-Type", served.contentType), ("X-Content-Type-Options", "nosniff")])
        if let match = head.headers.first(name: "If-None-Match"), Self.matches(match, etag: etag) {
            return ContentAnswer(status: .notModified, headers: headers, body: .none)
        }
        let file = tree.root + "/" + served.path
        var range = ByteRangeRequest.parse(head.headers.first(name: "Range"), size: size)
        // A range of another version of the file is no range: send the whole.
        if let ifRange = head.headers.first(name: "If-Range"), ifRange.trimmingCharacters(in: .whitespaces) != etag { range = .whole }
        switch range {
        case .whole:
            headers.add(name: "Content-Length", value: String(size))
            return ContentAnswer(status: .ok, headers: headers, body: .file(path: file, offset: 0, length: size, size: size))
        case .unsatisfiable:
            return .text(.rangeNotSatisfiable, "the range is outside the file", headers: [("Content-Range", "bytes */\(size)")])
        case .range(let lower, let upper):
            headers.add(name: "Content-Range", value: "bytes \(lower)-\(upper)/\(size)")
            headers.add(name: "Content-Length", value: String(upper - lower + 1))
            return ContentAnswer(status: .partialContent, headers: headers, body: .file(path: file, offset: lower, length: upper - lower + 1, size: size))
        }
    }

    /// `If-None-Match`: `*` or a list of entity tags, compared weakly (RFC 9110 13.1.2).
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || (tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag) == etag
        }
    }

    /// The token from `Authorization: Bearer`, the cookie, or `?token=` (answered with the
    /// cookie and a redirect that drops it from the address); nil when it is right.
    private func tokenAnswer(_ head: HTTPRequestHead, path: ContentPath, token: String) -> ContentAnswer? {
        let expected = Array(token.utf8)
        if let auth = head.headers.first(name: "Authorization"), auth.lowercased().hasPrefix("bearer "),
           Sodium.equal(Array(auth.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8), expected) { return nil }
        for cookie in head.headers["Cookie"].flatMap({ $0.split(separator: ";") }) {
            let pair = cookie.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(Self.cookieName + "="),
               let value = try? ContentPath.decode(pair.dropFirst(Self.cookieName.count + 1)), Sodium.equal(Array(value.utf8), expected) { return nil }
        }
        if let query = path.query {
            var others: [Substring] = []
            var given: [UInt8]?
            for item in query.split(separator: "&") {
                if item.hasPrefix("token=") { given = (try? ContentPath.decode(item.dropFirst(6))).map { Array($0.utf8) } } else { others.append(item) }
            }
            if let given, Sodium.equal(given, expected) {
                let location = "/" + path.segments.map(ContentPath.encode).joined(separator: "/") + (path.trailingSlash && !path.segments.isEmpty ? "/" : "")
                    + (others.isEmpty ? "" : "?" + others.joined(separator: "&"))
                var answer = ContentAnswer.redirect(.found, to: Self.absolute(location, head), cache: "no-store")
                answer.headers.add(name: "Set-Cookie", value: "\(Self.cookieName)=\(ContentPath.encode(token)); Path=/apps/; HttpOnly; SameSite=Lax")
                return answer
            }
        }
        return .text(.unauthorized, "missing or wrong token (Authorization: Bearer, or ?token= once in a browser)", headers: [("WWW-Authenticate", "Bearer")])
    }

    /// Whether a `Host` names this machine by loopback name or by an IP literal (any port):
    /// without a token, a page on a site whose DNS name was rebound to 127.0.0.1 must not
    /// read what the node serves, and such a page always sends its own name.
    static func isLocalName(_ authority: String) -> Bool {
        var name = Substring(authority.lowercased())
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            name = name[name.index(after: name.startIndex)..<close]
            return !name.isEmpty && name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }
    }

    /// A `Location` on the host the client asked (relative without a usable `Host`): some
    /// clients (swift-corelibs-foundation's URLSession) drop a relative location's trailing
    /// slash, which would loop on a directory's redirect.
    static func absolute(_ path: String, _ head: HTTPRequestHead) -> String {
        guard let host = head.headers.first(name: "Host"), !host.isEmpty, host.utf8.count <= 255,
              host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "@") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") })
        else { return path }
        return "http://" + host + path
    }
}
