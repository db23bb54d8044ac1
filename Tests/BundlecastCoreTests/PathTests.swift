import BundlecastCore
import Foundation
import Publisher
import Testing

@Suite struct PathTests {
    @Test(arguments: [
        ("", PathError.Reason.empty),
        ("/etc/passwd", .absolute),
        ("a/../b", .dotDot),
        ("..", .dotDot),
        ("./a", .dot),
        ("a//b", .emptySegment),
        ("a/", .emptySegment),
        ("a\u{0}b", .nul),
        ("a\nb", .controlCharacter),
        ("tab\there", .controlCharacter),
        (String(repeating: "x", count: 256), .tooLong),
    ])
    func badPathsAreRefusedWithTheirReason(_ path: String, _ reason: PathError.Reason) {
        #expect(throws: PathError(path: path, reason: reason)) { try BundlePath.validate(path) }
    }

    @Test func goodPathsPass() throws {
        for path in ["a", "a b/c.d", "ünïcode/файл", "...", "a..b", ".hidden/x"] { try BundlePath.validate(path) }
    }

    func manifest(_ entries: [ManifestEntry]) throws -> Manifest {
        try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: entries)
    }

    func link(_ path: String, _ target: String) -> ManifestEntry {
        ManifestEntry(path: path, kind: .symlink(target: target))
    }

    func file(_ path: String) -> ManifestEntry { .file(path: path, executable: false, chunks: [chunk(1, 10)]) }

    @Test func duplicatesAreRefused() {
        #expect(throws: PathError(path: "a", reason: .duplicate)) { try manifest([file("a"), file("a")]) }
    }

    @Test func entriesUnderAFileOrSymlinkAreRefused() {
        #expect(throws: PathError(path: "a/b", reason: .nestedUnderFile("a"))) { try manifest([file("a"), file("a/b")]) }
        #expect(throws: PathError(path: "d/x", reason: .nestedUnderFile("d"))) { try manifest([link("d", "e"), file("d/x"), file("e")]) }
    }

    @Test func symlinksThatLeaveTheBundleAreRefused() {
        #expect(throws: PathError(path: "l", reason: .symlinkEscapes(".."))) { try manifest([link("l", "..")]) }
        #expect(throws: PathError(path: "a/l", reason: .symlinkEscapes("../../etc"))) { try manifest([link("a/l", "../../etc")]) }
        #expect(throws: PathError(path: "l", reason: .symlinkAbsolute("/etc/passwd"))) { try manifest([link("l", "/etc/passwd")]) }
        // Lexically inside, but through the link "a" (to the root) it leaves.
        #expect(throws: PathError(path: "b", reason: .symlinkEscapes("a/x/../.."))) {
            try manifest([link("a", "."), link("b", "a/x/../..")])
        }
    }

    /// Found by the manifestInstall fuzz target: a `/` followed by a combining mark is one
    /// `Character`, so paths split by characters hid a segment from the checks that the kernel
    /// sees. Paths are split at the byte `/` everywhere now.
    @Test func aCombiningMarkAfterASlashHidesNoSegment() throws {
        let mark = "\u{301}"
        // The ".." before the mark is a segment of its own: the link leaves the bundle.
        #expect(throws: PathError(path: "l", reason: .symlinkEscapes("../\(mark)x"))) { try manifest([link("l", "../\(mark)x")]) }
        #expect(throws: PathError(path: "z/e/l", reason: .symlinkEscapes("../../d/x/../\(mark)/../../.."))) {
            try manifest([file("d/\(mark)/f"), file("d/x/f"), link("z/e/l", "../../d/x/../\(mark)/../../..")].sorted { BundlePath.precedes($0.path, $1.path) })
        }
        // "l/\(mark)w" sits below the link "l".
        #expect(throws: PathError(path: "l/\(mark)w", reason: .nestedUnderFile("l"))) { try manifest([link("l", "d"), file("l/\(mark)w")]) }
        // Names that start with a mark are names like any other, and parse back from their bytes.
        let m = try manifest([file("d/\(mark)x"), link("d/l", "\(mark)x"), link("\(mark)top", "d/\(mark)x")].sorted { BundlePath.precedes($0.path, $1.path) })
        #expect(try ManifestCoder.decode(m.encoded()) == m)
    }

    @Test func symlinkLoopsAreRefused() {
        #expect(throws: PathError(path: "a", reason: .symlinkLoop("b"))) { try manifest([link("a", "b"), link("b", "a")]) }
    }

    @Test func symlinksInsideTheBundlePass() throws {
        _ = try manifest([link("README", "share/motd.txt"), file("bin/x"), link("bin/y", "x"), link("bin/z", "../bin/./x"), file("share/motd.txt")])
        _ = try manifest([link("root", ".")])
        // Lexically "a/../../x" leaves, but "a" is a link two levels deep: it resolves to "x".
        _ = try manifest([link("a", "sub/deeper"), link("b", "a/../../x"), file("sub/deeper/f"), file("x")])
    }

    /// The error a manifest of `entries` is refused with; its path is compared by bytes, since
    /// `String` equality would take `é` for `e` + U+0301.
    func refusal(_ entries: [ManifestEntry]) throws -> PathError {
        let error = try #require(throws: PathError.self) { try manifest(entries) }
        return error
    }

    @Test func pathsEqualAsUnicodeButNotAsBytesAreRefused() throws {
        // ext4 keeps "e\u{301}" (a link to the root) and "é" apart, so "z" resolves through the
        // first and leaves the tree; keyed by String, the check followed "é -> d/d/d" instead.
        let error = try refusal([link("e\u{301}", "."), link("z", "e\u{301}/../../.."), link("\u{e9}", "d/d/d")])
        #expect(Array(error.path.utf8) == Array("\u{e9}".utf8))
        guard case .collides(let other) = error.reason else {
            Issue.record("refused for \(error), not as a collision")
            return
        }
        #expect(Array(other.utf8) == Array("e\u{301}".utf8))
    }

    @Test func symlinksAreResolvedByTheBytesOfTheirTargets() throws {
        // Without the other spelling in the bundle, the target still leaves through "e\u{301}".
        let error = try refusal([link("e\u{301}", "."), link("z", "e\u{301}/../../..")])
        #expect(error.reason == .symlinkEscapes("e\u{301}/../../.."))
        #expect(Array(error.path.utf8) == Array("z".utf8))
    }

    @Test func aTargetSpellingABundlePathAnotherWayIsRefused() throws {
        // On a case-insensitive file system "E" is the link "e" to the root, and "z" leaves.
        let error = try refusal([link("e", "."), link("z", "E/x/../..")])
        #expect(error == PathError(path: "z", reason: .symlinkTargetSpelling("E/x/../..", "e")))
        #expect(throws: PathError.self) { try manifest([link("e\u{301}", "."), link("z", "\u{e9}/x/../..")]) }
    }

    @Test(arguments: [
        (["README", "readme"], "README"),
        (["Docs/a", "docs/b"], "Docs"),
        (["STRASSE", "stra\u{df}e"], "STRASSE"),
        (["K", "\u{212A}"], "K"),
        (["ab", "a\u{200C}b"], "ab"),
        (["caf\u{e9}/x", "cafe\u{301}/y"], "cafe\u{301}"),
    ])
    func pathsThatFoldTogetherAreRefused(_ paths: [String], _ first: String) throws {
        let entries = paths.sorted { BundlePath.precedes($0, $1) }.map(file)
        let error = try refusal(entries)
        guard case .collides(let other) = error.reason else {
            Issue.record("\(paths) refused for \(error), not as a collision")
            return
        }
        #expect(Array(other.utf8) == Array(first.utf8))
    }

    @Test func namesThatDifferAfterFoldingPass() throws {
        _ = try manifest([file("A-1"), file("Caf\u{e9}/menu"), link("Menu", "Caf\u{e9}/menu"), file("a-2"), file("na\u{ef}ve.txt"),
                          file("\u{444}\u{430}\u{439}\u{43B}")])
    }

    @Test func theScannerRefusesSpecialFilesAndNamesThePath() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/ok.txt", "fine")
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
            #expect(mkfifo(dir + "/sub/pipe", 0o644) == 0)
            #expect(throws: PathError(path: "sub/pipe", reason: .specialFile("FIFO"))) { try BundleScanner.scan(dir) }
        }
    }

    @Test func theScannerRefusesNamesThatAreNotUTF8() throws {
        try withTemporaryDirectory { dir in
            var raw = Array(dir.utf8) + Array("/bad-".utf8) + [0xFF, 0]
            let fd = raw.withUnsafeMutableBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            #expect(fd >= 0)
            close(fd)
            #expect(throws: PathError.self) { try BundleScanner.scan(dir) }
        }
    }

    @Test func theScannerReadsModesAndLinks() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/bin/tool", "#!/bin/sh\n")
            chmod(dir + "/bin/tool", 0o755)
            try write(dir + "/data", "x")
            symlink("tool", dir + "/bin/t")
            try FileManager.default.createDirectory(atPath: dir + "/empty-dir", withIntermediateDirectories: true)
            let items = try BundleScanner.scan(dir)
            #expect(items.map(\.path) == ["bin/t", "bin/tool", "data"])
            guard case .symlink(let target) = items[0].kind, case .file(_, let x) = items[1].kind, case .file(_, let y) = items[2].kind else {
                Issue.record("wrong kinds")
                return
            }
            #expect(target == "tool" && x && !y)
        }
    }
}
