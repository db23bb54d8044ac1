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

    @Test func symlinkLoopsAreRefused() {
        #expect(throws: PathError(path: "a", reason: .symlinkLoop("b"))) { try manifest([link("a", "b"), link("b", "a")]) }
    }

    @Test func symlinksInsideTheBundlePass() throws {
        _ = try manifest([link("README", "share/motd.txt"), file("bin/x"), link("bin/y", "x"), link("bin/z", "../bin/./x"), file("share/motd.txt")])
        _ = try manifest([link("root", ".")])
        // Lexically "a/../../x" leaves, but "a" is a link two levels deep: it resolves to "x".
        _ = try manifest([link("a", "sub/deeper"), link("b", "a/../../x"), file("sub/deeper/f"), file("x")])
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
