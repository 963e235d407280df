import Metrics
import Prometheus
import Web

/// The process's metrics backend: swift-metrics into a Prometheus registry, served at `/metrics`.
enum PrometheusMetrics {
    /// Bootstraps swift-metrics once for the process and returns the endpoint that renders it.
    static func bootstrap(token: String?) -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // New-mail latency and request times: from a few milliseconds (push on a local server) to minutes (a poll).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        MetricsSystem.bootstrap(factory)
        return MetricsEndpoint(token: token) {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return buffer
        }
    }
}
