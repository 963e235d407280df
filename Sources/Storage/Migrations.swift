import SQLKit

/// The schema, as an append-only list of versioned steps. Never edit a released step: add one.
///
/// Timestamps are stored as BIGINT milliseconds since 1970 so SQLite and PostgreSQL read them identically.
enum Migrations {
    struct Step: Sendable {
        var version: Int
        var name: String
        var statements: @Sendable (SQLDialectKind) -> [String]
    }

    static let steps: [Step] = [
        Step(version: 1, name: "mailboxes, credentials, sync state, health, tickets, messages") { dialect in
            let id = dialect == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"
            let blob = dialect == .sqlite ? "BLOB" : "BYTEA"
            return [
                """
                CREATE TABLE mailboxes (
                    id \(id),
                    email TEXT NOT NULL,
                    name TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    usage TEXT NOT NULL,
                    imap_host TEXT, imap_port BIGINT, imap_security TEXT, imap_username TEXT, imap_folder TEXT,
                    delete_after_fetch BIGINT NOT NULL DEFAULT 0,
                    enabled BIGINT NOT NULL DEFAULT 1,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX mailboxes_email ON mailboxes (email)",
                """
                CREATE TABLE credentials (
                    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
                    direction TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    sealed \(blob) NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (mailbox_id, direction)
                )
                """,
                """
                CREATE TABLE sync_state (
                    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
                    folder TEXT NOT NULL,
                    uid_validity BIGINT NOT NULL,
                    last_uid BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (mailbox_id, folder)
                )
                """,
                """
                CREATE TABLE mailbox_health (
                    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
                    direction TEXT NOT NULL,
                    state TEXT NOT NULL,
                    cause TEXT, fix TEXT, detail TEXT,
                    last_attempt_at BIGINT, last_success_at BIGINT, since BIGINT,
                    consecutive_failures BIGINT NOT NULL DEFAULT 0,
                    PRIMARY KEY (mailbox_id, direction)
                )
                """,
                """
                CREATE TABLE activity_log (
                    id \(id),
                    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
                    at BIGINT NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT NOT NULL
                )
                """,
                "CREATE INDEX activity_log_mailbox ON activity_log (mailbox_id, at)",
                """
                CREATE TABLE tickets (
                    id \(id),
                    subject TEXT NOT NULL,
                    requester_email TEXT NOT NULL,
                    requester_name TEXT,
                    status TEXT NOT NULL,
                    mailbox_id BIGINT REFERENCES mailboxes (id) ON DELETE SET NULL,
                    message_count BIGINT NOT NULL DEFAULT 0,
                    created_at BIGINT NOT NULL,
                    last_message_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX tickets_last_message ON tickets (last_message_at)",
                """
                CREATE TABLE messages (
                    id \(id),
                    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                    mailbox_id BIGINT REFERENCES mailboxes (id) ON DELETE SET NULL,
                    direction TEXT NOT NULL,
                    dedupe_key TEXT NOT NULL,
                    message_id TEXT,
                    from_email TEXT NOT NULL,
                    from_name TEXT,
                    to_json TEXT NOT NULL,
                    cc_json TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    text_body TEXT NOT NULL,
                    html_body TEXT,
                    attachments_json TEXT NOT NULL,
                    defects_json TEXT NOT NULL,
                    sent_at BIGINT,
                    received_at BIGINT NOT NULL,
                    uid_validity BIGINT,
                    uid BIGINT,
                    raw_size BIGINT NOT NULL,
                    raw \(blob) NOT NULL
                )
                """,
                // One filing per email per mailbox: the guard against duplicates after crashes and resyncs.
                "CREATE UNIQUE INDEX messages_dedupe ON messages (mailbox_id, dedupe_key)",
                "CREATE INDEX messages_message_id ON messages (message_id)",
                "CREATE INDEX messages_ticket ON messages (ticket_id, received_at)",
            ]
        },
        Step(version: 2, name: "content hash of filed messages") { _ in
            // Tells a true refetch from a different email that reuses a Message-ID.
            ["ALTER TABLE messages ADD COLUMN content_hash TEXT"]
        },
        Step(version: 3, name: "OAuth grants and how a mailbox signs in") { dialect in
            let blob = dialect == .sqlite ? "BLOB" : "BYTEA"
            return [
                "ALTER TABLE mailboxes ADD COLUMN imap_auth TEXT NOT NULL DEFAULT 'password'",
                // One grant per mailbox serves both directions: IMAP and SMTP scopes share one resource.
                """
                CREATE TABLE oauth_grants (
                    mailbox_id BIGINT PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
                    provider TEXT NOT NULL,
                    tenant TEXT,
                    account TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    access_token \(blob) NOT NULL,
                    access_expires_at BIGINT NOT NULL,
                    refresh_token \(blob),
                    obtained_at BIGINT NOT NULL,
                    refreshed_at BIGINT,
                    version BIGINT NOT NULL
                )
                """,
            ]
        },
        Step(version: 4, name: "outbox of replies") { dialect in
            let id = dialect == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"
            return [
                // One row per reply to send; the reply itself is a row of messages (direction 'outgoing'), written
                // in the same transaction, so an accepted reply is on the ticket and in the queue, or neither.
                """
                CREATE TABLE outbox (
                    id \(id),
                    message_row_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                    mailbox_id BIGINT REFERENCES mailboxes (id) ON DELETE SET NULL,
                    envelope_from TEXT NOT NULL,
                    recipients_json TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    last_error TEXT,
                    created_at BIGINT NOT NULL,
                    sent_at BIGINT
                )
                """,
                "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
            ]
        },
        Step(version: 5, name: "a mailbox's own outgoing server") { _ in
            [
                "ALTER TABLE mailboxes ADD COLUMN smtp_host TEXT",
                "ALTER TABLE mailboxes ADD COLUMN smtp_port BIGINT",
                "ALTER TABLE mailboxes ADD COLUMN smtp_security TEXT",
                "ALTER TABLE mailboxes ADD COLUMN smtp_username TEXT",
                "ALTER TABLE mailboxes ADD COLUMN smtp_auth TEXT",
            ]
        },
        Step(version: 6, name: "automatic mail is marked") { _ in
            ["ALTER TABLE messages ADD COLUMN automatic TEXT"]
        },
        Step(version: 7, name: "people who sign in, their sessions, notices and replaced settings") { dialect in
            let id = dialect == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"
            return [
                """
                CREATE TABLE users (
                    id \(id),
                    email TEXT NOT NULL,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX users_email ON users (lower(email))",
                // Only a hash of the session token is stored: a copy of the database signs no one in.
                """
                CREATE TABLE web_sessions (
                    token_hash TEXT PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "ALTER TABLE mailbox_health ADD COLUMN notified_state TEXT",
                "ALTER TABLE mailbox_health ADD COLUMN notified_at BIGINT",
                "ALTER TABLE mailboxes ADD COLUMN previous_json TEXT",
            ]
        },
        Step(version: 8, name: "conversations keep their people, deletions their account, secrets their key") { dialect in
            let blob = dialect == .sqlite ? "BLOB" : "BYTEA"
            return [
                "ALTER TABLE tickets ADD COLUMN referred_ticket_id BIGINT",
                // Which server, account and folder a watermark counts the UIDs of, and where a message was fetched.
                "ALTER TABLE sync_state ADD COLUMN source TEXT",
                "ALTER TABLE messages ADD COLUMN source TEXT",
                // A value sealed with the secret key when the database was first used with it.
                "CREATE TABLE key_check (id BIGINT PRIMARY KEY, sealed \(blob) NOT NULL, created_at BIGINT NOT NULL)",
            ]
        },
        Step(version: 9, name: "shared by every node: pending sign-ins, the sign-in throttle, grant renewal claims") { dialect in
            let blob = dialect == .sqlite ? "BLOB" : "BYTEA"
            return [
                // Keyed by a hash of the state; the record (PKCE verifier, nonce, settings) is sealed by the Vault.
                "CREATE TABLE pending_sign_ins (state_hash TEXT PRIMARY KEY, sealed \(blob) NOT NULL, expires_at BIGINT NOT NULL)",
                "CREATE INDEX pending_sign_ins_expiry ON pending_sign_ins (expires_at)",
                // One row per throttled key (an address or a client), its tally as JSON, changed compare-and-set.
                """
                CREATE TABLE sign_in_throttle (
                    key TEXT PRIMARY KEY,
                    tally_json TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX sign_in_throttle_updated ON sign_in_throttle (updated_at)",
                // Which node is renewing a grant, until when: the others wait for its result.
                "ALTER TABLE oauth_grants ADD COLUMN renewing_by TEXT",
                "ALTER TABLE oauth_grants ADD COLUMN renewing_until BIGINT",
            ]
        },
        Step(version: 10, name: "many nodes on one database: node heartbeats, mailbox leases, outbox claims") { _ in
            [
                // A node's heartbeat; it counts as alive until expires_at (database clock, milliseconds).
                "CREATE TABLE nodes (node_id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, started_at BIGINT NOT NULL)",
                // Which node fetches a mailbox, until when: one row per mailbox, taken only when free or expired.
                """
                CREATE TABLE mailbox_leases (
                    mailbox_id BIGINT PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
                    node_id TEXT NOT NULL,
                    acquired_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX mailbox_leases_node ON mailbox_leases (node_id)",
                // Which node is sending a reply, until when; a dead node's claim expires and another sends it.
                "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
                "ALTER TABLE outbox ADD COLUMN claimed_until BIGINT",
            ]
        },
        Step(version: 11, name: "threading looks Message-IDs up within one mailbox") { _ in
            [
                // Threading asks for Message-IDs within one mailbox. With only (message_id) indexed, SQLite chose the
                // (mailbox_id, dedupe_key) index and read every message of the mailbox for every reply it filed.
                "CREATE INDEX messages_mailbox_message_id ON messages (mailbox_id, message_id)",
                "DROP INDEX messages_message_id",
            ]
        },
        Step(version: 12, name: "large raw messages in pieces") { dialect in
            let blob = dialect == .sqlite ? "BLOB" : "BYTEA"
            return [
                // A raw message over 1 MiB, in 1 MiB pieces: filing one then holds about one copy of it (see SQLStore.rawPieceSize).
                """
                CREATE TABLE message_raw_pieces (
                    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                    seq BIGINT NOT NULL,
                    bytes \(blob) NOT NULL,
                    PRIMARY KEY (message_id, seq)
                )
                """,
            ]
        },
        Step(version: 13, name: "PostgreSQL compresses stored mail with lz4") { dialect in
            guard dialect == .postgres else { return [] }
            // PostgreSQL compresses large values with pglz by default, which took four tenths of all the CPU spent
            // filing mail. lz4 (PostgreSQL 14 and later, when built with it) compresses nearly as well many times
            // faster; without it, raw bytes are stored uncompressed rather than slowly.
            return [
                """
                DO $$
                BEGIN
                    EXECUTE 'ALTER TABLE messages ALTER COLUMN raw SET COMPRESSION lz4, ALTER COLUMN text_body SET COMPRESSION lz4, ALTER COLUMN html_body SET COMPRESSION lz4';
                    EXECUTE 'ALTER TABLE message_raw_pieces ALTER COLUMN bytes SET COMPRESSION lz4';
                EXCEPTION WHEN OTHERS THEN
                    ALTER TABLE messages ALTER COLUMN raw SET STORAGE EXTERNAL;
                    ALTER TABLE message_raw_pieces ALTER COLUMN bytes SET STORAGE EXTERNAL;
                END
                $$
                """,
            ]
        },
        Step(version: 14, name: "raw mail in SQLite's mail archive") { _ in
            [
                // Where a message's raw bytes lie in the mail archive beside a SQLite database (see RawArchive);
                // NULL when the row or its pieces hold them, as always on PostgreSQL.
                "ALTER TABLE messages ADD COLUMN raw_segment TEXT",
                "ALTER TABLE messages ADD COLUMN raw_offset BIGINT",
            ]
        },
        Step(version: 15, name: "a node name held by one process at a time") { _ in
            // Which process start holds the name (see NodeInstance); '' for a row written before this step, which
            // a process takes over once its heartbeat expires.
            ["ALTER TABLE nodes ADD COLUMN instance TEXT NOT NULL DEFAULT ''"]
        },
        Step(version: 16, name: "PostgreSQL keeps fetched mail's raw bytes beside the rows") { dialect in
            guard dialect == .postgres else { return [] }
            // Written on a connection of their own ahead of each group's commit (SQLStore.archive); a message's
            // raw_segment is then 'raw_blobs' and its raw_offset the blob's id. Compressed as migration 13 does.
            return [
                "CREATE TABLE raw_blobs (id BIGSERIAL PRIMARY KEY, bytes BYTEA NOT NULL)",
                """
                DO $$
                BEGIN
                    EXECUTE 'ALTER TABLE raw_blobs ALTER COLUMN bytes SET COMPRESSION lz4';
                EXCEPTION WHEN OTHERS THEN
                    ALTER TABLE raw_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
                END
                $$
                """,
            ]
        },
        Step(version: 17, name: "fetched mail's HTML is rendered from its raw bytes when read") { _ in
            // 1: html_body is NULL and the HTML is rendered from the message's raw bytes when the message is read
            // (SQLStore.ticket); 0: html_body holds it, as for every row written before this step.
            ["ALTER TABLE messages ADD COLUMN html_from_raw BIGINT NOT NULL DEFAULT 0"]
        },
    ]

    /// Applies the steps not yet applied, each in its own transaction. Safe to run from several processes.
    static func run(on database: Database) async throws -> [Int] {
        try await database.withSQL { sql in
            try await sql.raw("CREATE TABLE IF NOT EXISTS mailroom_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)").run()
        }
        // The common case (up to date) takes no write lock, so CLI commands never wait on a busy server.
        let done = try await database.withSQL { sql in
            Set(try await sql.raw("SELECT version FROM mailroom_migrations").all().map { Int(try $0.decode(column: "version", as: Int64.self)) })
        }
        var applied: [Int] = []
        for step in steps where !done.contains(step.version) {
            let dialect = database.dialect
            let didApply = try await database.transaction { sql in
                if database.dialect == .postgres {
                    // Serializes concurrent migrators (two nodes starting at once).
                    try await sql.raw("LOCK TABLE mailroom_migrations IN EXCLUSIVE MODE").run()
                }
                let done = try await sql.raw("SELECT version FROM mailroom_migrations WHERE version = \(bind: step.version)").first()
                if done != nil { return false }
                for statement in step.statements(dialect) {
                    try await sql.raw("\(unsafeRaw: statement)").run()
                }
                try await sql.raw("INSERT INTO mailroom_migrations (version, name, applied_at) VALUES (\(bind: step.version), \(bind: step.name), \(bind: Millis.now))").run()
                return true
            }
            if didApply { applied.append(step.version) }
        }
        return applied
    }
}
