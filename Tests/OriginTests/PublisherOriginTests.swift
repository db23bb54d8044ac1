import Foundation
import Testing

/// `release --origin` and `announce` against a real origin process.
@Suite(.serialized) struct PublisherOriginTests {
    func bundlecast(_ args: [String], in dir: String) throws -> (Int32, String, String) {
        let r = try runProgram(bundlecastPath, args, in: dir)
        return (r.code, r.stdout, r.stderr)
    }

    @Test func aFreshCheckoutTakesItsSequenceFromTheOrigin() async throws {
        try await withTemporaryDirectory { dir in
            let origin = try OriginProcess(directory: dir, arguments: ["--trust", "hello-fleet=\(demoPub)"])
            // Another publisher machine already announced sequence 5.
            #expect(try await http("POST", origin.base + "/v1/apps/hello-fleet/notices", body: try notice(sequence: 5, version: "0.9.0")).status == 201)
            try FileManager.default.copyItem(atPath: repoRoot + "/Samples", toPath: dir + "/Samples")
            let (code, out, err) = try bundlecast(["release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0",
                                                   "--key", repoRoot + "/Keys/demo-test-only.key", "--origin", origin.base], in: dir)
            #expect(code == 0, "\(err)")
            #expect(out.contains("(sequence 6,"))
            #expect(out.contains("announced sequence 6"))
            let latest = try await http("GET", origin.base + "/v1/apps/hello-fleet/channels/stable/latest")
            #expect(latest.header("ETag")?.hasPrefix("\"6-") == true)
            // Announcing the same notice again is harmless.
            let again = try bundlecast(["announce", "Manifests/hello-fleet/1.0.0.manifest.minisig", "--origin", origin.base], in: dir)
            #expect(again.0 == 0)
            #expect(again.1.contains("already has"))
            // A refusal is one line that says what to do.
            let stale = try bundlecast(["announce", repoRoot + "/Manifests/hello-fleet/1.0.0.manifest.minisig", "--origin", origin.base], in: dir)
            #expect(stale.0 == 2)
            #expect(stale.2.split(separator: "\n").count == 1)
            #expect(stale.2.contains("(409)") || stale.2.contains("expired"))
            origin.stop()
        }
    }

    @Test func anUnreachableOriginIsOneLine() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let (code, _, err) = try bundlecast(["announce", repoRoot + "/Manifests/hello-fleet/1.0.0.manifest.minisig", "--origin", "http://127.0.0.1:1"], in: dir)
            #expect(code == 2)
            #expect(err.contains("cannot reach the origin"))
            #expect(err.split(separator: "\n").count == 1)
        }
    }
}
