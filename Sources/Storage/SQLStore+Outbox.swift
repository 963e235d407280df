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

    public func record(_ outcome: DeliveryOutcome, delivery id: Int64, at now: Date) async throws {
        let millis = Millis.from(now)
        try await database.withSQL { sql in
            switch outcome {
            case .sent:
                try await sql.raw("""
                    UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = \(bind: millis), last_error = NULL WHERE id = \(bind: id)
                    """).run()
            case .retry(let error, let next):
                try await sql.raw("""
                    UPDATE outbox SET attempts = attempts + 1, last_error = \(bind: error), next_attempt_at = \(bind: Millis.from(next))
                    WHERE id = \(bind: id)
                    """).run()
            case .failed(let error):
                try await sql.raw("""
                    UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = \(bind: error) WHERE id = \(bind: id)
                    """).run()
            }
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
