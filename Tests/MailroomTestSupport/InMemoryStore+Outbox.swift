import Foundation
import MailroomCore

/// Replies: on the ticket and in the outbox in one step, then attempted on schedule.
extension InMemoryStore {
    public func enqueue(_ reply: OutboundReply, at now: Date) async throws -> Delivery {
        try transaction { state in
            guard var summary = state.tickets[reply.ticket] else { throw StoreError.valueRefused("There is no ticket \(reply.ticket).") }
            let dedupeKey = "mid:" + reply.messageID
            if state.messages.contains(where: { $0.mailbox == reply.mailbox && $0.dedupeKey == dedupeKey }) {
                throw StoreError.valueRefused("A message with the Message-ID \(reply.messageID) is already filed for this mailbox.")
            }
            let now = Self.stored(now)
            let message = MessageRow(
                id: state.newID(), ticket: reply.ticket, mailbox: reply.mailbox, direction: .outgoing, dedupeKey: dedupeKey, messageID: reply.messageID,
                from: reply.from, to: reply.to, cc: reply.cc, subject: reply.subject, textBody: reply.textBody, htmlBody: nil, attachments: [],
                defects: [], sentAt: now, receivedAt: now, uidValidity: nil, uid: nil, raw: reply.raw, contentHash: nil, automatic: nil, source: nil)
            state.messages.append(message)
            summary.messageCount += 1
            summary.lastMessageAt = max(summary.lastMessageAt, now)
            state.tickets[reply.ticket] = summary
            let delivery = Delivery(
                id: state.newID(), messageRowID: message.id, ticket: reply.ticket, mailbox: reply.mailbox, envelopeFrom: reply.envelopeFrom,
                recipients: reply.recipients, state: .queued, attempts: 0, nextAttemptAt: now, lastError: nil, createdAt: now, sentAt: nil)
            state.outbox.append(delivery)
            return delivery
        }
    }

    public func dueDeliveries(now: Date, limit: Int) async throws -> [Delivery] {
        let now = Self.stored(now)
        return Array(state.outbox.filter { $0.state == .queued && $0.nextAttemptAt <= now }
            .sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
            .prefix(max(1, min(limit, 1000))))
    }

    public func record(_ outcome: DeliveryOutcome, delivery id: Int64, at now: Date) async throws {
        guard let index = state.outbox.firstIndex(where: { $0.id == id }) else { return }
        var delivery = state.outbox[index]
        delivery.attempts += 1
        switch outcome {
        case .sent:
            delivery.state = .sent
            delivery.sentAt = Self.stored(now)
            delivery.lastError = nil
        case .retry(let error, let next):
            delivery.lastError = error
            delivery.nextAttemptAt = Self.stored(next)
        case .failed(let error):
            delivery.state = .failed
            delivery.lastError = error
        }
        state.outbox[index] = delivery
    }

    public func deliveries(ticket: TicketNumber) async throws -> [Int64: Delivery] {
        var byMessage: [Int64: Delivery] = [:]
        for delivery in state.outbox where delivery.ticket == ticket { byMessage[delivery.messageRowID] = delivery }
        return byMessage
    }
}
