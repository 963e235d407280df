import Foundation
import MailroomCore
import SQLKit

/// Fixing a mailbox's sign-in: a new password (Case 2) or a new OAuth grant (Case 3, the Basic→OAuth migration,
/// an account switch). Each is one transaction: the mailbox is never half old, half new.
extension SQLStore {
    public func replacePassword(_ id: MailboxID, with sealed: SealedSecret, at now: Date) async throws {
        try await database.transaction { sql in
            guard let row = try await sql.raw("SELECT * FROM mailboxes WHERE id = \(bind: id.rawValue)").first() else {
                throw StoreError.notFound("There is no mailbox with id \(id).")
            }
            let mailbox = try Self.mailbox(from: row)
            var directions: [Direction] = []
            if mailbox.incoming?.authentication == .password { directions.append(.incoming) }
            if mailbox.outgoing?.authentication == .password { directions.append(.outgoing) }
            for direction in directions {
                try await sql.raw("DELETE FROM credentials WHERE mailbox_id = \(bind: id.rawValue) AND direction = \(bind: direction.rawValue)").run()
                try await sql.raw("""
                    INSERT INTO credentials (mailbox_id, direction, kind, sealed, updated_at)
                    VALUES (\(bind: id.rawValue), \(bind: direction.rawValue), 'password', \(bind: Data(sealed.bytes)), \(bind: Millis.from(now)))
                    """).run()
            }
            try await sql.raw("UPDATE mailboxes SET updated_at = \(bind: Millis.from(now)) WHERE id = \(bind: id.rawValue)").run()
            try await Self.insertActivity(sql, id: id, at: now, kind: "password", text: "The password was replaced; the new one was tested before it was saved.")
        }
    }

    public func reconnect(_ id: MailboxID, _ change: Reconnection, at now: Date) async throws -> Mailbox {
        try await database.transaction { sql in
            guard let row = try await sql.raw("SELECT * FROM mailboxes WHERE id = \(bind: id.rawValue)").first() else {
                throw StoreError.notFound("There is no mailbox with id \(id).")
            }
            let before = try Self.mailbox(from: row)
            let oldGrant = try await sql.raw("SELECT * FROM oauth_grants WHERE mailbox_id = \(bind: id.rawValue)").first().map(Self.grant(from:))
            // Settings that change are remembered for «Others»; a plain reauthorization (same everything) keeps what was there.
            let changed = before.provider != change.provider || before.incoming != change.incoming || before.outgoing != change.outgoing
                || oldGrant?.account.lowercased() != change.grant.account.lowercased()
            if changed {
                let previous = PreviousSettings(
                    provider: before.provider, incoming: before.incoming, outgoing: before.outgoing, account: oldGrant?.account, replacedAt: now)
                try await sql.raw("UPDATE mailboxes SET previous_json = \(bind: Self.json(previous)) WHERE id = \(bind: id.rawValue)").run()
            }
            let incoming = change.incoming
            let outgoing = change.outgoing
            try await sql.raw("""
                UPDATE mailboxes SET provider = \(bind: change.provider.rawValue),
                    imap_host = \(bind: incoming?.host), imap_port = \(bind: incoming.map { Int64($0.port) }), imap_security = \(bind: incoming?.security.rawValue),
                    imap_username = \(bind: incoming?.username), imap_folder = \(bind: incoming?.folder),
                    imap_auth = \(bind: (incoming?.authentication ?? .oauth2).rawValue),
                    smtp_host = \(bind: outgoing?.host), smtp_port = \(bind: outgoing.map { Int64($0.port) }), smtp_security = \(bind: outgoing?.security.rawValue),
                    smtp_username = \(bind: outgoing?.username), smtp_auth = \(bind: outgoing?.authentication.rawValue),
                    updated_at = \(bind: Millis.from(now))
                WHERE id = \(bind: id.rawValue)
                """).run()
            // Passwords of directions that now use the grant are deleted, not kept: «Others» never holds a secret.
            try await sql.raw("DELETE FROM credentials WHERE mailbox_id = \(bind: id.rawValue)").run()
            // The version only grows, so a renewal of the old grant still in flight cannot overwrite the new one.
            var grant = change.grant
            grant.version = (oldGrant?.version ?? -1) + 1
            try await sql.raw("DELETE FROM oauth_grants WHERE mailbox_id = \(bind: id.rawValue)").run()
            try await Self.insertGrant(grant, mailbox: id, sql: sql)
            if let restart = change.restartAt, let folder = incoming?.folder {
                try await sql.raw("DELETE FROM sync_state WHERE mailbox_id = \(bind: id.rawValue)").run()
                try await Self.upsertWatermark(sql, id: id, folder: folder, restart, at: Millis.from(now))
            }
            try await Self.insertActivity(sql, id: id, at: now, kind: "signed_in", text: change.summary)
            guard let updated = try await sql.raw("SELECT * FROM mailboxes WHERE id = \(bind: id.rawValue)").first() else {
                throw StoreError.corrupt("The mailbox vanished while it was updated.")
            }
            return try Self.mailbox(from: updated)
        }
    }

