import BundlecastCore
import Foundation
import Testing

@Suite struct VerifyCLITests {
    func released(_ dir: String) throws {
        try setUpSample(dir)
        for version in ["1.0.0", "1.1.0"] {
            let r = try bundlecast("release", "Samples/hello-fleet/" + version, "--app", "hello-fleet", "--version", version, "--key", "Keys/demo.key", in: dir)
            #expect(r.code == 0, "\(r.stderr)")
        }
    }

    @Test func exitCodes() throws {
        try withTemporaryDirectory { dir in
            try released(dir)
            let m = "Manifests/hello-fleet/1.0.0.manifest"
            let ok = try bundlecast("verify", "--pub", "Keys/demo.pub", m, in: dir)
            #expect(ok.code == 0, "\(ok.stderr)")
            #expect(ok.stdout.contains("verified \(m): hello-fleet 1.0.0"))
            #expect(ok.stdout.contains("trusted comment: bundlecast=1 kind=release app=hello-fleet version=1.0.0 sequence=1"))
            // 2: missing.
            #expect(try bundlecast("verify", "--pub", "Keys/demo.pub", "Manifests/none.manifest", in: dir).code == 2)
            // 1: tampered manifest (one byte).
            var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + m))
            bytes[bytes.count - 3] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: dir + "/" + m))
            let bad = try bundlecast("verify", "--pub", "Keys/demo.pub", m, in: dir)
            #expect(bad.code == 1)
            #expect(bad.errorLine.contains("signature verification failed"))
            // 1: mix and match, another release's notice.
            let mixed = try bundlecast("verify", "--pub", "Keys/demo.pub", "--signature", "Manifests/hello-fleet/1.1.0.manifest.minisig", "Samples/../Manifests/hello-fleet/1.1.0.manifest", in: dir)
            #expect(mixed.code == 0)
            let mix = try bundlecast("verify", "--pub", "Keys/demo.pub", "--signature", "Manifests/hello-fleet/1.1.0.manifest.minisig", m, in: dir)
            #expect(mix.code == 1)
        }
    }

    @Test func anExpiredNoticeExitsWith3() throws {
        // The golden notices were created at 1790000000 and expire 30 days later.
        let r = try bundlecast("verify", "--pub", "Keys/demo-test-only.pub", "Manifests/hello-fleet/1.0.0.manifest", in: repoRoot)
        #expect(r.code == 3)
        #expect(r.stdout.contains("verified"))
        #expect(r.errorLine.contains("expired"))
    }

    @Test func aDirectoryIsComparedExactly() throws {
        try withTemporaryDirectory { dir in
            try released(dir)
            let m = "Manifests/hello-fleet/1.1.0.manifest"
            let same = try bundlecast("verify", "--pub", "Keys/demo.pub", "--manifest", m, "Samples/hello-fleet/1.1.0", in: dir)
            #expect(same.code == 0, "\(same.stderr)")
            #expect(same.stdout.contains("matches hello-fleet 1.1.0 exactly"))
            let other = try bundlecast("verify", "--pub", "Keys/demo.pub", "--manifest", m, "Samples/hello-fleet/1.0.0", in: dir)
            #expect(other.code == 1)
            #expect(other.stdout.split(separator: "\n").map(String.init) == [
                "changed  bin/hello (163 bytes, expected 217)",
                "changed  img/swarm.png (88372 bytes, expected 89080)",
                "changed  index.html (1096 bytes, expected 1084)",
                "missing  share/CHANGELOG",
                "changed  share/corpus.txt (561021 bytes, expected 561097)",
                "changed  style.css (content differs)",
            ])
            #expect(other.errorLine.contains("6 difference(s)"))
        }
    }

    /// 16 MiB of newlines given as a manifest is refused at its first line, with the
    /// memory of a small process: lines are cut as they are read (a string per line first
    /// once took about 850 MB). Peak RSS of the one child, from `getrusage`.
    @Test func aManifestOfNewlinesIsRefusedWithoutHoldingItsLines() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let path = dir + "/lines.manifest"
            try Data(repeating: 0x0A, count: Manifest.maxEncodedBytes).write(to: URL(fileURLWithPath: path))
            let script = """
                import resource, subprocess, sys
                r = subprocess.run(sys.argv[1:], capture_output=True)
                print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                sys.stderr.write(r.stderr.decode())
                """
            let r = try run("/usr/bin/python3", ["-c", script, bundlecastPath, "inspect", path])
            let fields = r.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            #expect(fields.count == 2 && fields[0] == 2, "\(r.stdout) \(r.stderr)")
            #expect(r.errorLine.contains("manifest line 1"))
            #expect((fields.last ?? .max) < 256 << 10, "peak RSS \(fields.last ?? 0) KiB")
        }
    }

    @Test func diffAndInspect() throws {
        let diff = try bundlecast("diff", "--json", "--pub", "Keys/demo-test-only.pub", "Manifests/hello-fleet/1.0.0.manifest", "Manifests/hello-fleet/1.1.0.manifest", in: repoRoot)
        #expect(diff.code == 0, "\(diff.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Int]
        #expect(json?["chunks"] == 7)
        #expect(json?["bytes"] == 165_076)
        #expect(json?["totalBytes"] == 655_057)
        let human = try bundlecast("diff", "Manifests/hello-fleet/1.0.0.manifest", "Manifests/hello-fleet/1.1.0.manifest", in: repoRoot)
        #expect(human.stdout.contains("fetch 7 of 17 chunks"))
        let inspect = try bundlecast("inspect", "Manifests/hello-fleet/1.0.0.manifest", in: repoRoot)
        #expect(inspect.code == 0)
        #expect(inspect.stdout.contains("README -> share/motd.txt"))
        #expect(inspect.stdout.contains("x          163      1  bin/hello"))
        let inspectJSON = try bundlecast("inspect", "--json", "Manifests/hello-fleet/1.0.0.manifest", in: repoRoot)
        let object = try JSONSerialization.jsonObject(with: Data(inspectJSON.stdout.utf8)) as? [String: Any]
        #expect((object?["entries"] as? [Any])?.count == 10)
        let garbage = try bundlecast("inspect", "Keys/demo-test-only.pub", in: repoRoot)
        #expect(garbage.code == 2)
        #expect(garbage.errorLine.contains("not a Bundlecast manifest"))
    }
}
