import BundlecastCore
import Testing

/// Links resolved once per manifest: the verdicts of a walk afresh for every link, at about
/// the manifest's own length in work.
@Suite struct SymlinkChainTests {
    func manifest(_ entries: [ManifestEntry]) throws -> Manifest {
        let sorted = entries.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        return try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: sorted)
    }

    func link(_ path: String, _ target: String) -> ManifestEntry { ManifestEntry(path: path, kind: .symlink(target: target)) }

    func name(_ i: Int) -> String { "l" + String(String(i + 1000).dropFirst()) }

    /// `count` links `l001 -> l002 -> ... -> f`, each target reaching the next through `detour`.
    func chain(_ count: Int, detour: String = "") -> [ManifestEntry] {
        (1...count).map { link(name($0), detour + ($0 == count ? "f" : name($0 + 1))) }
            + [.file(path: "f", executable: false, chunks: [chunk(1, 10)])]
    }

    @Test func fortyHopsPassAndFortyOneAreALoop() throws {
        _ = try manifest(chain(40) + [link("r", name(1))])
        let over = try #require(throws: PathError.self) { try manifest(chain(41) + [link("r", name(1))]) }
        #expect(over == PathError(path: "r", reason: .symlinkLoop(name(1))))
    }

    @Test func aLinkBackIntoItsOwnChainIsALoopWhereverItIsReached() throws {
        let entries = [link("a", "b"), link("b", "c"), link("c", "a"), link("x", "b")]
        let error = try #require(throws: PathError.self) { try manifest(entries) }
        #expect(error == PathError(path: "a", reason: .symlinkLoop("b")))
        let fromOutside = try #require(throws: PathError.self) { try manifest([link("a", "x"), link("x", "y"), link("y", "x")]) }
        #expect(fromOutside == PathError(path: "a", reason: .symlinkLoop("x")))
    }

    /// 30 long links in a chain reached by 20,000 others: walked afresh for each, about a
    /// billion name lookups (minutes); resolved once, a moment.
    @Test(.timeLimit(.minutes(1))) func manyLinksIntoOneLongChainAreResolvedOnce() throws {
        let detour = String(repeating: "d/../", count: 700)
        let referrers = (0..<20_000).map { link("r\($0)", name(1)) }
        let m = try manifest(chain(30, detour: detour) + referrers)
        #expect(m.entries.count == 30 + 1 + 20_000)
        // One escape at the chain's end is still found for every link that reaches it.
        let escaping = chain(30, detour: detour).map { e -> ManifestEntry in e.path == name(30) ? link(name(30), "../f") : e }
        let error = try #require(throws: PathError.self) { try manifest(escaping + referrers) }
        #expect(error == PathError(path: name(1), reason: .symlinkEscapes(detour + name(2))))
    }

    /// A chain far longer than 40 links is a loop at its 41st, found before the walk nests any
    /// deeper: resolved link by link down the chain, it would overflow the stack first.
    @Test func aChainOfFiftyThousandLinksIsALoopNotACrash() throws {
        func name(_ i: Int) -> String { "c\(i + 100_000)" }
        var entries: [ManifestEntry] = (1...50_000).map { i in link(name(i), i == 50_000 ? "f" : name(i + 1)) }
        entries.append(.file(path: "f", executable: false, chunks: [chunk(1, 10)]))
        let all = entries
        let error = try #require(throws: PathError.self) { try manifest(all) }
        #expect(error == PathError(path: "c100001", reason: .symlinkLoop("c100002")))
    }
}
