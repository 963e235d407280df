import MailroomCore

/// The database's own clock, in stored milliseconds, as an SQL expression: what leases and claims are judged by.
///
/// Why the database's and not the node's: every node compares its deadlines against the same clock, so a node
/// whose clock runs a few seconds ahead cannot take a lease that is still valid, nor one whose clock runs behind
/// keep sending after its claim ran out. Nodes only pass durations. (The outbox schedule, `next_attempt_at`, stays
/// on the node's clock: it is written by a node's retry policy, and a few seconds' skew only moves a retry.)
enum DatabaseClock {
    /// Milliseconds since 1970 now. PostgreSQL: `now()` (the transaction's start, the same for every statement of
    /// a claim). SQLite: `julianday('now')`, which keeps milliseconds (`strftime('%s')` only has seconds).
    static func now(_ dialect: SQLDialectKind) -> String {
        switch dialect {
        case .postgres: "(EXTRACT(EPOCH FROM now()) * 1000)::BIGINT"
        case .sqlite: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
        }
    }

    static func millis(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
