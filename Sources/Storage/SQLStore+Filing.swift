import Foundation
import Logging
import MailroomCore
import NIOCore
import SQLKit
import SQLiteNIO

/// Filing incoming mail: a group of emails costs a fixed handful of statements (look-ups for the whole group, then
/// multi-row writes), not several per email. ``FilingPlan`` decides; this reads its facts and writes its result.
extension SQLStore {
    public func ingest(_ email: IncomingEmail, mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> IngestOutcome {
        let outcomes = try await ingest([email], mailbox: mailbox, folder: folder, watermark: watermark)
        guard let outcome = outcomes.first else { throw StoreError.corrupt("Filing returned no outcome.") }
        return outcome
    }

    /// Committed without waiting for the disk (``Database/Durability/deferred``): the mail server still holds every
    /// message until ``makeDurable()`` has returned and the syncer deletes it.
    public func ingest(_ emails: [IncomingEmail], mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> [IngestOutcome] {
        let dialect = database.dialect, archive = database.rawArchive, logger = database.logger
        // Whoever built the emails, no control character reaches a text column.
        let emails = emails.map(\.storable)
        return try await database.transactionWithDriver(.deferred) { sql, sqlite in
            try await Self.upsertWatermark(sql, id: mailbox, folder: folder, watermark, at: Millis.now)
            return try await Self.file(emails, mailbox: mailbox, watermark: watermark, dialect: dialect, archive: archive, logger: logger, sql: sql, sqlite: sqlite)
        }
    }

    public func makeDurable() async throws {
        // Every archived group was synced before its commit; this only makes sure of it.
        try await database.rawArchive?.syncPending()
        try await database.makeDurable()
    }

    /// SQLite: the mail archive's files. PostgreSQL: rows of `raw_blobs`, committed in a transaction of their own
    /// on a connection of their own, so a group's bytes are written (by another server process, on another core)
    /// while the group before commits. Such a commit is durable no later than the group's own, which comes after it
    /// in the same write-ahead log. A group with a message over ``rawPieceSize`` keeps its bytes in its rows and
    /// pieces, as before, so no single value grows past that.
    public func archive(_ raws: [[UInt8]]) async throws -> [RawLocation]? {
        if let archive = database.rawArchive { return try await archive.store(raws) }
        guard database.dialect == .postgres, !raws.isEmpty, raws.allSatisfy({ $0.count <= Self.rawPieceSize }) else { return nil }
        return try await database.transaction(.deferred) { sql in
            // Ids first: the order of RETURNING rows is not promised, and each location must name its own bytes.
            let ids = try await sql.raw("SELECT nextval('raw_blobs_id_seq') AS id FROM generate_series(1, \(bind: raws.count))").all()
                .map { try $0.int64("id") }
            guard ids.count == raws.count else { throw StoreError.corrupt("The database handed out \(ids.count) ids for \(raws.count) messages.") }
            let rows: [SQLQueryString] = zip(ids, raws).map { id, raw in "(\(bind: id), \(bind: StoredBytes(raw)))" }
            try await sql.raw("INSERT INTO raw_blobs (id, bytes) VALUES \(rows.joined(separator: ", "))").run()
            return zip(ids, raws).map { id, raw in RawLocation(segment: Self.blobSegment, offset: id, length: raw.count) }
        }
    }

    /// The `raw_segment` of a message whose bytes are a row of `raw_blobs` (PostgreSQL), its id in `raw_offset`.
    static let blobSegment = "raw_blobs"

    public func receive(_ email: IncomingEmail, mailbox: MailboxID) async throws -> IngestOutcome {
        let dialect = database.dialect, archive = database.rawArchive, logger = database.logger
        let email = email.storable
        let outcomes = try await database.transactionWithDriver(.durable) { sql, sqlite in
            try await Self.file([email], mailbox: mailbox, watermark: nil, dialect: dialect, archive: archive, logger: logger, sql: sql, sqlite: sqlite)
        }
        guard let outcome = outcomes.first else { throw StoreError.corrupt("Filing returned no outcome.") }
        return outcome
    }

    /// Files storable emails inside the caller's transaction; `sqlite` is the transaction's own connection, if SQLite.
    static func file(
        _ emails: [IncomingEmail], mailbox: MailboxID, watermark: SyncWatermark?, dialect: SQLDialectKind, archive: RawArchive?, logger: Logger,
        sql: any SQLDatabase, sqlite: SQLiteConnection?
    ) async throws -> [IngestOutcome] {
        guard !emails.isEmpty else { return [] }
        var emails = emails
        let facts = try await facts(for: &emails, mailbox: mailbox, dialect: dialect, archive: archive, logger: logger, sql: sql, sqlite: sqlite)
        let plan = FilingPlan(emails, mailbox: mailbox, facts: facts)
        let numbers = try await insertTickets(plan.newTickets, dialect: dialect, sql: sql, sqlite: sqlite)
        try await updateJoined(plan.joined, sql: sql)
        try await insertMessages(plan.filings, numbers: numbers, mailbox: mailbox, watermark: watermark, sql: sql, sqlite: sqlite)
        return try plan.outcomes(numbering: numbers)
    }

    /// Look-ups are bound in chunks: SQLite and PostgreSQL both cap the parameters of one statement.
    private static let chunk = 500

    /// What the plan needs to know, in at most five reads whatever the group's size (more only for chunks).
    /// The emails whose keys are taken (``FilingPlan/contested(_:filed:)``) get their content hash here, and so do
    /// the stored messages they meet, from their stored bytes.
    static func facts(
        for emails: inout [IncomingEmail], mailbox: MailboxID, dialect: SQLDialectKind, archive: RawArchive?, logger: Logger, sql: any SQLDatabase,
        sqlite: SQLiteConnection?
    ) async throws -> FilingFacts {
        let keys = FilingPlan.keys(for: emails)
        var facts = FilingFacts(supportAddress: try await sql.raw("SELECT email FROM mailboxes WHERE id = \(bind: mailbox.rawValue)").first()
            .map { try $0.string("email") } ?? "")
        // Stored messages with content but no hash yet, by key.
        var unhashed: [String: Int64] = [:]
        func lookUp(_ dedupeKeys: [String]) async throws {
            for part in dedupeKeys.chunks(of: chunk) {
                for row in try await BoundStatement("""
                    SELECT id, dedupe_key, ticket_id, content_hash, raw_size FROM messages
                    WHERE mailbox_id = ? AND dedupe_key IN (\(BoundStatement.placeholders(part.count)))
                    """, [.integer(mailbox.rawValue)] + part.map(RowValue.text)).rows(sql: sql, sqlite: sqlite) {
                    let key = try row.string("dedupe_key"), hash = try row.optionalString("content_hash")
                    facts.filed[key] = FilingFacts.Filed(ticket: TicketNumber(try row.int64("ticket_id")), contentHash: hash)
                    if hash == nil, try row.int64("raw_size") > 0 { unhashed[key] = try row.int64("id") }
                }
            }
        }
        try await lookUp(keys.dedupeKeys)
        // Every stored message met is contested: its key was asked for because an email of the group has it.
        let rehashed = FilingPlan.hashContested(&emails, filed: facts.filed, hash: ContentHash.of)
        for (key, id) in unhashed {
            let raw: [UInt8]?
            do {
                raw = try await storedRaw(id, dialect: dialect, archive: archive, sql: sql)
            } catch {
                // The content stays unknown, which the plan takes for the same message, as for mail filed before
                // hashes were kept. Said aloud: a damaged copy is mail lost already, and this may hide another.
                logger.error("The stored copy of a message cannot be read to tell a refetch from another email with its key; taking it for a refetch", metadata: [
                    "mailbox": "\(mailbox)", "message": "\(id)", "error": "\(error)",
                ])
                continue
            }
            guard let raw, !raw.isEmpty else { continue }
            facts.filed[key]?.contentHash = ContentHash.of(raw)
        }
        try await lookUp(rehashed)
        // Only this mailbox's messages: a Message-ID is no key across mailboxes, nor within one (anyone can reuse it),
        // so every ticket holding it is a candidate, ours (sent by Mailroom) and the oldest first.
        var holding: [(id: String, ticket: Int64, ours: Bool, row: Int64)] = []
        for part in keys.messageIDs.chunks(of: chunk) {
            for row in try await BoundStatement("""
                SELECT id, message_id, ticket_id, direction FROM messages WHERE mailbox_id = ? AND message_id IN (\(BoundStatement.placeholders(part.count)))
                """, [.integer(mailbox.rawValue)] + part.map(RowValue.text)).rows(sql: sql, sqlite: sqlite) {
                guard let id = try row.optionalString("message_id") else { continue }
                holding.append((id, try row.int64("ticket_id"), try row.string("direction") == MessageDirection.outgoing.rawValue, try row.int64("id")))
            }
        }
        holding.sort { ($0.ours ? 0 : 1, $0.row) < ($1.ours ? 0 : 1, $1.row) }
        for held in holding where facts.holders[held.id]?.contains(TicketNumber(held.ticket)) != true {
            facts.holders[held.id, default: []].append(TicketNumber(held.ticket))
        }
        let named = FilingPlan.named(by: emails, holders: facts.holders).map(\.rawValue)
        for part in named.chunks(of: chunk) {
            let ids = part.map(RowValue.integer), list = BoundStatement.placeholders(part.count)
            for row in try await BoundStatement("SELECT id, mailbox_id, requester_email FROM tickets WHERE id IN (\(list))", ids).rows(sql: sql, sqlite: sqlite) {
                facts.conversations[TicketNumber(try row.int64("id"))] = FilingFacts.Conversation(
                    mailbox: try row.optionalInt64("mailbox_id").map { MailboxID(rawValue: $0) },
                    participants: [ConversationMembership.participant(try row.string("requester_email"))], sentMessageIDs: [])
            }
            for message in try await BoundStatement("""
                SELECT ticket_id, direction, message_id, from_email, to_json, cc_json FROM messages WHERE ticket_id IN (\(list))
                """, ids).rows(sql: sql, sqlite: sqlite) {
                let ticket = TicketNumber(try message.int64("ticket_id"))
                guard var conversation = facts.conversations[ticket] else { continue }
                conversation.participants.insert(ConversationMembership.participant(try message.string("from_email")))
                for address in addresses(inPeopleJSON: try message.string("to_json")) + addresses(inPeopleJSON: try message.string("cc_json")) {
                    conversation.participants.insert(ConversationMembership.participant(address))
                }
                if try message.string("direction") == MessageDirection.outgoing.rawValue, let id = try message.optionalString("message_id") {
                    conversation.sentMessageIDs.insert(id)
                }
                facts.conversations[ticket] = conversation
            }
        }
        return facts
    }

    /// Numbers the new tickets in order and inserts them in one statement per chunk.
    private static func insertTickets(
        _ tickets: [FilingPlan.NewTicket], dialect: SQLDialectKind, sql: any SQLDatabase, sqlite: SQLiteConnection?
    ) async throws -> [TicketNumber] {
        guard !tickets.isEmpty else { return [] }
        let numbers = try await allocateTicketNumbers(tickets.count, dialect: dialect, sql: sql)
        for part in Array(zip(numbers, tickets)).chunks(of: 50) {
            var values: [RowValue] = []
            values.reserveCapacity(part.count * 9)
            for (number, ticket) in part {
                values += [
                    .integer(number.rawValue), .text(ticket.subject), .text(ticket.requester.email), RowValue(ticket.requester.name),
                    .integer(ticket.mailbox.rawValue), .integer(Int64(ticket.messageCount)), .integer(Millis.from(ticket.createdAt)),
                    .integer(Millis.from(ticket.lastMessageAt)), RowValue(try ticket.referredTo.map { try FilingPlan.number($0, numbers).rawValue }),
                ]
            }
            let row = "(?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)"
            try await BoundStatement("""
                INSERT INTO tickets (id, subject, requester_email, requester_name, status, mailbox_id, message_count, created_at, last_message_at, referred_ticket_id)
                VALUES \(Array(repeating: row, count: part.count).joined(separator: ", "))
                """, values).run(sql: sql, sqlite: sqlite)
        }
        return numbers
    }

    /// Ticket numbers for `count` new tickets, ascending. SQLite: after the highest ever used (AUTOINCREMENT never
    /// reuses one), safe because the transaction holds the write lock from its start. PostgreSQL: from the
    /// sequence, which other nodes share.
    private static func allocateTicketNumbers(_ count: Int, dialect: SQLDialectKind, sql: any SQLDatabase) async throws -> [TicketNumber] {
        switch dialect {
        case .sqlite:
            let top = try await sql.raw("""
                SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0), COALESCE((SELECT MAX(id) FROM tickets), 0)) AS top
                """).first().map { try $0.int64("top") } ?? 0
            return (1...Int64(count)).map { TicketNumber(top + $0) }
        case .postgres:
            let numbers = try await sql.raw("""
                SELECT nextval(pg_get_serial_sequence('tickets', 'id')) AS id FROM generate_series(1, \(bind: Int64(count)))
                """).all().map { try $0.int64("id") }.sorted()
            guard numbers.count == count else { throw StoreError.corrupt("The ticket sequence gave \(numbers.count) numbers for \(count) tickets.") }
            return numbers.map { TicketNumber($0) }
        }
    }

    /// One statement for every stored ticket the group joined: more messages, the newest time, open again.
    private static func updateJoined(_ joined: [FilingPlan.Joined], sql: any SQLDatabase) async throws {
        for part in joined.chunks(of: 100) {
            let rows: [SQLQueryString] = part.map {
                "(\(bind: $0.ticket.rawValue), \(bind: Int64($0.added)), \(bind: Millis.from($0.lastMessageAt)))"
            }
            try await sql.raw("""
                UPDATE tickets SET message_count = tickets.message_count + joined.column2,
                    last_message_at = CASE WHEN tickets.last_message_at < joined.column3 THEN joined.column3 ELSE tickets.last_message_at END,
                    status = 'open'
                FROM (VALUES \(rows.joined(separator: ", "))) AS joined
                WHERE tickets.id = joined.column1
                """).run()
        }
    }

    /// Raw messages larger than this are written as pieces of this size (`message_raw_pieces`), each its own statement,
    /// so that filing a large message holds about one copy of it, not the several a single bound value costs in
    /// the drivers and in the database's row assembly.
    public static let rawPieceSize = 1 << 20

    /// Where a message's raw bytes go: already in the archive (the row says where), in the row, or after it in pieces.
    enum RawPlacement {
        case archived(RawLocation), row, pieces

        init(_ email: IncomingEmail) {
            if let archived = email.archived { self = .archived(archived) } else { self = email.raw.count <= rawPieceSize ? .row : .pieces }
        }
    }

    /// Inserts in the group's order (message ids follow it): small or archived messages many to a statement, a large
    /// one alone, its bytes in pieces.
    private static func insertMessages(
        _ filings: [FilingPlan.Filing], numbers: [TicketNumber], mailbox: MailboxID, watermark: SyncWatermark?, sql: any SQLDatabase,
        sqlite: SQLiteConnection?
    ) async throws {
        var small: [[RowValue]] = []
        func flush() async throws {
            guard !small.isEmpty else { return }
            try await messageInsert(small.drainAll()).run(sql: sql, sqlite: sqlite)
        }
        for filing in filings {
            let row = try messageRow(filing, numbers: numbers, mailbox: mailbox, watermark: watermark)
            guard case .pieces = RawPlacement(filing.email) else {
                small.append(row)
                // 25 parameters a row: far below either database's cap; a group's bytes are bounded by its caller.
                if small.count == 200 { try await flush() }
                continue
            }
            try await flush()
            var insert = messageInsert([row])
            insert.sql += " RETURNING id"
            guard let id = try await insert.rows(sql: sql, sqlite: sqlite).first.map({ try $0.int64("id") })
            else { throw StoreError.corrupt("The new message got no id.") }
            let raw = filing.email.raw
            for (seq, start) in stride(from: 0, to: raw.count, by: rawPieceSize).enumerated() {
                try await sql.raw("""
                    INSERT INTO message_raw_pieces (message_id, seq, bytes)
                    VALUES (\(bind: id), \(bind: Int64(seq)), \(bind: StoredBytes(Array(raw[start..<min(start + rawPieceSize, raw.count)]))))
                    """).run()
            }
        }
        try await flush()
    }

    /// A value of a message row, built once and bound by either driver.
    enum RowValue {
        case integer(Int64), text(String), blob([UInt8]), null

        init(_ value: Int64?) { self = value.map(RowValue.integer) ?? .null }
        init(_ value: String?) { self = value.map(RowValue.text) ?? .null }
    }

    /// The columns of ``messageRow(_:numbers:mailbox:watermark:)``, in its order; `direction` is the literal 'incoming'.
    private static let messageColumns = """
        ticket_id, mailbox_id, direction, dedupe_key, message_id, from_email, from_name, to_json, cc_json, subject, text_body, html_body,
            attachments_json, defects_json, sent_at, received_at, uid_validity, uid, raw_size, raw, content_hash, automatic, source, raw_segment,
            raw_offset, html_from_raw
        """

    /// One filing's row; raw bytes placed in pieces or in the archive are left out of it.
    private static func messageRow(
        _ filing: FilingPlan.Filing, numbers: [TicketNumber], mailbox: MailboxID, watermark: SyncWatermark?
    ) throws -> [RowValue] {
        let email = filing.email
        let ticket = try FilingPlan.number(filing.ticket, numbers)
        let placement = RawPlacement(email)
        if case .archived(let location) = placement, location.length != email.raw.count {
            throw StoreError.corrupt("The archived copy of a message has \(location.length) bytes, not \(email.raw.count).")
        }
        let inRow: [UInt8] = if case .row = placement { email.raw } else { [] }
        let htmlFromRaw = Self.rendersHTMLFromRaw(email)
        return [
            .integer(ticket.rawValue), .integer(mailbox.rawValue), .text(email.dedupeKey), RowValue(email.messageID),
            .text(email.from.email), RowValue(email.from.name), .text(json(email.to)), .text(json(email.cc)), .text(email.subject),
            .text(email.textBody), htmlFromRaw ? .null : RowValue(email.sanitizedHTML), .text(json(email.attachments)), .text(json(email.defects)),
            RowValue(email.sentAt.map(Millis.from)), .integer(Millis.from(email.receivedAt)), RowValue(watermark.map { Int64($0.uidValidity) }),
            RowValue(email.sourceUID.map { Int64($0) }), .integer(Int64(email.raw.count)), .blob(inRow),
            RowValue(email.contentHash.isEmpty ? nil : email.contentHash), RowValue(email.automatic?.rawValue), RowValue(watermark?.source),
            RowValue(email.archived?.segment), RowValue(email.archived?.offset), .integer(htmlFromRaw ? 1 : 0),
        ]
    }

    /// Whether a message's HTML is left out of its row and rendered from its raw bytes when read (see
    /// ``IncomingEmail/renderedHTML(raw:)``): when it came from those bytes, which are kept, and they are small
    /// enough (one piece, ``rawPieceSize``) that reading and parsing them again costs a reader little.
    static func rendersHTMLFromRaw(_ email: IncomingEmail) -> Bool {
        email.rendersHTMLFromRaw && !email.raw.isEmpty && email.raw.count <= rawPieceSize
    }

    /// One INSERT for `rows`, each row's values in the order of ``messageColumns``.
    private static func messageInsert(_ rows: [[RowValue]]) -> BoundStatement {
        let row = "(?, ?, 'incoming', " + BoundStatement.placeholders((rows.first?.count ?? 2) - 2) + ")"
        return BoundStatement(
            "INSERT INTO messages (\(messageColumns)) VALUES " + Array(repeating: row, count: rows.count).joined(separator: ", "), rows.flatMap { $0 })
    }
}

extension Array {
    /// Hands over the elements and leaves the array empty.
    mutating func drainAll() -> [Element] {
        defer { removeAll(keepingCapacity: true) }
        return self
    }
}
