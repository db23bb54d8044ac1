import Testing
@testable import Node

/// `--mirror` URLs: what is taken, what is refused with which line, and the URLs a node
/// makes of a manifest's paths.
struct MirrorURLTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://mirror.example/acme", "http://mirror.example/acme/"),
        ("HTTPS://Mirror.Example/releases/acme/", "https://mirror.example/releases/acme/"),
        ("http://[::1]:9000/a%20b/", "http://[::1]:9000/a%20b/"),
        ("http://cdn-1.example:65535", "http://cdn-1.example:65535/"),
    ])
    func accepted(text: String, base: String) throws {
        #expect(try ReleaseMirror(url: text).base == base)
    }

    @Test(arguments: [
        ("", "is empty or longer than 2048 bytes"),
        ("ftp://mirror.example/", "is not an http:// or https:// URL"),
        ("file:///srv/acme", "is not an http:// or https:// URL"),
        ("mirror.example/acme", "is not an http:// or https:// URL"),
        ("http:mirror.example", "is not an http:// or https:// URL"),
        ("http://user:secret@mirror.example/", "carries a user name or password: a mirror holds public bytes, and a command line is no place for secrets"),
        ("http://mirror.example/acme?v=1", "has a query or a fragment: a mirror is a directory URL"),
        ("http://mirror.example/acme#top", "has a query or a fragment: a mirror is a directory URL"),
        ("http:///acme", "has no host"),
        ("http://mirror.example:0/", "has port 0, not 1-65535"),
        ("http://mirror.example:70000/", "has port 70000, not 1-65535"),
        ("http://mirror.example:http/", "has a port that is not a number"),
        ("http://mirror.example:99999999999999999999/", "has a port that is not a number"),
        ("http://::1:80/", "has an IPv6 host without [ ]"),
        ("http://mirror.example/a/../b", "has a '.', '..' or encoded '/' segment in its path"),
        ("http://mirror.example/a%2Fb/", "has a '.', '..' or encoded '/' segment in its path"),
        ("http://mirror.example/a%zz/", "has a '%' that is not followed by two hex digits"),
        ("http://mirror example/", "has a space, a control or a non-ASCII character (percent-encode the path, punycode the host)"),
        ("http://mirrör.example/", "has a space, a control or a non-ASCII character (percent-encode the path, punycode the host)"),
        ("http://mirror.example/\u{7F}", "has a space, a control or a non-ASCII character (percent-encode the path, punycode the host)"),
        ("http://mir{ror}.example/", "has a host with characters a host name cannot have"),
    ])
    func refused(text: String, reason: String) {
        #expect(throws: MirrorURLError(url: text, reason: reason)) { try ReleaseMirror(url: text) }
    }

    @Test func aVeryLongURLIsRefused() {
        let text = "http://mirror.example/" + String(repeating: "a", count: 3000)
        #expect(throws: MirrorURLError(url: text, reason: "is empty or longer than 2048 bytes")) { try ReleaseMirror(url: text) }
    }

    @Test func pathsArePercentEncodedSegmentBySegment() throws {
        let m = try ReleaseMirror(url: "http://m.example/acme")
        #expect(m.manifestURL(version: "1.4.0") == "http://m.example/acme/1.4.0.manifest")
        #expect(m.fileURL(version: "1.4.0", path: "bin/run") == "http://m.example/acme/1.4.0/bin/run")
        #expect(m.fileURL(version: "2.0.0-rc.1+build.5", path: "a b/c?d#e%f.txt")
                == "http://m.example/acme/2.0.0-rc.1%2Bbuild.5/a%20b/c%3Fd%23e%25f.txt")
        #expect(m.fileURL(version: "1.0.0", path: "caf\u{E9}/\u{1F600}~_.-") == "http://m.example/acme/1.0.0/caf%C3%A9/%F0%9F%98%80~_.-")
        #expect(m.manifestURL(version: "1.0.0+meta") == "http://m.example/acme/1.0.0%2Bmeta.manifest")
    }
}
