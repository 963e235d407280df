import Foundation
import MailroomCore
import SQLKit

extension SQLStore {
    public func ingest(_ email: IncomingEmail, mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> IngestOutcome {
        let outcomes = try await ingest([email], mailbox: mailbox, folder: folder, watermark: watermark)
        guard let outcome = outcomes.first else { throw StoreError.corrupt("Filing returned no outcome.") }
        return outcome
    }

    /// Committed without waiting for the disk (``Database/Durability/deferred``): the mail server still holds every
    /// message until ``makeDurable()`` has returned and the syncer deletes it.
    public func ingest(_ emails: [IncomingEmail], mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> [IngestOutcome] {
        try await database.transaction(.deferred) { sql in
            try await Self.upsertWatermark(sql, id: mailbox, folder: folder, watermark, at: Millis.now)
            var outcomes: [IngestOutcome] = []
            for email in emails {
                outcomes.append(try await Self.file(email, mailbox: mailbox, watermark: watermark, sql: sql))
            }
            return outcomes
        }
    }

    public func makeDurable() async throws {
        try await database.makeDurable()
    }

    public func receive(_ email: IncomingEmail, mailbox: MailboxID) async throws -> IngestOutcome {
        try await database.transaction { sql in
            try await Self.file(email, mailbox: mailbox, watermark: nil, sql: sql)
        }
    }

    /// Files one email inside the caller's transaction.
    static func file(_ email: IncomingEmail, mailbox: MailboxID, watermark: SyncWatermark?, sql: any SQLDatabase) async throws -> IngestOutcome {
        // Whoever built the email, no control character reaches a text column.
        var email = email.storable
        if let row = try await sql.raw("""
            SELECT ticket_id, content_hash FROM messages WHERE mailbox_id = \(bind: mailbox.rawValue) AND dedupe_key = \(bind: email.dedupeKey)
            """).first() {
            let storedHash = try row.optionalString("content_hash")
            if storedHash == nil || storedHash == email.contentHash || email.contentHash.isEmpty {
                return .duplicate(TicketNumber(try row.int64("ticket_id")))
            }
            // Same Message-ID, different content: another email (broken mailers reuse IDs). File it under its hash.
            email.dedupeKey += "#sha256:" + email.contentHash
            if let again = try await sql.raw("""
                SELECT ticket_id FROM messages WHERE mailbox_id = \(bind: mailbox.rawValue) AND dedupe_key = \(bind: email.dedupeKey)
                """).first() {
                return .duplicate(TicketNumber(try again.int64("ticket_id")))
            }
        }
        let received = Millis.from(email.receivedAt)
        let decision = try await findTicket(for: email, mailbox: mailbox, sql: sql)
        var ticket: TicketNumber?
        let outcome: IngestOutcome
        if case .join(let existing) = decision {
            ticket = existing
            outcome = .joinedTicket(existing)
            try await sql.raw("""
                UPDATE tickets SET message_count = message_count + 1,
                    last_message_at = CASE WHEN last_message_at < \(bind: received) THEN \(bind: received) ELSE last_message_at END,
                    status = 'open'
                WHERE id = \(bind: existing.rawValue)
                """).run()
        } else {
            guard let row = try await sql.raw("""
                INSERT INTO tickets (subject, requester_email, requester_name, status, mailbox_id, message_count, created_at, last_message_at, referred_ticket_id)
                VALUES (\(bind: email.subject), \(bind: email.from.email), \(bind: email.from.name), 'open', \(bind: mailbox.rawValue), 1, \(bind: received), \(bind: received),
                    \(bind: referredTicket(decision)))
                RETURNING id
                """).first()
            else { throw StoreError.corrupt("The new ticket got no id.") }
            let number = TicketNumber(try row.int64("id"))
            ticket = number
            outcome = .openedTicket(number)
        }
        guard let ticketNumber = ticket else { throw StoreError.corrupt("No ticket for the message.") }
        try await sql.raw("""
            INSERT INTO messages (ticket_id, mailbox_id, direction, dedupe_key, message_id, from_email, from_name, to_json, cc_json, subject,
                text_body, html_body, attachments_json, defects_json, sent_at, received_at, uid_validity, uid, raw_size, raw, content_hash, automatic, source)
            VALUES (\(bind: ticketNumber.rawValue), \(bind: mailbox.rawValue), 'incoming', \(bind: email.dedupeKey), \(bind: email.messageID),
                \(bind: email.from.email), \(bind: email.from.name), \(bind: Self.json(email.to)), \(bind: Self.json(email.cc)), \(bind: email.subject),
                \(bind: email.textBody), \(bind: email.sanitizedHTML), \(bind: Self.json(email.attachments)), \(bind: Self.json(email.defects)),
                \(bind: email.sentAt.map(Millis.from)), \(bind: received), \(bind: watermark.map { Int64($0.uidValidity) }), \(bind: email.sourceUID.map { Int64($0) }),
                \(bind: Int64(email.raw.count)), \(bind: Data(email.raw)), \(bind: email.contentHash.isEmpty ? nil : email.contentHash),
                \(bind: email.automatic?.rawValue), \(bind: watermark?.source))
            """).run()
        return outcome
    }

    /// Threading: the tickets the email names (by a referenced Message-ID, most specific first, then by `[#N]` in
    /// its subject), each judged by ``ConversationMembership``: it joins the first whose conversation it belongs
    /// to, or opens a new ticket that remembers the one it named.
    static func findTicket(for email: IncomingEmail, mailbox: MailboxID, sql: any SQLDatabase) async throws -> ConversationMembership.Decision {
        let references = Array(email.threadReferences.prefix(100))
        var named: [(ticket: Int64, reference: String?)] = []
        if !references.isEmpty {
            // Only this mailbox's messages: a Message-ID is no key across mailboxes, nor within one (anyone can reuse
            // it), so every ticket holding it is a candidate, ours (sent by Mailroom) and the oldest first.
            let rows = try await sql.raw("""
                SELECT message_id, ticket_id FROM messages WHERE mailbox_id = \(bind: mailbox.rawValue) AND message_id IN (\(binds: references))
                ORDER BY CASE WHEN direction = 'outgoing' THEN 0 ELSE 1 END, id
                """).all()
            var byID: [String: [Int64]] = [:]
            for row in rows {
                if let id = try row.optionalString("message_id") { byID[id, default: []].append(try row.int64("ticket_id")) }
            }
            // threadReferences is ordered most specific first (In-Reply-To, then newest reference).
            for reference in references {
                for ticket in byID[reference] ?? [] where !named.contains(where: { $0.ticket == ticket }) { named.append((ticket, reference)) }
            }
        }
        if let number = Threading.ticketNumber(inSubject: email.subject), !named.contains(where: { $0.ticket == number.rawValue }) {
            named.append((number.rawValue, nil))
        }
        guard !named.isEmpty else { return .newTicket(referredTo: nil) }
        var candidates: [ConversationMembership.Candidate] = []
        for (ticket, reference) in named.prefix(5) {
            guard let row = try await sql.raw("SELECT mailbox_id, requester_email FROM tickets WHERE id = \(bind: ticket)").first() else { continue }
            var participants: Set<String> = [try row.string("requester_email").lowercased()]
            var sent: Set<String> = []
            for message in try await sql.raw("""
                SELECT direction, message_id, from_email, to_json, cc_json FROM messages WHERE ticket_id = \(bind: ticket)
                """).all() {
                participants.insert(try message.string("from_email").lowercased())
                for person in (Self.decodeJSON([Person].self, try message.string("to_json")) ?? []) + (Self.decodeJSON([Person].self, try message.string("cc_json")) ?? []) {
                    participants.insert(person.email.lowercased())
                }
                if try message.string("direction") == MessageDirection.outgoing.rawValue, let id = try message.optionalString("message_id") {
                    sent.insert(id)
                }
            }
            candidates.append(ConversationMembership.Candidate(
                ticket: TicketNumber(ticket), mailbox: try row.optionalInt64("mailbox_id").map { MailboxID(rawValue: $0) },
                participants: participants, sentMessageIDs: sent, matchedReference: reference))
        }
        let support = try await sql.raw("SELECT email FROM mailboxes WHERE id = \(bind: mailbox.rawValue)").first().map { try $0.string("email") } ?? ""
        return ConversationMembership.decide(
            sender: email.from.email, mailbox: mailbox, supportAddress: support, references: references, candidates: candidates)
    }

    private static func referredTicket(_ decision: ConversationMembership.Decision) -> Int64? {
        if case .newTicket(let referred?) = decision { return referred.rawValue }
        return nil
    }

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
        try await database.withSQL { sql in
            guard let row = try await sql.raw("SELECT * FROM tickets WHERE id = \(bind: number.rawValue)").first() else { return nil }
            let summary = try Self.summary(from: row)
            let messages = try await sql.raw("""
                SELECT id, from_email, from_name, to_json, cc_json, subject, message_id, text_body, html_body, attachments_json,
                    defects_json, received_at, sent_at, raw_size, direction, automatic
                FROM messages WHERE ticket_id = \(bind: number.rawValue) ORDER BY received_at, id
                """).all().map { row in
                TicketMessage(
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
            return TicketDetail(summary: summary, messages: messages)
        }
    }

    public func rawMessage(_ messageID: Int64) async throws -> [UInt8]? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT raw FROM messages WHERE id = \(bind: messageID)").first().map { try $0.bytes("raw") }
        }
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
