import Foundation
import MailroomCore
import SQLKit

extension SQLStore {
    public func createMailbox(_ mailbox: ValidMailbox, incomingSecret: SealedSecret?, at now: Date) async throws -> Mailbox {
        try await database.transaction { sql in
            let created = try await Self.insertMailbox(mailbox, at: now, sql: sql)
            if let incomingSecret {
                // One account, one password: it signs in for fetching and, with its own SMTP server, for sending.
                var directions: [Direction] = []
                if mailbox.incoming != nil { directions.append(.incoming) }
                if mailbox.outgoing != nil { directions.append(.outgoing) }
                for direction in directions {
                    try await sql.raw("""
                        INSERT INTO credentials (mailbox_id, direction, kind, sealed, updated_at)
                        VALUES (\(bind: created.id.rawValue), \(bind: direction.rawValue), 'password', \(bind: Data(incomingSecret.bytes)), \(bind: Millis.from(now)))
                        """).run()
                }
            }
            return created
        }
    }

    public func createMailbox(_ mailbox: ValidMailbox, grant: StoredGrant, at now: Date) async throws -> Mailbox {
        try await database.transaction { sql in
            let created = try await Self.insertMailbox(mailbox, at: now, sql: sql)
            try await Self.insertGrant(grant, mailbox: created.id, sql: sql)
            return created
        }
    }

    static func insertMailbox(_ mailbox: ValidMailbox, at now: Date, sql: any SQLDatabase) async throws -> Mailbox {
        let millis = Millis.from(now)
        let existing = try await sql.raw("SELECT id FROM mailboxes WHERE lower(email) = lower(\(bind: mailbox.email))").first()
        if existing != nil {
            throw StoreError.conflict("A mailbox for «\(mailbox.email)» already exists.")
        }
        let server = mailbox.incoming
        guard let row = try await sql.raw("""
            INSERT INTO mailboxes (email, name, provider, usage, imap_host, imap_port, imap_security, imap_username, imap_folder,
                imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, delete_after_fetch, enabled, created_at, updated_at)
            VALUES (\(bind: mailbox.email), \(bind: mailbox.name), \(bind: mailbox.provider.rawValue), \(bind: mailbox.usage.rawValue),
                \(bind: server?.host), \(bind: server.map { Int64($0.port) }), \(bind: server?.security.rawValue), \(bind: server?.username),
                \(bind: server?.folder), \(bind: (server?.authentication ?? .password).rawValue),
                \(bind: mailbox.outgoing?.host), \(bind: mailbox.outgoing.map { Int64($0.port) }), \(bind: mailbox.outgoing?.security.rawValue),
                \(bind: mailbox.outgoing?.username), \(bind: mailbox.outgoing?.authentication.rawValue),
                \(bind: mailbox.deleteAfterFetch ? Int64(1) : Int64(0)), \(bind: Int64(1)), \(bind: millis), \(bind: millis))
            RETURNING id
            """).first()
        else { throw StoreError.corrupt("The new mailbox got no id.") }
        let id = try row.int64("id")
        try await sql.raw("""
            INSERT INTO activity_log (mailbox_id, at, kind, text)
            VALUES (\(bind: id), \(bind: millis), 'created', \(bind: "Mailbox added (\(mailbox.usage.displayName), \(mailbox.provider.displayName))."))
            """).run()
        return Mailbox(
            id: MailboxID(id), email: mailbox.email, name: mailbox.name, provider: mailbox.provider, usage: mailbox.usage,
            incoming: mailbox.incoming, outgoing: mailbox.outgoing, deleteAfterFetch: mailbox.deleteAfterFetch, enabled: true, createdAt: Millis.date(millis),
            updatedAt: Millis.date(millis))
    }

    public func mailboxes() async throws -> [Mailbox] {
        try await database.withSQL { sql in
            try await sql.raw("SELECT * FROM mailboxes ORDER BY id").all().map(Self.mailbox(from:))
        }
    }

