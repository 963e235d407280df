/// When each worker last went round its loop, for `/healthz`: a worker that stopped going round (stuck, or ended by
/// an error) shows as `stale` to the load balancer or orchestrator, not only in a log.
public actor WorkerHeartbeats {
    /// The process's workers report here; `/healthz` reads it.
    public static let shared = WorkerHeartbeats()

    public struct Status: Sendable, Equatable, Codable {
        /// `ok`, or `stale` when the worker missed three of its rounds and five minutes more (a round may wait on slow servers).
        public var state: String
        public var secondsSinceLastRound: Double
    }

    private var beats: [String: (at: ContinuousClock.Instant, every: Duration)] = [:]

    /// A worker went round its loop, and means to again within `every`.
    public func beat(_ worker: String, every: Duration) {
        beats[worker] = (.now, every)
    }

    public func report(now: ContinuousClock.Instant = .now) -> [String: Status] {
        beats.mapValues { beat in
            let since = now - beat.at
            let seconds = Double(since.components.seconds) + Double(since.components.attoseconds) / 1e18
            return Status(state: since > beat.every * 3 + .seconds(300) ? "stale" : "ok", secondsSinceLastRound: (seconds * 10).rounded() / 10)
        }
    }
}
