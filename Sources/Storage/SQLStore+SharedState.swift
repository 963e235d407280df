import Crypto
import Foundation
import MailroomCore
import SQLKit

/// What several `mailroom serve` nodes on one database must share instead of keeping in memory: sign-ins under
/// way, the sign-in throttle's tallies, and who is renewing a grant.
extension SQLStore: PendingSignInRecords {
    public func keepPendingSignIn(state: String, sealed: SealedSecret, expiresAt: Date, now: Date) async throws {
        try await database.transaction { sql in
            // Abandoned sign-ins go as new ones come, so the table holds only what can still be finished.
            try await sql.raw("DELETE FROM pending_sign_ins WHERE expires_at <= \(bind: Millis.from(now))").run()
            try await sql.raw("""
                INSERT INTO pending_sign_ins (state_hash, sealed, expires_at)
                VALUES (\(bind: Self.stateHash(state)), \(bind: Data(sealed.bytes)), \(bind: Millis.from(expiresAt)))
                """).run()
        }
    }

    public func takePendingSignIn(state: String, now: Date) async throws -> SealedSecret? {
        // One statement removes and returns it: of two callbacks with one state, only one gets a row.
        let row = try await database.withSQL { sql in
            try await sql.raw("DELETE FROM pending_sign_ins WHERE state_hash = \(bind: Self.stateHash(state)) RETURNING sealed, expires_at").first()
        }
        guard let row, try row.date("expires_at") > now else { return nil }
        return SealedSecret(bytes: Array(try row.decode(column: "sealed", as: Data.self)))
    }

    /// The state travels in URLs; only its hash is a key here, so the table alone finishes no sign-in.
    static func stateHash(_ state: String) -> String {
        Hex.lowercase(SHA256.hash(data: Array(state.utf8)))
    }
}

extension SQLStore: SignInThrottleStore {
    public func updateSignInThrottle<T: Sendable>(
        keys: [String], now: Date, _ change: @Sendable (inout [String: SignInThrottle.Tally]) -> T
    ) async throws -> T {
        // Sorted, so two nodes locking the same two keys take them in one order and never deadlock.
        let keys = Array(Set(keys)).sorted()
        let dialect = database.dialect
        let result = try await database.transaction { sql in
            var tallies: [String: SignInThrottle.Tally] = [:]
            for key in keys {
                // The row exists before it is locked, so a first attempt on a key is serialized like any other.
                try await sql.raw("""
                    INSERT INTO sign_in_throttle (key, tally_json, version, updated_at)
                    VALUES (\(bind: key), '{}', 0, \(bind: Millis.from(now))) ON CONFLICT (key) DO NOTHING
                    """).run()
                // SQLite's BEGIN IMMEDIATE already holds the only write lock; PostgreSQL locks the row.
                let lock = dialect == .postgres ? " FOR UPDATE" : ""
                let row = try await sql.raw("SELECT tally_json FROM sign_in_throttle WHERE key = \(bind: key)\(unsafeRaw: lock)").first()
                let json = try row?.string("tally_json") ?? "{}"
                if let tally = try? JSONDecoder().decode(SignInThrottle.Tally.self, from: Data(json.utf8)) { tallies[key] = tally }
            }
            var changed = tallies
            let result = change(&changed)
            for key in keys where changed[key] != tallies[key] {
                let tally = changed[key] ?? SignInThrottle.Tally()
                try await sql.raw("""
                    UPDATE sign_in_throttle SET tally_json = \(bind: Self.json(tally)), version = version + 1, updated_at = \(bind: Millis.from(now))
                    WHERE key = \(bind: key)
                    """).run()
            }
            return result
        }
        try await sweepThrottle(now: now)
        return result
    }

    /// Forgets keys nobody has tried for a day (longer than any window); skips rows another node holds.
    private func sweepThrottle(now: Date) async throws {
        let cutoff = Millis.from(now.addingTimeInterval(-86_400))
        try await database.withSQL { sql in
            switch database.dialect {
            case .postgres:
                try await sql.raw("""
                    DELETE FROM sign_in_throttle WHERE key IN (
                        SELECT key FROM sign_in_throttle WHERE updated_at < \(bind: cutoff) LIMIT 100 FOR UPDATE SKIP LOCKED)
                    """).run()
            case .sqlite:
                try await sql.raw("DELETE FROM sign_in_throttle WHERE updated_at < \(bind: cutoff)").run()
            }
        }
    }
}

extension SQLStore {
    public func claimGrantRenewal(_ id: MailboxID, expectedVersion: Int64, by node: String, lasting: Duration) async throws -> Bool {
        let now = DatabaseClock.now(database.dialect)
        // One conditional UPDATE: PostgreSQL re-checks the condition after a concurrent claim commits, so one wins.
        return try await database.withSQL { sql in
            try await sql.raw("""
                UPDATE oauth_grants SET renewing_by = \(bind: node), renewing_until = \(unsafeRaw: now) + \(bind: DatabaseClock.millis(lasting))
                WHERE mailbox_id = \(bind: id.rawValue) AND version = \(bind: expectedVersion)
                    AND (renewing_until IS NULL OR renewing_until <= \(unsafeRaw: now) OR renewing_by = \(bind: node))
                RETURNING mailbox_id
                """).first() != nil
        }
    }

    public func releaseGrantRenewal(_ id: MailboxID, by node: String) async throws {
        try await database.withSQL { sql in
            try await sql.raw("""
                UPDATE oauth_grants SET renewing_by = NULL, renewing_until = NULL
                WHERE mailbox_id = \(bind: id.rawValue) AND renewing_by = \(bind: node)
                """).run()
        }
    }
}
