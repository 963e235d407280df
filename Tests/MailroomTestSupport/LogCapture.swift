import Foundation
import Logging
import Synchronization

/// Collects every log line a test's components write, to prove no secret is ever logged.
///
/// Each line is `level message key=value … error=…`, the handler's own metadata merged with the event's, so a
/// secret in any of them shows.
public final class LogCapture: Sendable {
    private let captured = Mutex<[String]>([])

    public init() {}

    /// Every line so far, in order.
    public var lines: [String] { captured.withLock { $0 } }

    /// Every line so far, one per line.
    public var text: String { lines.joined(separator: "\n") }

    public func append(_ line: String) { captured.withLock { $0.append(line) } }

    /// A logger at trace level (everything) writing here.
    public func logger(_ label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let error = event.error.map { " error=\($0)" } ?? ""
            capture.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))\(error)")
        }
    }
}
