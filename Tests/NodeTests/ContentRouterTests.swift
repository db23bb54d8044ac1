import BundlecastCore
import Foundation
import NIOHTTP1
@testable import Node
import Policy
import Synchronization
import Testing
import TestSupport

/// The content server's HTTP semantics, at the router: each request's answer without a socket.
@Suite struct ContentRouterTests {
    static let app = "hello"

    /// Versions 1.0.0 (previous) and 1.1.0 (current) of a small web app, recorded as installed.
    struct Fixture {
        let releases: InstalledReleases
        let manifest: Manifest
        let root: String

        init(_ dir: String) throws {
            let manifests = try ManifestCache(root: dir + "/manifests")
            func file(_ path: String, _ size: Int) -> ManifestEntry {
                let bytes = [UInt8]((path + "\n").utf8) + [UInt8](repeating: 0x61, count: max(0, size - path.utf8.count - 1))
                return .file(path: path, executable: false, chunks: [ChunkRef(digest: Blake2b.digest256(bytes), size: UInt32(bytes.count))])
            }
            func make(_ version: String) throws -> Manifest {
                try Manifest(app: ContentRouterTests.app, version: SemanticVersion(version), entries: [
                    file("app.js", 300),
                    ManifestEntry(path: "assets", kind: .symlink(target: "static")),
                    file("docs/guide.txt", 50),
                    file("index.html", 120),
                    file("static/app.css", 80),
                    file("static/logo.png", 1000),
                    ManifestEntry(path: "styles.css", kind: .symlink(target: "static/app.css")),
                ])
            }
            let old = try make("1.0.0")
            manifest = try make("1.1.0")
            for m in [old, manifest] { _ = try manifests.put(m.encoded(), digest: m.digest, parsed: m) }
            root = dir + "/apps"
            releases = InstalledReleases(apps: [ContentRouterTests.app], appsRoot: root, manifests: manifests)
            var record = InstallRecord()
            record.current = .init(version: "1.1.0", manifest: manifest.digest, sequence: 7)
            record.previous = .init(version: "1.0.0", manifest: old.digest, sequence: 6)
            releases.record(app: ContentRouterTests.app, record)
        }

        func etag(_ path: String) -> String {
            guard case .file(_, _, let digest, _) = manifest.entries.first(where: { $0.path == path })!.kind else { return "" }
            return "\"\(digest.hex)\""
        }

        func size(_ path: String) -> UInt64 { manifest.entries.first { $0.path == path }!.size }
    }

