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

    public func claimDueDeliveries(now: Date, limit: Int, by node: NodeID, for claim: Duration) async throws -> [Delivery] {
        let clock = clock()
        let now = Self.stored(now)
        // Mailboxes with a live claim of another node stay that node's, as in the SQL store.
        let elsewhere = Set(state.outbox.filter { delivery in
            guard delivery.state == .queued, let claim = state.claims[delivery.id] else { return false }
            return claim.node != node && claim.expiresAt > clock
        }.compactMap(\.mailbox))
        let due = state.outbox.filter { delivery in
            guard delivery.state == .queued, delivery.nextAttemptAt <= now else { return false }
            if let mailbox = delivery.mailbox, elsewhere.contains(mailbox) { return false }
            guard let claim = state.claims[delivery.id] else { return true }
            return claim.expiresAt <= clock || claim.node == node
        }
        let claimed = Array(due.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }.prefix(max(1, min(limit, 1000))))
        for delivery in claimed {
            state.claims[delivery.id] = LeaseRow(node: node, expiresAt: clock.addingTimeInterval(Self.seconds(claim)))
        }
        return claimed
    }

    public func renewClaim(delivery id: Int64, by node: NodeID, for claim: Duration) async throws -> Bool {
        guard state.claims[id]?.node == node, state.outbox.contains(where: { $0.id == id && $0.state == .queued }) else { return false }
        state.claims[id]?.expiresAt = clock().addingTimeInterval(Self.seconds(claim))
        return true
    }

    @discardableResult
    public func record(_ outcome: DeliveryOutcome, delivery id: Int64, claimedBy node: NodeID, at now: Date) async throws -> Bool {
        guard let index = state.outbox.firstIndex(where: { $0.id == id }), state.outbox[index].state == .queued,
              state.claims[id]?.node == node
        else { return false }
        state.claims[id] = nil
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
        return true
    }

    public func deliveries(ticket: TicketNumber) async throws -> [Int64: Delivery] {
        var byMessage: [Int64: Delivery] = [:]
        for delivery in state.outbox where delivery.ticket == ticket { byMessage[delivery.messageRowID] = delivery }
        return byMessage
    }
}
