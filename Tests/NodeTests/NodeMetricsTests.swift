@testable import Node
import Testing

/// The node's metrics: counters fed from totals the shells keep never go down, and one
/// version series per app names what it runs now.
@Suite struct NodeMetricsTests {
    func sample(_ metrics: NodeMetrics, _ series: String) -> Double? {
        let text = String(decoding: metrics.text(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test(arguments: [
        ([5, 12, 12, 30], 30.0),   // raised by what each total grew
        ([5, 3, 10], 12.0),        // a total that went down (a shell made anew) is a new base
        ([0], 0.0),                // listed from the first scrape, at zero
    ])
    func aSyncedCounterFollowsItsTotalAndNeverGoesDown(_ totals: [Int64], _ expected: Double) {
        let metrics = NodeMetrics()
        for total in totals { metrics.sync("bundlecast_node_test_total", [("direction", "in")], to: total) }
        #expect(sample(metrics, #"bundlecast_node_test_total{direction="in"}"#) == expected)
    }

    @Test func anAppHasOneVersionSeriesForWhatItRunsNow() {
        let metrics = NodeMetrics()
        metrics.installedVersion(app: "acme", "1.0.0")
        metrics.installedVersion(app: "acme", "1.1.0")
        #expect(sample(metrics, #"bundlecast_node_installed_version{app="acme",version="1.1.0"}"#) == 1)
        #expect(sample(metrics, #"bundlecast_node_installed_version{app="acme",version="1.0.0"}"#) == nil)
        metrics.installedVersion(app: "acme", nil)
        #expect(!String(decoding: metrics.text(), as: UTF8.self).contains("installed_version"))
    }

    @Test func installsAndRollbacksAreCountedByResult() {
        let metrics = NodeMetrics()
        metrics.install("installed")
        metrics.install("installed")
        metrics.install("rolled_back")
        metrics.rollback("refused")
        metrics.installed(after: .milliseconds(300))
        #expect(sample(metrics, #"bundlecast_node_installs_total{result="installed"}"#) == 2)
        #expect(sample(metrics, #"bundlecast_node_installs_total{result="rolled_back"}"#) == 1)
        #expect(sample(metrics, #"bundlecast_node_rollbacks_total{result="refused"}"#) == 1)
        #expect(sample(metrics, "bundlecast_node_install_seconds_count") == 1)
    }
}
