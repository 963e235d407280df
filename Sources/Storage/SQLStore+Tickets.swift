import Foundation
import MailroomCore
import SQLKit

extension SQLStore {
    public func tickets(limit: Int, offset: Int) async throws -> [TicketSummary] {
        try await database.withSQL { sql in
            try await sql.raw("""
                SELECT * FROM tickets ORDER BY last_message_at DESC, id DESC LIMIT \(literal: max(1, min(limit, 10_000))) OFFSET \(literal: max(0, offset))
                """).all().map(Self.summary(from:))
        }
    }

    public func ticketCount() async throws -> Int {
        try await database.withSQL { sql in
            Int(try await sql.raw("SELECT COUNT(*) AS n FROM tickets").first()?.int64("n") ?? 0)
        }
    }

    public func messageCount() async throws -> Int {
        try await database.withSQL { sql in
            Int(try await sql.raw("SELECT COUNT(*) AS n FROM messages").first()?.int64("n") ?? 0)
        }
    }

    public func ticket(_ number: TicketNumber) async throws -> TicketDetail? {
        let read: (detail: TicketDetail, rendered: [Int])? = try await database.withSQL { sql in
            guard let row = try await sql.raw("SELECT * FROM tickets WHERE id = \(bind: number.rawValue)").first() else { return nil }
            let summary = try Self.summary(from: row)
            var rendered: [Int] = []
            let messages = try await sql.raw("""
                SELECT id, from_email, from_name, to_json, cc_json, subject, message_id, text_body, html_body, html_from_raw, attachments_json,
                    defects_json, received_at, sent_at, raw_size, direction, automatic
                FROM messages WHERE ticket_id = \(bind: number.rawValue) ORDER BY received_at, id
                """).all().enumerated().map { index, row in
                if try row.int64("html_from_raw") != 0 { rendered.append(index) }
                return TicketMessage(
                    id: try row.int64("id"),
                    from: Person(name: try row.optionalString("from_name"), email: try row.string("from_email")),
                    to: Self.decodeJSON([Person].self, try row.string("to_json")) ?? [],
                    cc: Self.decodeJSON([Person].self, try row.string("cc_json")) ?? [],
                    subject: try row.string("subject"), messageID: try row.optionalString("message_id"),
                    textBody: try row.string("text_body"), htmlBody: try row.optionalString("html_body"),
                    attachments: Self.decodeJSON([AttachmentInfo].self, try row.string("attachments_json")) ?? [],
                    receivedAt: try row.date("received_at"), sentAt: try row.optionalDate("sent_at"),
                    rawSize: Int(try row.int64("raw_size")),
                    defects: Self.decodeJSON([String].self, try row.string("defects_json")) ?? [],
                    direction: MessageDirection(rawValue: try row.string("direction")) ?? .incoming,
                    automatic: try row.optionalString("automatic").flatMap(AutomaticMailKind.init(rawValue:)))
            }
            return (TicketDetail(summary: summary, messages: messages), rendered)
        }
        guard let read else { return nil }
        var detail = read.detail
        // Outside the database's lock: each reads its raw bytes, as a download does.
        for index in read.rendered { detail.messages[index].htmlBody = await renderedHTML(detail.messages[index].id) }
        return detail
    }

    /// A fetched message's HTML, rendered from its raw bytes (see ``IncomingEmail/renderedHTML(raw:)``). When those
    /// cannot be read, the message is shown with its text alone, and the operator is told why in the log.
    private func renderedHTML(_ messageID: Int64) async -> String? {
        do {
            guard let raw = try await rawMessage(messageID) else { return nil }
            return IncomingEmail.renderedHTML(raw: raw)
        } catch {
            database.logger.error("A message's HTML could not be rendered from its stored raw bytes; it is shown as text", metadata: [
                "message": "\(messageID)", "error": "\(error)",
            ])
            return nil
        }
    }

    public func rawMessage(_ messageID: Int64) async throws -> [UInt8]? {
        let dialect = database.dialect
        // The row is read under the database's lock; an archived message's file is read after it.
        let stored = try await database.withSQL { sql in try await Self.rawPlacement(messageID, dialect: dialect, sql: sql) }
        return try stored.map { try Self.read($0, archive: database.rawArchive) }
    }

    /// Where a message's raw bytes are: read already (from its row, its pieces or PostgreSQL's `raw_blobs`), or in
    /// the mail archive.
    enum StoredRaw: Sendable { case bytes([UInt8]), archived(RawLocation) }

