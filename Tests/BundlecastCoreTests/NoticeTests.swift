import BundlecastCore
import Testing

@Suite struct NoticeTests {
    let text = "bundlecast=1 kind=release app=demo version=1.2.0 sequence=7 channel=stable manifest="
        + String(repeating: "ab", count: 32) + " size=1024 rollout=10 created=1700000000 expires=1702592000"

    @Test func roundTrip() throws {
        let notice = try Notice(trustedComment: text)
        #expect(notice.description == text)
        #expect(notice.sequence == 7 && notice.rollout == 10 && notice.kind == .release)
        #expect(!notice.isExpired(at: 1_700_000_001))
        #expect(notice.isExpired(at: 1_702_592_000))
    }

    @Test(arguments: [
        ("unknown key", { @Sendable (s: String) in s + " extra=1" }),
        ("missing key", { s in s.replacingOccurrences(of: " rollout=10", with: "") }),
        ("wrong order", { s in s.replacingOccurrences(of: "app=demo version=1.2.0", with: "version=1.2.0 app=demo") }),
        ("duplicate", { s in s.replacingOccurrences(of: "channel=stable", with: "app=demo") }),
        ("double space", { s in s.replacingOccurrences(of: " kind", with: "  kind") }),
        ("bad character", { s in s.replacingOccurrences(of: "channel=stable", with: "channel=st/able") }),
        ("rollout over 100", { s in s.replacingOccurrences(of: "rollout=10", with: "rollout=101") }),
        ("leading zero", { s in s.replacingOccurrences(of: "sequence=7", with: "sequence=07") }),
        ("zero sequence", { s in s.replacingOccurrences(of: "sequence=7", with: "sequence=0") }),
        ("unknown kind", { s in s.replacingOccurrences(of: "kind=release", with: "kind=rotate") }),
        ("other format", { s in s.replacingOccurrences(of: "bundlecast=1", with: "bundlecast=2") }),
        ("short digest", { s in s.replacingOccurrences(of: "manifest=ab", with: "manifest=") }),
        ("upper-case digest", { s in s.replacingOccurrences(of: "manifest=abab", with: "manifest=ABAB") }),
        ("not semver", { s in s.replacingOccurrences(of: "version=1.2.0", with: "version=1.2") }),
        ("expires before created", { s in s.replacingOccurrences(of: "expires=1702592000", with: "expires=1600000000") }),
        ("too long", { s in s + String(repeating: "x", count: 1024) }),
    ] as [(String, @Sendable (String) -> String)])
    func outsideTheGrammarIsRefused(_ name: String, _ edit: @Sendable (String) -> String) {
        let edited = edit(text)
        #expect(edited != text, "case \(name) did not change the text")
        #expect(throws: NoticeError.self, "case \(name)") { try Notice(trustedComment: edited) }
    }

    @Test func identifiers() {
        #expect(Identifier.problem("hello-fleet") == nil)
        #expect(Identifier.problem("a.b_c-1") == nil)
        #expect(Identifier.problem("") != nil)
        #expect(Identifier.problem("-x") != nil)
        #expect(Identifier.problem("..") != nil)
        #expect(Identifier.problem("a/b") != nil)
        #expect(Identifier.problem(String(repeating: "a", count: 65)) != nil)
    }
}
