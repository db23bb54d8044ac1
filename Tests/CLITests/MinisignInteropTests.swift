import Foundation
import Testing

/// Bundlecast's keys and notices against the stock `minisign` binary.
@Suite struct MinisignInteropTests {
    @Test func minisignAcceptsOurNotices() throws {
        let r = try minisign("-Vm", "Manifests/hello-fleet/1.1.0.manifest", "-p", "Keys/demo-test-only.pub", in: repoRoot)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Trusted comment: bundlecast=1 kind=release app=hello-fleet version=1.1.0 sequence=2"))
    }

    @Test func minisignRefusesATamperedNotice() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.copyItem(atPath: repoRoot + "/Manifests/hello-fleet/1.1.0.manifest", toPath: dir + "/m")
            let sig = try String(contentsOfFile: repoRoot + "/Manifests/hello-fleet/1.1.0.manifest.minisig", encoding: .utf8)
            try write(dir + "/m.minisig", sig.replacingOccurrences(of: "rollout=100", with: "rollout=10"))
            #expect(try minisign("-Vm", "m", "-p", repoRoot + "/Keys/demo-test-only.pub", in: dir).code != 0)
        }
    }

    @Test func aMinisignKeyReleasesAndMinisignSignedNoticesVerify() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            let gen = try minisign("-G", "-W", "-p", "ms.pub", "-s", "ms.key", in: dir)
            #expect(gen.code == 0, "\(gen.stderr)")
            // A key from `minisign -G -W` signs a release in bundlecast.
            let rel = try bundlecast("release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0", "--key", "ms.key", in: dir)
            #expect(rel.code == 0, "\(rel.stderr)")
            let m = "Manifests/hello-fleet/1.0.0.manifest"
            #expect(try minisign("-Vm", m, "-p", "ms.pub", in: dir).code == 0)
            // A notice signed by stock `minisign -S` verifies in bundlecast.
            let ours = try String(contentsOfFile: dir + "/" + m + ".minisig", encoding: .utf8)
            let comment = ours.split(separator: "\n")[2].dropFirst("trusted comment: ".count)
                .replacingOccurrences(of: "sequence=1", with: "sequence=2").replacingOccurrences(of: "rollout=100", with: "rollout=25")
            let sign = try minisign("-S", "-s", "ms.key", "-m", m, "-x", "ramp.minisig", "-t", comment, in: dir)
            #expect(sign.code == 0, "\(sign.stderr)")
            let v = try bundlecast("verify", "--pub", "ms.pub", "--signature", "ramp.minisig", m, in: dir)
            #expect(v.code == 0, "\(v.stderr)")
            #expect(v.stdout.contains("sequence 2, channel stable, rollout 25%"))
        }
    }

    @Test func minisignSignsWithOurKeys() throws {
        try withTemporaryDirectory { dir in
            #expect(try bundlecast("keygen", "--out", "bc", "--unencrypted", in: dir).code == 0)
            try write(dir + "/file", "payload")
            #expect(try minisign("-S", "-s", "bc.key", "-m", "file", in: dir).code == 0)
            #expect(try minisign("-Vm", "file", "-p", "bc.pub", in: dir).code == 0)
        }
    }
}