    static func rawPlacement(_ messageID: Int64, dialect: SQLDialectKind, sql: any SQLDatabase) async throws -> StoredRaw? {
        guard let row = try await sql.raw("SELECT raw, raw_size, raw_segment, raw_offset FROM messages WHERE id = \(bind: messageID)").first()
        else { return nil }
        if let segment = try row.optionalString("raw_segment") {
            let location = RawLocation(segment: segment, offset: try row.optionalInt64("raw_offset") ?? -1, length: Int(try row.int64("raw_size")))
            guard dialect == .postgres else { return .archived(location) }
            guard segment == Self.blobSegment, let blob = try await sql.raw("SELECT bytes FROM raw_blobs WHERE id = \(bind: location.offset)").first()
            else { throw StoreError.corrupt("Message \(messageID) refers to stored mail that is not there (\(segment) \(location.offset)).") }
            let bytes = try blob.bytes("bytes")
            guard bytes.count == location.length else {
                throw StoreError.corrupt("The stored copy of message \(messageID) has \(bytes.count) bytes, not \(location.length).")
            }
            return .bytes(bytes)
        }
        let raw = try row.bytes("raw")
        guard raw.isEmpty, try row.int64("raw_size") > 0 else { return .bytes(raw) }
        // A large message is kept in pieces (see `rawPieceSize`).
        var whole: [UInt8] = []
        for piece in try await sql.raw("SELECT bytes FROM message_raw_pieces WHERE message_id = \(bind: messageID) ORDER BY seq").all() {
            whole += try piece.bytes("bytes")
        }
        return .bytes(whole)
    }

    static func read(_ placement: StoredRaw, archive: RawArchive?) throws -> [UInt8] {
        switch placement {
        case .bytes(let bytes): return bytes
        case .archived(let location):
            guard let archive else { throw StoreError.corrupt("A message refers to a mail archive this database has none of.") }
            return try archive.read(location)
        }
    }

    /// A message's raw bytes, read inside the caller's transaction.
    static func storedRaw(_ messageID: Int64, dialect: SQLDialectKind, archive: RawArchive?, sql: any SQLDatabase) async throws -> [UInt8]? {
        try await rawPlacement(messageID, dialect: dialect, sql: sql).map { try read($0, archive: archive) }
    }

    /// UIDs of this folder generation, fetched from this server, account and folder (`source`, see ``SyncSource``),
    /// whose content is stored: the only mail delete-after-fetch may remove. Notices (too large, unreadable) have no
    /// stored content and are never in this set; nor is mail filed before Mailroom recorded where it came from.
    public func storedUIDs(mailbox: MailboxID, source: String, uidValidity: UInt32, through lastUID: UInt32) async throws -> Set<UInt32> {
        try await database.withSQL { sql in
            Set(try await sql.raw("""
                SELECT uid FROM messages WHERE mailbox_id = \(bind: mailbox.rawValue) AND source = \(bind: source) AND uid_validity = \(bind: Int64(uidValidity))
                    AND uid IS NOT NULL AND uid <= \(bind: Int64(lastUID)) AND raw_size > 0
                """).all().map { UInt32(truncatingIfNeeded: try $0.int64("uid")) })
        }
    }

    /// Message-IDs and dedupe keys filed for a mailbox: what tests and the operator check for duplicates.
    public func dedupeKeys(mailbox: MailboxID) async throws -> [String] {
        try await database.withSQL { sql in
            try await sql.raw("SELECT dedupe_key FROM messages WHERE mailbox_id = \(bind: mailbox.rawValue)").all().map { try $0.string("dedupe_key") }
        }
    }

    static func summary(from row: any SQLRow) throws -> TicketSummary {
        TicketSummary(
            number: TicketNumber(try row.int64("id")), subject: try row.string("subject"),
            requester: Person(name: try row.optionalString("requester_name"), email: try row.string("requester_email")),
            status: TicketStatus(rawValue: try row.string("status")) ?? .open,
            mailboxID: try row.optionalInt64("mailbox_id").map { MailboxID(rawValue: $0) },
            messageCount: Int(try row.int64("message_count")), createdAt: try row.date("created_at"),
            lastMessageAt: try row.date("last_message_at"),
            referredTicket: try row.optionalInt64("referred_ticket_id").map { TicketNumber($0) })
    }
}
