import Foundation
import Testing
import TestSupport

/// `bundlecast demo`, the newcomer's first command, end to end: an origin and four nodes,
/// two releases, every tree checked by the demo itself; here its output is checked too.
@Suite(.serialized) struct DemoTests {
    @Test func theDemoConvergesAndFetchesOnlyTheChange() throws {
        let r = try runProgram(bundlecastPath, ["demo", "--nodes", "4", "--deadline", "90s"], in: repoRoot, timeout: 300)
        #expect(r.code == 0, "demo failed: \(r.stderr)")
        #expect(r.stdout.contains("every installed tree matches the signed manifest of 1.0.0"))
        #expect(r.stdout.contains("every installed tree matches the signed manifest of 1.1.0"))
        // What 1.1.0's new chunks weigh is all each node fetched for it.
        let heading = try #require(r.stdout.split(separator: "\n").first { $0.contains("What each node fetched for 1.1.0") })
        let changed = try #require(heading.split(separator: ", ").last?.split(separator: " in new chunks").first)
        for node in ["node2", "node3", "node4"] { #expect(r.stdout.contains("\(node)  \(changed) from peers"), "\(r.stdout)") }
        // Every node's content server hands out what it installed.
        #expect(r.stdout.contains("http://127.0.0.1:"))
        for node in ["node1", "node2", "node3", "node4"] {
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix(node) && $0.contains("serves 1.1.0 at http://127.0.0.1:") }, "\(r.stdout)")
        }
        #expect(r.stdout.contains("4 nodes  100.0%"))
        // The origin served notices only: no route it answered carries bundle bytes.
        let routes = r.stdout.split(separator: "\n").filter { $0.contains("bundlecast_origin_requests_total{") }
        #expect(!routes.isEmpty)
        #expect(routes.allSatisfy { $0.contains("/v1/apps/") })
        // Every process it started is gone; its directory (logs, data) is left for the user, removed here.
        #expect(try runProgram("/bin/sh", ["-c", "pgrep -f 'data [^ ]*bundlecast-dem[o]' || true"]).stdout.isEmpty)
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("every process stopped; logs and data are in ") }
        let directory = try #require(line?.dropFirst("every process stopped; logs and data are in ".count).split(separator: " ").first)
        #expect(directory.contains("/bundlecast-demo."))
        try FileManager.default.removeItem(atPath: String(directory))
    }
}
