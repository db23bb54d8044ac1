import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The origin's metrics, through swift-metrics with a Prometheus registry of
/// its own (no global bootstrap, so several origins can live in one process).
public final class OriginMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Requests by route template and status code.
    public func request(route: String, status: Int) {
        counter("bundlecast_origin_requests_total", [("route", route), ("status", String(status))]).increment()
    }

    /// Notices by result: `accepted`, `duplicate`, or a refusal reason.
    public func notice(_ result: String) {
        counter("bundlecast_origin_notices_total", [("result", result)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
            cache[key] = counter
            return counter
        }
    }

    /// The Prometheus text exposition.
    public func text() -> [UInt8] { registry.emitToBuffer() }
}
