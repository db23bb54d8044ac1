import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The origin's metrics, through swift-metrics with a Prometheus registry of
/// its own (no global bootstrap, so several origins can live in one process).
public final class OriginMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private struct Key: Hashable {
        let label: String
        let first: String
        let second: Int
    }

    // Keyed by a struct, not a built string: this runs on every request.
    private let counters = Mutex<[Key: CoreMetrics.Counter]>([:])
    private let waiting = Mutex(0)
    private let waitingGauge: CoreMetrics.Gauge
    private let timestampsGauge: CoreMetrics.Gauge

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        waitingGauge = CoreMetrics.Gauge(label: "bundlecast_origin_long_polls_waiting", factory: factory)
        waitingGauge.record(0)
        timestampsGauge = CoreMetrics.Gauge(label: "bundlecast_origin_timestamps_held", factory: factory)
        timestampsGauge.record(0)
    }

    /// Signed timestamps the origin keeps for re-use (bounded: see `TimestampSigner`).
    func timestampsHeld(_ count: Int) { timestampsGauge.record(count) }

    /// Brackets a long-poll, for the `bundlecast_origin_long_polls_waiting` gauge.
    public func longPoll<T>(_ body: () async throws -> T) async rethrows -> T {
        waitingGauge.record(waiting.withLock { $0 += 1; return $0 })
        defer { waitingGauge.record(waiting.withLock { $0 -= 1; return $0 }) }
        return try await body()
    }

    /// Requests by route template and status code.
    public func request(route: String, status: Int) {
        requestCounter(route: route, status: status).increment()
    }

    /// The counter behind ``request(route:status:)``, for callers that keep it.
    public func requestCounter(route: String, status: Int) -> CoreMetrics.Counter {
        counter(Key(label: "bundlecast_origin_requests_total", first: route, second: status)) {
            [("route", route), ("status", String(status))]
        }
    }

    /// Notices by result: `accepted`, `duplicate`, or a refusal reason.
    public func notice(_ result: String) {
        counter(Key(label: "bundlecast_origin_notices_total", first: result, second: 0)) { [("result", result)] }.increment()
    }

    /// Rotation statements by result: `rotated`, `anchored`, `known`, or a refusal reason (`replay`, `gap`...).
    public func rotation(_ result: String) {
        counter(Key(label: "bundlecast_origin_rotations_total", first: result, second: 0)) { [("result", result)] }.increment()
    }

    private func counter(_ key: Key, _ dimensions: () -> [(String, String)]) -> CoreMetrics.Counter {
        counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(label: key.label, dimensions: dimensions(), factory: factory)
            cache[key] = counter
            return counter
        }
    }

    /// The Prometheus text exposition.
    public func text() -> [UInt8] { registry.emitToBuffer() }
}
