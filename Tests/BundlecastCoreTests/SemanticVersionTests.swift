import BundlecastCore
import Testing

@Suite struct SemanticVersionTests {
    @Test func precedenceFollowsTheSpec() throws {
        // The example chain from semver.org, section 11.
        let chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                     "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0"]
        let versions = try chain.map { try SemanticVersion($0) }
        for (a, b) in zip(versions, versions.dropFirst()) { #expect(a < b, "\(a) < \(b)") }
        #expect(try SemanticVersion("1.0.0+a").hasSamePrecedence(as: SemanticVersion("1.0.0+b")))
    }

    @Test(arguments: ["1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "v1.2.3", " 1.2.3", "1.2.3-ä"])
    func invalidVersionsAreRefused(_ text: String) {
        #expect(throws: NameError.self) { try SemanticVersion(text) }
    }

    @Test(arguments: ["0.0.0", "1.2.3-rc.1", "1.2.3-0.3.7", "1.2.3-x-y.z", "1.2.3+build.01", "18446744073709551615.0.0"])
    func validVersionsParse(_ text: String) throws {
        #expect(try SemanticVersion(text).description == text)
    }
}
