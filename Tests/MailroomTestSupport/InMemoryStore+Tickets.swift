import Foundation
import MailroomCore
import Storage

/// Filing incoming mail (dedupe, threading) and reading tickets, as `SQLStore+Tickets` does.
extension InMemoryStore {
    public func ingest(_ email: IncomingEmail, mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> IngestOutcome {
        let outcomes = try await ingest([email], mailbox: mailbox, folder: folder, watermark: watermark)
        guard let outcome = outcomes.first else { throw StoreError.corrupt("Filing returned no outcome.") }
        return outcome
    }

    /// Memory has no disk to reach.
    public func makeDurable() async throws {}
    /// Raw bytes stay with the stored message.
    public func archive(_ raws: [[UInt8]]) async throws -> [RawLocation]? { nil }

    public func ingest(_ emails: [IncomingEmail], mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> [IngestOutcome] {
        try transaction { state in
            state.watermarks[mailbox, default: [:]][folder] = watermark
            return try Self.file(emails, mailbox: mailbox, watermark: watermark, into: &state)
        }
    }

    public func receive(_ email: IncomingEmail, mailbox: MailboxID) async throws -> IngestOutcome {
        try transaction { state in
            guard let outcome = try Self.file([email], mailbox: mailbox, watermark: nil, into: &state).first else {
                throw StoreError.corrupt("Filing returned no outcome.")
            }
            return outcome
        }
    }

    /// Files emails as ``FilingPlan`` decides, from the facts this state holds: what `SQLStore` reads with queries.
    static func file(_ emails: [IncomingEmail], mailbox: MailboxID, watermark: SyncWatermark?, into state: inout State) throws -> [IngestOutcome] {
        var emails = emails.map(\.storable)
        let plan = FilingPlan(emails, mailbox: mailbox, facts: facts(for: &emails, mailbox: mailbox, state: state))
        var numbers: [TicketNumber] = []
        for new in plan.newTickets {
            let number = TicketNumber(state.newID())
            numbers.append(number)
            state.tickets[number] = TicketSummary(
                number: number, subject: new.subject, requester: new.requester, status: .open, mailboxID: new.mailbox, messageCount: new.messageCount,
                createdAt: stored(new.createdAt), lastMessageAt: stored(new.lastMessageAt),
                referredTicket: try new.referredTo.map { try FilingPlan.number($0, numbers) })
        }
        for joined in plan.joined {
            guard var summary = state.tickets[joined.ticket] else { throw StoreError.corrupt("No ticket for the message.") }
            summary.messageCount += joined.added
            summary.lastMessageAt = max(summary.lastMessageAt, stored(joined.lastMessageAt))
            summary.status = .open
            state.tickets[joined.ticket] = summary
        }
        for filing in plan.filings {
            let email = filing.email
            state.messages.append(MessageRow(
                id: state.newID(), ticket: try FilingPlan.number(filing.ticket, numbers), mailbox: mailbox, direction: .incoming,
                dedupeKey: email.dedupeKey, messageID: email.messageID, from: email.from, to: email.to, cc: email.cc, subject: email.subject,
                textBody: email.textBody, htmlBody: email.sanitizedHTML, attachments: email.attachments, defects: email.defects,
                sentAt: email.sentAt.map(stored), receivedAt: stored(email.receivedAt), uidValidity: watermark?.uidValidity, uid: email.sourceUID,
                raw: email.raw, contentHash: email.contentHash.isEmpty ? nil : email.contentHash, automatic: email.automatic, source: watermark?.source))
        }
        return try plan.outcomes(numbering: numbers)
    }

    /// The facts `SQLStore` reads for a group, read from memory.
    /// Contested emails, and the stored messages they meet, get their content hash, as `SQLStore` gives them.
    static func facts(for emails: inout [IncomingEmail], mailbox: MailboxID, state: State) -> FilingFacts {
        let keys = FilingPlan.keys(for: emails)
        var facts = FilingFacts(supportAddress: state.mailboxes[mailbox]?.mailbox.email ?? "")
        let ours = state.messages.filter { $0.mailbox == mailbox }
        let messageIDs = Set(keys.messageIDs)
        func lookUp(_ dedupeKeys: Set<String>) {
            for message in ours where dedupeKeys.contains(message.dedupeKey) {
                facts.filed[message.dedupeKey] = FilingFacts.Filed(
                    ticket: message.ticket, contentHash: message.contentHash ?? (message.raw.isEmpty ? nil : ContentHash.of(message.raw)))
            }
        }
        lookUp(Set(keys.dedupeKeys))
        lookUp(Set(FilingPlan.hashContested(&emails, filed: facts.filed, hash: ContentHash.of)))
        let holding = ours.filter { $0.messageID.map(messageIDs.contains) == true }
            .sorted { ($0.direction == .outgoing ? 0 : 1, $0.id) < ($1.direction == .outgoing ? 0 : 1, $1.id) }
        for message in holding {
            guard let id = message.messageID, facts.holders[id]?.contains(message.ticket) != true else { continue }
            facts.holders[id, default: []].append(message.ticket)
        }
        for ticket in FilingPlan.named(by: emails, holders: facts.holders) {
            guard let summary = state.tickets[ticket] else { continue }
            var conversation = FilingFacts.Conversation(mailbox: summary.mailboxID, participants: [ConversationMembership.participant(summary.requester.email)], sentMessageIDs: [])
            for message in state.messages where message.ticket == ticket {
                conversation.participants.insert(ConversationMembership.participant(message.from.email))
                for person in message.to + message.cc { conversation.participants.insert(ConversationMembership.participant(person.email)) }
                if message.direction == .outgoing, let id = message.messageID { conversation.sentMessageIDs.insert(id) }
            }
            facts.conversations[ticket] = conversation
        }
        return facts
    }

    public func storedUIDs(mailbox: MailboxID, source: String, uidValidity: UInt32, through lastUID: UInt32) async throws -> Set<UInt32> {
        Set(state.messages.compactMap { message in
            guard message.mailbox == mailbox, message.source == source, message.uidValidity == uidValidity, !message.raw.isEmpty,
                  let uid = message.uid, uid <= lastUID else { return nil }
            return uid
        })
    }

    public func tickets(limit: Int, offset: Int) async throws -> [TicketSummary] {
        let ordered = state.tickets.values.sorted { ($0.lastMessageAt, $0.number.rawValue) > ($1.lastMessageAt, $1.number.rawValue) }
        return Array(ordered.dropFirst(max(0, offset)).prefix(max(1, min(limit, 10_000))))
    }

    public func ticketCount() async throws -> Int { state.tickets.count }

    /// Every message filed or sent, as tests count them.
    public func messageCount() async throws -> Int { state.messages.count }

    /// The dedupe keys filed for a mailbox.
    public func dedupeKeys(mailbox: MailboxID) async throws -> [String] {
        state.messages.filter { $0.mailbox == mailbox }.map(\.dedupeKey)
    }

    public func ticket(_ number: TicketNumber) async throws -> TicketDetail? {
        guard let summary = state.tickets[number] else { return nil }
        let messages = state.messages.filter { $0.ticket == number }.sorted { ($0.receivedAt, $0.id) < ($1.receivedAt, $1.id) }
        return TicketDetail(summary: summary, messages: messages.map(\.shown))
    }

    public func rawMessage(_ messageID: Int64) async throws -> [UInt8]? {
        state.messages.first { $0.id == messageID }?.raw
    }
}