    func ask(_ router: ContentRouter, _ uri: String, method: HTTPMethod = .GET, _ headers: [(String, String)] = []) -> ContentAnswer {
        router.answer(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    func withRouter(token: String? = nil, _ body: (ContentRouter, Fixture) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(dir)
            try body(ContentRouter(releases: fixture.releases, token: token), fixture)
        }
    }

    @Test func aFileOfTheManifestIsServedImmutableWithItsDigestAsETag() throws {
        try withRouter { router, f in
            let a = ask(router, "/apps/hello/1.1.0/static/app.css")
            #expect(a.status == .ok)
            #expect(a.headers["ETag"] == [f.etag("static/app.css")])
            #expect(a.headers["Cache-Control"] == ["public, max-age=31536000, immutable"])
            #expect(a.headers["Content-Type"] == ["text/css; charset=utf-8"])
            #expect(a.headers["Content-Length"] == ["80"])
            #expect(a.body == .file(path: f.root + "/hello/1.1.0/static/app.css", offset: 0, length: 80, size: 80))
            #expect(!a.headOnly)
        }
    }

    @Test(arguments: [
        ("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"),
        ("static/logo.png", "image/png"), ("docs/guide.txt", "text/plain; charset=utf-8"),
    ])
    func contentTypeFollowsTheExtension(path: String, type: String) throws {
        try withRouter { router, _ in #expect(ask(router, "/apps/hello/1.1.0/" + path).headers["Content-Type"] == [type]) }
    }

    @Test func ifNoneMatchGivesNotModified() throws {
        try withRouter { router, f in
            let tag = f.etag("app.js")
            for value in [tag, "W/" + tag, "\"other\", " + tag, "*"] {
                let a = ask(router, "/apps/hello/1.1.0/app.js", [("If-None-Match", value)])
                #expect(a.status == .notModified, "\(value)")
                #expect(a.body == .none)
                #expect(a.headers["ETag"] == [tag])
            }
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("If-None-Match", "\"other\"")]).status == .ok)
        }
    }

    @Test(arguments: [
        ("bytes=0-9", 0, 9), ("bytes=10-", 10, 299), ("bytes=-5", 295, 299), ("bytes=290-1000", 290, 299), ("bytes=-1000", 0, 299),
    ] as [(String, UInt64, UInt64)])
    func aSingleRangeGivesPartialContent(range: String, lower: UInt64, upper: UInt64) throws {
        try withRouter { router, f in
            let a = ask(router, "/apps/hello/1.1.0/app.js", [("Range", range)])
            #expect(a.status == .partialContent)
            #expect(a.headers["Content-Range"] == ["bytes \(lower)-\(upper)/300"])
            #expect(a.headers["Content-Length"] == [String(upper - lower + 1)])
            #expect(a.body == .file(path: f.root + "/hello/1.1.0/app.js", offset: lower, length: upper - lower + 1, size: 300))
        }
    }

    @Test(arguments: ["bytes=300-", "bytes=400-500", "bytes=-0"])
    func aRangeOutsideTheFileIsUnsatisfiable(range: String) throws {
        try withRouter { router, _ in
            let a = ask(router, "/apps/hello/1.1.0/app.js", [("Range", range)])
            #expect(a.status == .rangeNotSatisfiable)
            #expect(a.headers["Content-Range"] == ["bytes */300"])
        }
    }

    /// Several ranges, other units, garbage and a range of another version are ignored: the whole file.
    @Test(arguments: ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=abc", "bytes=99999999999999999999-"])
    func anUnusableRangeSendsTheWholeFile(range: String) throws {
        try withRouter { router, _ in
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Range", range)]).status == .ok)
        }
    }

    @Test func ifRangeOfAnotherVersionSendsTheWholeFile() throws {
        try withRouter { router, f in
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Range", "bytes=0-9"), ("If-Range", "\"old\"")]).status == .ok)
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Range", "bytes=0-9"), ("If-Range", f.etag("app.js"))]).status == .partialContent)
        }
    }

    @Test func headAnswersLikeGetWithoutABody() throws {
        try withRouter { router, _ in
            let get = ask(router, "/apps/hello/1.1.0/app.js")
            let head = ask(router, "/apps/hello/1.1.0/app.js", method: .HEAD)
            #expect(head.headOnly && head.status == get.status && head.headers == get.headers)
        }
    }

    @Test func otherMethodsAreNotAllowed() throws {
        try withRouter { router, _ in
            for method in [HTTPMethod.POST, .PUT, .DELETE] {
                let a = ask(router, "/apps/hello/1.1.0/app.js", method: method)
                #expect(a.status == .methodNotAllowed && a.headers["Allow"] == ["GET, HEAD"])
            }
        }
    }

    @Test(arguments: [
        ("/apps/hello/", "/apps/hello/1.1.0/"), ("/apps/hello", "/apps/hello/1.1.0/"),
        ("/apps/hello/current/", "/apps/hello/1.1.0/"), ("/apps/hello/current/static/app.css?v=2", "/apps/hello/1.1.0/static/app.css?v=2"),
        ("/apps/hello/current/docs/", "/apps/hello/1.1.0/docs/"),
    ])
    func theAppAndCurrentRedirectToTheCurrentVersion(uri: String, location: String) throws {
        try withRouter { router, _ in
            let a = ask(router, uri)
            #expect(a.status == .found)
            #expect(a.headers["Location"] == [location])
            #expect(a.headers["Cache-Control"] == ["no-cache"])
        }
    }

    /// On the host the client named, when it named a usable one.
    @Test func redirectsNameTheHostAsked() throws {
        try withRouter { router, _ in
            #expect(ask(router, "/apps/hello/", [("Host", "127.0.0.1:8080")]).headers["Location"] == ["http://127.0.0.1:8080/apps/hello/1.1.0/"])
            #expect(ask(router, "/apps/hello/1.1.0", [("Host", "[::1]:8080")]).headers["Location"] == ["http://[::1]:8080/apps/hello/1.1.0/"])
        }
        // A name that could change the location's meaning is not copied into it (with a token, any Host is answered).
        try withRouter(token: "0123456789abcdef-token") { router, _ in
            let a = ask(router, "/apps/hello/", [("Host", "evil.example/x@"), ("Authorization", "Bearer 0123456789abcdef-token")])
            #expect(a.headers["Location"] == ["/apps/hello/1.1.0/"])
        }
    }

    /// Without a token, a page whose DNS name was rebound to loopback sends its own name: refused.
    @Test(arguments: [
        ("127.0.0.1:8080", true), ("localhost:8080", true), ("app.localhost:8080", true), ("[::1]:8080", true), ("10.1.2.3", true),
        ("evil.example:8080", false), ("127.0.0.1.evil.example", false), ("localhost.evil.example:8080", false), ("1.2.3.4.5", false),
    ])
    func withoutATokenOnlyLoopbackNamesAndAddressesAreAnswered(host: String, answered: Bool) throws {
        try withRouter { router, _ in
            let status = ask(router, "/apps/hello/1.1.0/app.js", [("Host", host)]).status
            #expect(answered ? status == .ok : status == .misdirectedRequest, "\(host)")
        }
        try withRouter(token: "0123456789abcdef-token") { router, _ in
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Host", host), ("Authorization", "bearer 0123456789abcdef-token")]).status == .ok)
        }
    }

    @Test func thePreviousVersionIsServedAndNoOther() throws {
        try withRouter { router, _ in
            #expect(ask(router, "/apps/hello/1.0.0/app.js").status == .ok)
            #expect(ask(router, "/apps/hello/0.9.0/app.js").status == .notFound)
            #expect(ask(router, "/apps/other/1.1.0/app.js").status == .notFound)
            #expect(ask(router, "/apps/other/events").status == .notFound)
        }
    }

    @Test(arguments: ["/apps/hello/1.1.0/missing.js", "/apps/hello/1.1.0/app.js/x", "/apps/hello/1.1.0/static/app.css.map",
                      "/apps/hello/1.1.0/STATIC/app.css", "/", "/etc/passwd", "/apps/hello/1.1.0/docs/"])
    func aPathNotInTheManifestIsNotFound(uri: String) throws {
        try withRouter { router, _ in #expect(ask(router, uri).status == .notFound) }
    }

    @Test(arguments: ["/apps/hello/1.1.0/../1.0.0/app.js", "/apps/hello/1.1.0/%2e%2e/1.0.0/app.js", "/apps/hello/1.1.0/%2E%2E/x",
                      "/apps/hello/1.1.0/static/..", "/apps/hello/1.1.0/./app.js", "/apps/hello/1.1.0/static%2Fapp.css",
                      "/apps/hello/1.1.0/%zz", "/apps/hello/1.1.0/%ff", "/apps/hello/1.1.0//app.js", "/apps/hello/1.1.0/a%00b", "relative"])
    func dotSegmentsEncodedSlashesAndBadEscapesAreRefused(uri: String) throws {
        try withRouter { router, _ in #expect(ask(router, uri).status == .badRequest) }
    }

    @Test func symlinksResolveByTheManifest() throws {
        try withRouter { router, f in
            let link = ask(router, "/apps/hello/1.1.0/styles.css")
            #expect(link.status == .ok)
            #expect(link.headers["ETag"] == [f.etag("static/app.css")])
            #expect(link.body == .file(path: f.root + "/hello/1.1.0/static/app.css", offset: 0, length: 80, size: 80))
            // Through a link to a directory.
            #expect(ask(router, "/apps/hello/1.1.0/assets/logo.png").body == .file(path: f.root + "/hello/1.1.0/static/logo.png", offset: 0, length: 1000, size: 1000))
            #expect(ask(router, "/apps/hello/1.1.0/assets/nothing.png").status == .notFound)
        }
    }

    @Test func aDirectoryGetsItsSlashThenItsIndex() throws {
        try withRouter { router, f in
            let bare = ask(router, "/apps/hello/1.1.0")
            #expect(bare.status == .movedPermanently && bare.headers["Location"] == ["/apps/hello/1.1.0/"])
            let dir = ask(router, "/apps/hello/1.1.0/static")
            #expect(dir.status == .movedPermanently && dir.headers["Location"] == ["/apps/hello/1.1.0/static/"])
            #expect(dir.headers["Cache-Control"] == ["no-cache"])
            let index = ask(router, "/apps/hello/1.1.0/")
            #expect(index.status == .ok && index.headers["ETag"] == [f.etag("index.html")])
            // No index.html there, and no listing either.
            #expect(ask(router, "/apps/hello/1.1.0/static/").status == .notFound)
        }
    }

    @Test func eventsStreamForAFollowedApp() throws {
        try withRouter { router, _ in
            let a = ask(router, "/apps/hello/events")
            #expect(a.status == .ok && a.body == .events(app: "hello"))
            #expect(a.headers["Content-Type"] == ["text/event-stream"])
        }
    }

    @Test func withATokenEveryRequestMustCarryIt() throws {
        let token = "0123456789abcdef-token"
        try withRouter(token: token) { router, _ in
            #expect(ask(router, "/apps/hello/1.1.0/app.js").status == .unauthorized)
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Authorization", "Bearer wrong-token-0123456")]).status == .unauthorized)
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Authorization", "Bearer " + token)]).status == .ok)
            #expect(ask(router, "/apps/hello/1.1.0/app.js", [("Cookie", "a=b; bundlecast_serve=" + token)]).status == .ok)
            #expect(ask(router, "/apps/hello/1.1.0/app.js?token=nope").status == .unauthorized)
            // Once in the address: a cookie, and the address without it.
            let first = ask(router, "/apps/hello/1.1.0/?v=1&token=" + token)
            #expect(first.status == .found)
            #expect(first.headers["Location"] == ["/apps/hello/1.1.0/?v=1"])
            #expect(first.headers["Set-Cookie"].first?.hasPrefix("bundlecast_serve=" + token + "; Path=/apps/; HttpOnly") == true)
        }
    }

    /// A rollback is told as an install of the version gone back to; a record that leaves `current` as it was is no news.
    @Test func aChangeOfCurrentIsToldOnce() throws {
        try withRouter { _, f in
            let heard = Heard()
            _ = f.releases.events.subscribe(app: "hello") { heard.add(String(buffer: $0)); return true }
            let old = try #require(f.releases.tree(app: "hello", version: "1.0.0"))
            var record = InstallRecord()
            record.current = .init(version: "1.0.0", manifest: f.releases.digest(app: "hello", version: "1.0.0")!, sequence: 6)
            record.previous = .init(version: "1.1.0", manifest: f.manifest.digest, sequence: 7)
            f.releases.record(app: "hello", record)
            #expect(heard.all == [InstallEventHub.event("installed", .init(app: "hello", version: "1.0.0", sequence: 6, previous: "1.1.0"))])
            f.releases.record(app: "hello", record)
            record.previous = nil
            f.releases.record(app: "hello", record)
            #expect(heard.all.count == 1)
            #expect(f.releases.current(app: "hello")?.version == "1.0.0" && old.version == "1.0.0")
            #expect(f.releases.tree(app: "hello", version: "1.1.0") == nil)
        }
    }
}

final class Heard: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
