import Foundation
import Testing

@Suite struct ReleaseCLITests {
    func release(_ dir: String, _ bundle: String, _ version: String, _ extra: String...) throws -> Outcome {
        try run(bundlecastPath, ["release", bundle, "--app", "hello-fleet", "--version", version, "--key", "Keys/demo.key"] + extra, in: dir)
    }

    @Test func reproducesTheGoldenManifestsWithSourceDateEpoch() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            for version in ["1.0.0", "1.1.0"] {
                let r = try run(bundlecastPath, ["release", "Samples/hello-fleet/" + version, "--app", "hello-fleet", "--version", version,
                                                 "--key", "Keys/demo.key"], in: dir, environment: ["SOURCE_DATE_EPOCH": "1790000000"])
                #expect(r.code == 0, "\(r.stderr)")
                #expect(r.stdout.hasPrefix("released hello-fleet \(version) (sequence"))
                for file in ["\(version).manifest", "\(version).manifest.minisig"] {
                    let mine = try Data(contentsOf: URL(fileURLWithPath: dir + "/Manifests/hello-fleet/" + file))
                    let golden = try Data(contentsOf: URL(fileURLWithPath: repoRoot + "/Manifests/hello-fleet/" + file))
                    #expect(mine == golden, "\(file) differs from the golden copy")
                }
            }
        }
    }

    @Test func refusalsAreOneLineAndWriteNothing() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            #expect(try release(dir, "Samples/hello-fleet/1.1.0", "1.1.0").code == 0)
            let cases: [(Outcome, String)] = [
                (try release(dir, "Samples/hello-fleet/1.0.0", "1.1.0"), "already released"),
                (try release(dir, "Samples/hello-fleet/1.0.0", "1.0.0"), "--allow-downgrade"),
                (try release(dir, "Samples/hello-fleet/1.0.0", "1.2"), "SemVer"),
                (try release(dir, "Samples/nowhere", "2.0.0"), "No such file or directory"),
                (try release(dir, "Samples/hello-fleet/1.0.0", "2.0.0", "--sequence", "1"), "not higher"),
                (try release(dir, "Samples/hello-fleet/1.0.0", "2.0.0", "--app", "../etc"), "app name"),
                (try run(bundlecastPath, ["release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "2.0.0", "--key", "Keys/missing.key"], in: dir), "Keys/missing.key"),
            ]
            for (outcome, message) in cases {
                #expect(outcome.code == 2, "\(outcome.stderr)")
                #expect(outcome.errorLine.hasPrefix("bundlecast: error: "))
                #expect(outcome.errorLine.contains(message), "expected \"\(message)\" in \(outcome.stderr)")
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/Manifests/hello-fleet").sorted()
            #expect(names == ["1.1.0.manifest", "1.1.0.manifest.minisig"])
        }
    }

    @Test func wrongFlagsAreUsageErrors() throws {
        #expect(try bundlecast("release", "x", "--app", "a", "--version", "1.0.0", "--key", "k", "--rollout", "101").code == 64)
        #expect(try bundlecast("release", "x", "--app", "a", "--version", "1.0.0", "--key", "k", "--expires", "soon").code == 64)
        #expect(try bundlecast("release", "x", "--app", "a", "--version", "1.0.0", "--key", "k", "--no-such-flag").code == 64)
        #expect(try bundlecast("release", "x").code == 64)
    }

    @Test func specialFilesAndEscapingLinksNameThePath() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            try write(dir + "/b1/ok", "x")
            #expect(mkfifo(dir + "/b1/queue", 0o644) == 0)
            let fifo = try release(dir, "b1", "1.0.0")
            #expect(fifo.code == 2)
            #expect(fifo.errorLine.contains("\"queue\": is a FIFO"))
            try write(dir + "/b2/ok", "x")
            symlink("../../../etc/passwd", dir + "/b2/pw")
            let escape = try release(dir, "b2", "1.0.0")
            #expect(escape.code == 2)
            #expect(escape.errorLine.contains("\"pw\": is a symlink to \"../../../etc/passwd\", which leaves the bundle"))
            try write(dir + "/b3/line\nbreak", "x")
            let control = try release(dir, "b3", "1.0.0")
            #expect(control.code == 2)
            #expect(control.stderr.contains("control character"))
        }
    }

    @Test func encryptedKeyWithoutPassphraseSaysHowToGiveOne() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            // A key that claims scrypt: the passphrase is asked for before any derivation.
            let text = try String(contentsOfFile: dir + "/Keys/demo.key", encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            var raw = [UInt8](Data(base64Encoded: lines[1])!)
            raw[2] = UInt8(ascii: "S")
            raw[3] = UInt8(ascii: "c")
            lines[1] = Data(raw).base64EncodedString()
            try write(dir + "/Keys/enc.key", lines.joined(separator: "\n") + "\n")
            let r = try run(bundlecastPath, ["release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0", "--key", "Keys/enc.key"], in: dir)
            #expect(r.code == 2)
            #expect(r.errorLine.contains("BUNDLECAST_PASSPHRASE"))
        }
    }

    @Test func everyCommandHelpHasAnExample() throws {
        for command in ["keygen", "release", "verify", "diff", "inspect", "announce", "origin", "fleet-key", "node", "status", "simulate gossip"] {
            let r = try run(bundlecastPath, command.split(separator: " ").map(String.init) + ["--help"])
            #expect(r.code == 0)
            #expect(r.stdout.contains("Example"), "\(command) --help has no example")
        }
        #expect(try bundlecast("--help").stdout.contains("Exit codes"))
    }
}
