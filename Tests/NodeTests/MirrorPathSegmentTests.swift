import Testing
@testable import Node

/// A mirror's file URLs cut a manifest path where the manifest and the kernel cut it: at each
/// byte `/`, whatever follows it.
@Suite struct MirrorPathSegmentTests {
    /// `/` followed by a combining mark is one `Character`: cut by `Character`, `a/\u{301}b` was
    /// one segment and went out as `a%2F%CC%81b`.
    @Test func aCombiningMarkAfterASlashStartsASegment() throws {
        let m = try ReleaseMirror(url: "http://m.example/acme")
        let one = m.fileURL(version: "1.0.0", path: "a/\u{301}b")
        #expect(one == "http://m.example/acme/1.0.0/a/%CC%81b")
        let two = m.fileURL(version: "1.0.0", path: "d\u{301}/\u{301}/x\u{20DD}/y")
        #expect(two == "http://m.example/acme/1.0.0/d%CC%81/%CC%81/x%E2%83%9D/y")
        #expect(!one.contains("%2F") && !two.contains("%2F"))
    }
}