    public func previousSettings(_ id: MailboxID) async throws -> PreviousSettings? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT previous_json FROM mailboxes WHERE id = \(bind: id.rawValue)").first()
                .flatMap { try $0.optionalString("previous_json") }
                .flatMap { Self.decodeJSON(PreviousSettings.self, $0) }
        }
    }

    /// One conditional UPDATE: the row changes only if it still records `expected`, so of several nodes one wins.
    public func markNotified(_ id: MailboxID, _ direction: Direction, from expected: HealthState?, to state: HealthState?, at now: Date) async throws -> Bool {
        // `= NULL` is never true: an expected «nothing told» is matched with IS NULL.
        let unchanged: SQLQueryString = expected.map { "notified_state = \(bind: $0.rawValue)" } ?? "notified_state IS NULL"
        return try await database.withSQL { sql in
            try await sql.raw("""
                UPDATE mailbox_health SET notified_state = \(bind: state?.rawValue), notified_at = \(bind: Millis.from(now))
                WHERE mailbox_id = \(bind: id.rawValue) AND direction = \(bind: direction.rawValue) AND \(unchanged)
                RETURNING mailbox_id
                """).first() != nil
        }
    }

    static func insertActivity(_ sql: any SQLDatabase, id: MailboxID, at now: Date, kind: String, text: String) async throws {
        try await sql.raw("""
            INSERT INTO activity_log (mailbox_id, at, kind, text) VALUES (\(bind: id.rawValue), \(bind: Millis.from(now)), \(bind: kind), \(bind: text))
            """).run()
    }
}

extension SQLStore: MailboxAdministration {
    /// Mailboxes with a stored direction in «Reauthorization required» or «Migration to OAuth required» (the banner's
    /// stored part; see ``MailboxAdministration``).
    public func mailboxesNeedingReauthorization() async throws -> [MailboxID] {
        try await database.withSQL { sql in
            try await sql.raw("""
                SELECT DISTINCT mailbox_id FROM mailbox_health
                WHERE state IN (\(bind: HealthState.reauthorizationRequired.rawValue), \(bind: HealthState.migrationRequired.rawValue))
                ORDER BY mailbox_id
                """).all().map { MailboxID(try $0.int64("mailbox_id")) }
        }
    }
}

extension SQLStore {
    /// Pauses or resumes fetching for a mailbox («Paused»: turned off by the admin), with an activity-log entry.
    public func setEnabled(_ id: MailboxID, _ enabled: Bool, at now: Date) async throws -> Bool {
        try await database.transaction { sql in
            guard try await sql.raw("SELECT id FROM mailboxes WHERE id = \(bind: id.rawValue)").first() != nil else { return false }
            try await sql.raw("""
                UPDATE mailboxes SET enabled = \(bind: enabled ? Int64(1) : Int64(0)), updated_at = \(bind: Millis.from(now)) WHERE id = \(bind: id.rawValue)
                """).run()
            try await Self.insertActivity(
                sql, id: id, at: now, kind: enabled ? "resumed" : "paused",
                text: enabled ? "Fetching resumed by an admin." : "Fetching paused by an admin; mail waits on the server.")
            return true
        }
    }
}
