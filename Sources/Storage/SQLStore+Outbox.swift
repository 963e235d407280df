import Foundation
import MailroomCore
import SQLKit

extension SQLStore {
    public func enqueue(_ reply: OutboundReply, at now: Date) async throws -> Delivery {
        let millis = Millis.from(now)
        return try await database.transaction { sql in
            guard let message = try await sql.raw("""
                INSERT INTO messages (ticket_id, mailbox_id, direction, dedupe_key, message_id, from_email, from_name, to_json, cc_json, subject,
                    text_body, html_body, attachments_json, defects_json, sent_at, received_at, uid_validity, uid, raw_size, raw, content_hash)
                VALUES (\(bind: reply.ticket.rawValue), \(bind: reply.mailbox.rawValue), 'outgoing', \(bind: "mid:" + reply.messageID), \(bind: reply.messageID),
                    \(bind: reply.from.email), \(bind: reply.from.name), \(bind: Self.json(reply.to)), \(bind: Self.json(reply.cc)), \(bind: reply.subject),
                    \(bind: reply.textBody), \(bind: String?.none), '[]', '[]', \(bind: millis), \(bind: millis), \(bind: Int64?.none), \(bind: Int64?.none),
                    \(bind: Int64(reply.raw.count)), \(bind: Data(reply.raw)), \(bind: String?.none))
                RETURNING id
                """).first()
            else { throw StoreError.corrupt("The reply got no id.") }
            let messageRowID = try message.int64("id")
            try await sql.raw("""
                UPDATE tickets SET message_count = message_count + 1,
                    last_message_at = CASE WHEN last_message_at < \(bind: millis) THEN \(bind: millis) ELSE last_message_at END
                WHERE id = \(bind: reply.ticket.rawValue)
                """).run()
            guard let row = try await sql.raw("""
                INSERT INTO outbox (message_row_id, ticket_id, mailbox_id, envelope_from, recipients_json, status, attempts, next_attempt_at, created_at)
                VALUES (\(bind: messageRowID), \(bind: reply.ticket.rawValue), \(bind: reply.mailbox.rawValue), \(bind: reply.envelopeFrom),
                    \(bind: Self.json(reply.recipients)), 'queued', 0, \(bind: millis), \(bind: millis))
                RETURNING *
                """).first()
            else { throw StoreError.corrupt("The outbox row got no id.") }
            return try Self.delivery(from: row)
        }
    }

    public func dueDeliveries(now: Date, limit: Int) async throws -> [Delivery] {
        try await database.withSQL { sql in
            try await sql.raw("""
                SELECT * FROM outbox WHERE status = 'queued' AND next_attempt_at <= \(bind: Millis.from(now))
                ORDER BY next_attempt_at, id LIMIT \(literal: max(1, min(limit, 1000)))
                """).all().map(Self.delivery(from:))
        }
    }