    public func mailbox(_ id: MailboxID) async throws -> Mailbox? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT * FROM mailboxes WHERE id = \(bind: id.rawValue)").first().map(Self.mailbox(from:))
        }
    }

    public func removeMailbox(_ id: MailboxID) async throws -> Bool {
        try await database.transaction { sql in
            guard try await sql.raw("SELECT id FROM mailboxes WHERE id = \(bind: id.rawValue)").first() != nil else { return false }
            // Explicit, so removal works even where foreign-key cascades are off.
            for table in ["credentials", "oauth_grants", "sync_state", "mailbox_health", "activity_log"] {
                try await sql.raw("DELETE FROM \(ident: table) WHERE mailbox_id = \(bind: id.rawValue)").run()
            }
            try await sql.raw("UPDATE tickets SET mailbox_id = NULL WHERE mailbox_id = \(bind: id.rawValue)").run()
            try await sql.raw("UPDATE messages SET mailbox_id = NULL WHERE mailbox_id = \(bind: id.rawValue)").run()
            try await sql.raw("DELETE FROM mailboxes WHERE id = \(bind: id.rawValue)").run()
            return true
        }
    }

    public func incomingSecret(_ id: MailboxID) async throws -> SealedSecret? {
        try await secret(id, direction: .incoming)
    }

    public func outgoingSecret(_ id: MailboxID) async throws -> SealedSecret? {
        try await secret(id, direction: .outgoing)
    }

    private func secret(_ id: MailboxID, direction: Direction) async throws -> SealedSecret? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT sealed FROM credentials WHERE mailbox_id = \(bind: id.rawValue) AND direction = \(bind: direction.rawValue)")
                .first().map { SealedSecret(bytes: try $0.bytes("sealed")) }
        }
    }

    public func watermark(_ id: MailboxID, folder: String) async throws -> SyncWatermark? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT uid_validity, last_uid, source FROM sync_state WHERE mailbox_id = \(bind: id.rawValue) AND folder = \(bind: folder)")
                .first().map { row in
                    SyncWatermark(
                        uidValidity: UInt32(truncatingIfNeeded: try row.int64("uid_validity")), lastUID: UInt32(truncatingIfNeeded: try row.int64("last_uid")),
                        source: try row.optionalString("source"))
                }
        }
    }

    public func setWatermark(_ id: MailboxID, folder: String, _ watermark: SyncWatermark, at now: Date) async throws {
        try await database.transaction { sql in
            try await Self.upsertWatermark(sql, id: id, folder: folder, watermark, at: Millis.from(now))
        }
    }

    static func upsertWatermark(_ sql: any SQLDatabase, id: MailboxID, folder: String, _ watermark: SyncWatermark, at millis: Int64) async throws {
        try await sql.raw("""
            INSERT INTO sync_state (mailbox_id, folder, uid_validity, last_uid, updated_at, source)
            VALUES (\(bind: id.rawValue), \(bind: folder), \(bind: Int64(watermark.uidValidity)), \(bind: Int64(watermark.lastUID)), \(bind: millis), \(bind: watermark.source))
            ON CONFLICT (mailbox_id, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at,
                source = excluded.source
            """).run()
    }

    public func health(_ id: MailboxID) async throws -> [Direction: ConnectionHealth] {
        try await database.withSQL { sql in
            var result: [Direction: ConnectionHealth] = [:]
            for row in try await sql.raw("SELECT * FROM mailbox_health WHERE mailbox_id = \(bind: id.rawValue)").all() {
                guard let (direction, health) = try Self.health(from: row) else { continue }
                result[direction] = health
            }
            return result
        }
    }

    public func allHealth() async throws -> [MailboxID: [Direction: ConnectionHealth]] {
        try await database.withSQL { sql in
            var result: [MailboxID: [Direction: ConnectionHealth]] = [:]
            for row in try await sql.raw("SELECT * FROM mailbox_health").all() {
                guard let (direction, health) = try Self.health(from: row) else { continue }
                result[MailboxID(try row.int64("mailbox_id")), default: [:]][direction] = health
            }
            return result
        }
    }

    private static func health(from row: any SQLRow) throws -> (Direction, ConnectionHealth)? {
        guard let direction = Direction(rawValue: try row.string("direction")) else { return nil }
        return (direction, ConnectionHealth(
            state: HealthState(rawValue: try row.string("state")) ?? .pending,
            cause: try row.optionalString("cause"), fix: try row.optionalString("fix"), detail: try row.optionalString("detail"),
            lastAttemptAt: try row.optionalDate("last_attempt_at"), lastSuccessAt: try row.optionalDate("last_success_at"),
            since: try row.optionalDate("since"), consecutiveFailures: Int(try row.int64("consecutive_failures")),
            notifiedState: try row.optionalString("notified_state").flatMap(HealthState.init(rawValue:))))
    }

    public func replaceHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth, ifStill previous: ConnectionHealth) async throws -> Bool {
        try await database.transaction { sql in
            let updated = try await sql.raw("""
                UPDATE mailbox_health SET state = \(bind: health.state.rawValue), cause = \(bind: health.cause), fix = \(bind: health.fix),
                    detail = \(bind: health.detail), last_attempt_at = \(bind: health.lastAttemptAt.map(Millis.from)),
                    last_success_at = \(bind: health.lastSuccessAt.map(Millis.from)), since = \(bind: health.since.map(Millis.from)),
                    consecutive_failures = \(bind: Int64(health.consecutiveFailures))
                WHERE mailbox_id = \(bind: id.rawValue) AND direction = \(bind: direction.rawValue) AND state = \(bind: previous.state.rawValue)
                    AND last_attempt_at IS NOT DISTINCT FROM \(bind: previous.lastAttemptAt.map(Millis.from))
                RETURNING mailbox_id
                """).first() != nil
            guard !updated, previous.state == .pending, previous.lastAttemptAt == nil else { return updated }
            // Nothing recorded yet: only a first row may be written.
            return try await sql.raw("""
                INSERT INTO mailbox_health (mailbox_id, direction, state, cause, fix, detail, last_attempt_at, last_success_at, since, consecutive_failures)
                VALUES (\(bind: id.rawValue), \(bind: direction.rawValue), \(bind: health.state.rawValue), \(bind: health.cause), \(bind: health.fix),
                    \(bind: health.detail), \(bind: health.lastAttemptAt.map(Millis.from)), \(bind: health.lastSuccessAt.map(Millis.from)),
                    \(bind: health.since.map(Millis.from)), \(bind: Int64(health.consecutiveFailures)))
                ON CONFLICT (mailbox_id, direction) DO NOTHING
                RETURNING mailbox_id
                """).first() != nil
        }
    }

    public func setHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth) async throws {
        try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO mailbox_health (mailbox_id, direction, state, cause, fix, detail, last_attempt_at, last_success_at, since, consecutive_failures)
                VALUES (\(bind: id.rawValue), \(bind: direction.rawValue), \(bind: health.state.rawValue), \(bind: health.cause), \(bind: health.fix),
                    \(bind: health.detail), \(bind: health.lastAttemptAt.map(Millis.from)), \(bind: health.lastSuccessAt.map(Millis.from)),
                    \(bind: health.since.map(Millis.from)), \(bind: Int64(health.consecutiveFailures)))
                ON CONFLICT (mailbox_id, direction) DO UPDATE SET state = excluded.state, cause = excluded.cause, fix = excluded.fix,
                    detail = excluded.detail, last_attempt_at = excluded.last_attempt_at, last_success_at = excluded.last_success_at,
                    since = excluded.since, consecutive_failures = excluded.consecutive_failures
                """).run()
        }
    }

    public func log(_ id: MailboxID, _ entry: ActivityEntry) async throws {
        try await database.withSQL { sql in
            try await sql.raw("""
                INSERT INTO activity_log (mailbox_id, at, kind, text) VALUES (\(bind: id.rawValue), \(bind: Millis.from(entry.at)), \(bind: entry.kind), \(bind: entry.text))
                """).run()
        }
    }

    public func activity(_ id: MailboxID, limit: Int) async throws -> [ActivityEntry] {
        try await database.withSQL { sql in
            try await sql.raw("SELECT at, kind, text FROM activity_log WHERE mailbox_id = \(bind: id.rawValue) ORDER BY at DESC, id DESC LIMIT \(literal: max(1, min(limit, 1000)))")
                .all().map { ActivityEntry(at: try $0.date("at"), kind: try $0.string("kind"), text: try $0.string("text")) }
        }
    }

    static func mailbox(from row: any SQLRow) throws -> Mailbox {
        var incoming: IncomingServer?
        if let host = try row.optionalString("imap_host") {
            incoming = IncomingServer(
                host: host, port: Int(try row.optionalInt64("imap_port") ?? 993),
                security: TransportSecurity(rawValue: try row.optionalString("imap_security") ?? "tls") ?? .tls,
                username: try row.optionalString("imap_username") ?? "", folder: try row.optionalString("imap_folder") ?? "INBOX",
                authentication: ServerAuthentication(rawValue: try row.optionalString("imap_auth") ?? "password") ?? .password)
        }
        var outgoing: OutgoingServer?
        if let host = try row.optionalString("smtp_host") {
            outgoing = OutgoingServer(
                host: host, port: Int(try row.optionalInt64("smtp_port") ?? 587),
                security: TransportSecurity(rawValue: try row.optionalString("smtp_security") ?? "starttls") ?? .starttls,
                username: try row.optionalString("smtp_username") ?? "",
                authentication: ServerAuthentication(rawValue: try row.optionalString("smtp_auth") ?? "password") ?? .password)
        }
        return Mailbox(
            id: MailboxID(try row.int64("id")), email: try row.string("email"), name: try row.string("name"),
            provider: MailProvider(rawValue: try row.string("provider")) ?? .other,
            usage: MailboxUsage(rawValue: try row.string("usage")) ?? .incoming,
            incoming: incoming, outgoing: outgoing, deleteAfterFetch: try row.int64("delete_after_fetch") != 0, enabled: try row.int64("enabled") != 0,
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }
}
