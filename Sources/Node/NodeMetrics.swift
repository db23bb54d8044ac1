import Prometheus
import Synchronization

/// The node's Prometheus metrics (`GET /metrics` on the admin API), in a registry of its own
/// (no global bootstrap, so several nodes can live in one process).
///
/// Events the updater sees (installs, rollbacks, their durations) are recorded as they
/// happen. Totals the shells already keep (transfer and gossip counters, refused notices)
/// are brought into the registry at each scrape, each counter raised by what its total
/// grew since the last one, so the counters stay counters and the shells keep one set of
/// books. Names and labels come from a fixed set or from validated app names and versions:
/// the registry traps on a family whose label names change, so none here ever do.
public final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let installSeconds: DurationHistogram
    private let fetchSeconds: DurationHistogram
    /// The last total seen per synced counter, by name and label values.
    private let synced = Mutex<[String: Int64]>([:])
    /// The version each app's `installed_version` series names now (one series per app at 1).
    private let versions = Mutex<[String: (version: String, gauge: Gauge)]>([:])

    static let durationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    public init() {
        installSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("bundlecast_node_install_seconds", help: "Writing, switching to and health-checking a release"),
            buckets: Self.durationBuckets)
        fetchSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("bundlecast_node_fetch_seconds", help: "Fetching a release's missing chunks from peers"),
            buckets: Self.durationBuckets)
    }

    /// An install's outcome: `installed`, `rolled_back` (its health check failed) or `failed`.
    func install(_ result: String) {
        registry.makeCounter(descriptor: Self.name("bundlecast_node_installs_total"), labels: [("result", result)]).increment()
    }

    /// An operator's rollback: `done` or `refused`.
    func rollback(_ result: String) {
        registry.makeCounter(descriptor: Self.name("bundlecast_node_rollbacks_total"), labels: [("result", result)]).increment()
    }

    func installed(after duration: Duration) { installSeconds.record(duration) }
    func fetched(after duration: Duration) { fetchSeconds.record(duration) }

    /// Raises a counter to a total kept elsewhere. A total below the last one seen (a shell
    /// made anew) is taken as the new base: a counter never goes down.
    func sync(_ name: String, _ labels: [(String, String)] = [], to total: Int64) {
        let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
        let grown = synced.withLock { seen -> Int64 in
            let last = seen[key] ?? 0
            seen[key] = total
            return total > last ? total - last : 0
        }
        // Made even at zero, so a scrape lists every counter from the start.
        let counter = labels.isEmpty
            ? registry.makeCounter(descriptor: Self.name(name)) : registry.makeCounter(descriptor: Self.name(name), labels: labels)
        if grown > 0 { counter.increment(by: grown) }
    }

    func gauge(_ name: String, _ value: Int64, labels: [(String, String)] = []) {
        let gauge = labels.isEmpty
            ? registry.makeGauge(descriptor: Self.name(name)) : registry.makeGauge(descriptor: Self.name(name), labels: labels)
        gauge.set(to: Double(value))
    }

    /// A whole metric name as given (the registry joins non-empty parts only).
    static func name(_ full: String, help: String = "") -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: full, unitName: "", helpText: help)
    }

    /// `bundlecast_node_installed_version{app, version} 1` for what `app` runs now; the series
    /// of the version it ran before is removed.
    func installedVersion(app: String, _ version: String?) {
        versions.withLock { held in
            if let old = held[app], old.version == version { return }
            if let old = held[app] {
                registry.unregisterGauge(old.gauge)
                held[app] = nil
            }
            guard let version else { return }
            let gauge = registry.makeGauge(descriptor: Self.name("bundlecast_node_installed_version"), labels: [("app", app), ("version", version)])
            gauge.set(to: 1)
            held[app] = (version, gauge)
        }
    }

    /// The Prometheus text exposition.
    public func text() -> [UInt8] { registry.emitToBuffer() }
}