    /// A claim ends when it expires, or at once when its node's heartbeat has (a node that died mid-send does not hold
    /// its replies for the whole claim time; a live node whose heartbeat lapses stops sending first, see
    /// `LeaseKeeper.isCurrent`).
    ///
    /// Claims row by row in one transaction: the due rows are locked as they are read (on PostgreSQL
    /// `FOR UPDATE SKIP LOCKED`, so a second node's claim passes over them instead of waiting) and stamped with the
    /// claimant and a deadline by the database's clock. SQLite has one writer at a time (`BEGIN IMMEDIATE`), so the
    /// same statements without the lock clause are just as exclusive.
    public func claimDueDeliveries(now: Date, limit: Int, by node: NodeID, for claim: Duration) async throws -> [Delivery] {
        let clock = DatabaseClock.now(database.dialect)
        let lock = database.dialect == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { sql in
            let ids = try await sql.raw("""
                SELECT id FROM outbox
                WHERE status = 'queued' AND next_attempt_at <= \(bind: Millis.from(now))
                    AND (claimed_until IS NULL OR claimed_until <= \(unsafeRaw: clock) OR claimed_by = \(bind: node.rawValue)
                        OR EXISTS (SELECT 1 FROM nodes dead WHERE dead.node_id = outbox.claimed_by AND dead.expires_at <= \(unsafeRaw: clock)))
                    AND NOT EXISTS (
                        SELECT 1 FROM outbox other WHERE other.mailbox_id = outbox.mailbox_id AND other.status = 'queued'
                            AND other.claimed_by <> \(bind: node.rawValue) AND other.claimed_until > \(unsafeRaw: clock)
                            AND NOT EXISTS (SELECT 1 FROM nodes dead WHERE dead.node_id = other.claimed_by AND dead.expires_at <= \(unsafeRaw: clock)))
                ORDER BY next_attempt_at, id LIMIT \(literal: max(1, min(limit, 1000)))
                \(unsafeRaw: lock)
                """).all().map { try $0.int64("id") }
            guard !ids.isEmpty else { return [] }
            return try await sql.raw("""
                UPDATE outbox SET claimed_by = \(bind: node.rawValue), claimed_until = \(unsafeRaw: clock) + \(bind: DatabaseClock.millis(claim))
                WHERE id IN (\(binds: ids))
                RETURNING *
                """).all().map(Self.delivery(from:)).sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
        }
    }

    public func renewClaim(delivery id: Int64, by node: NodeID, for claim: Duration) async throws -> Bool {
        let clock = DatabaseClock.now(database.dialect)
        return try await database.withSQL { sql in
            try await sql.raw("""
                UPDATE outbox SET claimed_until = \(unsafeRaw: clock) + \(bind: DatabaseClock.millis(claim))
                WHERE id = \(bind: id) AND status = 'queued' AND claimed_by = \(bind: node.rawValue)
                RETURNING id
                """).first() != nil
        }
    }

    /// Conditional on the claim: `claimed_by` must still be `node` (an expired claim nobody took over still is),
    /// and the claim ends with the record.
    @discardableResult
    public func record(_ outcome: DeliveryOutcome, delivery id: Int64, claimedBy node: NodeID, at now: Date) async throws -> Bool {
        let millis = Millis.from(now)
        return try await database.withSQL { sql in
            let change: SQLQueryString = switch outcome {
            case .sent: "status = 'sent', sent_at = \(bind: millis), last_error = NULL"
            case .retry(let error, let next): "last_error = \(bind: error), next_attempt_at = \(bind: Millis.from(next))"
            case .failed(let error): "status = 'failed', last_error = \(bind: error)"
            }
            return try await sql.raw("""
                UPDATE outbox SET \(change), attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL
                WHERE id = \(bind: id) AND status = 'queued' AND claimed_by = \(bind: node.rawValue)
                RETURNING id
                """).first() != nil
        }
    }

    public func deliveries(ticket: TicketNumber) async throws -> [Int64: Delivery] {
        try await database.withSQL { sql in
            let rows = try await sql.raw("SELECT * FROM outbox WHERE ticket_id = \(bind: ticket.rawValue)").all()
            var byMessage: [Int64: Delivery] = [:]
            for row in rows {
                let delivery = try Self.delivery(from: row)
                byMessage[delivery.messageRowID] = delivery
            }
            return byMessage
        }
    }

    static func delivery(from row: any SQLRow) throws -> Delivery {
        Delivery(
            id: try row.int64("id"), messageRowID: try row.int64("message_row_id"), ticket: TicketNumber(try row.int64("ticket_id")),
            mailbox: try row.optionalInt64("mailbox_id").map { MailboxID($0) }, envelopeFrom: try row.string("envelope_from"),
            recipients: decodeJSON([String].self, try row.string("recipients_json")) ?? [],
            state: DeliveryState(rawValue: try row.string("status")) ?? .queued, attempts: Int(try row.int64("attempts")),
            nextAttemptAt: try row.date("next_attempt_at"), lastError: try row.optionalString("last_error"),
            createdAt: try row.date("created_at"), sentAt: try row.optionalDate("sent_at"))
    }
}
