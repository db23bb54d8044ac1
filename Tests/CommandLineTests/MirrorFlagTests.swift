import Node
import Testing
@testable import bundlecast

/// `--mirror APP=URL`: the one line each refused form gets, and the rules over several flags.
@Suite struct MirrorFlagTests {
    @Test func anAppAndAURL() throws {
        let flag = try MirrorFlag(parsing: "acme=http://mirror.example:8080/acme")
        #expect(flag.app == "acme")
        #expect(flag.mirror.base == "http://mirror.example:8080/acme/")
        #expect(flag.description == "acme=http://mirror.example:8080/acme/")
    }

    @Test(arguments: [
        ("acme", "\"acme\" is not APP=URL"),
        ("=http://m.example/", "\"=http://m.example/\" is not APP=URL"),
        ("acme=", "\"acme=\" is not APP=URL"),
        ("ac me=http://m.example/", "app name \"ac me\" may contain only letters, digits, '.', '_' and '-'"),
        ("acme=ftp://m.example/", "mirror \"ftp://m.example/\" is not an http:// or https:// URL"),
        ("acme=http://u:p@m.example/", "mirror \"http://u:p@m.example/\" carries a user name or password: a mirror holds public bytes, and a command line is no place for secrets"),
    ])
    func refused(text: String, error: String) {
        #expect(throws: ArgumentError(error)) { try MirrorFlag(parsing: text) }
    }

    @Test func everyMirroredAppIsTrustedAndNoMirrorIsGivenTwice() throws {
        func options(_ flags: [String]) throws -> MirrorOptions {
            try MirrorOptions.parse(flags.flatMap { ["--mirror", $0] })
        }
        let two = try options(["acme=http://a.example/", "acme=http://b.example/", "tools=http://a.example/tools"])
        let mirrors = try two.settings(trusted: ["acme", "tools"])
        #expect(mirrors["acme"]?.map(\.base) == ["http://a.example/", "http://b.example/"], "in the order given")
        #expect(mirrors["tools"]?.map(\.base) == ["http://a.example/tools/"])
        #expect(throws: Failure.self) { try two.settings(trusted: ["acme"]) }
        do {
            _ = try options(["acme=http://a.example/", "acme=HTTP://A.example"]).settings(trusted: ["acme"])
            Issue.record("a mirror given twice was taken")
        } catch let failure as Failure {
            #expect(failure.message == "--mirror acme=http://a.example/ is given twice")
        }
        let nine = try options((0..<9).map { "acme=http://m\($0).example/" })
        #expect(throws: Failure.self) { try nine.settings(trusted: ["acme"]) }
    }
}
