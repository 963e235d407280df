import Foundation
import Storage

/// Sees Mailroom's commits from the bench's own database connection: the message count, read every `interval`.
/// A commit is seen at most one interval and one query late; nothing in Mailroom is changed to be watched.
struct CommitWatch {
    let store: SQLStore
    let interval: Duration

    /// Waits until the database holds at least `count` messages; returns the monotonic time it was seen.
    func messages(atLeast count: Int, timeout: Duration) async throws -> UInt64 {
        let deadline = Monotonic.now() + UInt64(timeout.components.seconds) * 1_000_000_000
        while true {
            let filed = try await store.messageCount()
            let now = Monotonic.now()
            if filed >= count { return now }
            guard now < deadline else { throw CommitTimeout(filed: filed, expected: count, timeout: timeout) }
            try await Task.sleep(for: interval)
        }
    }

    func count() async throws -> Int { try await store.messageCount() }
}

/// Mailroom did not commit what was expected in time.
struct CommitTimeout: Error, CustomStringConvertible {
    let filed: Int
    let expected: Int
    let timeout: Duration
    var description: String { "only \(filed) of \(expected) messages were committed within \(timeout)" }
}
