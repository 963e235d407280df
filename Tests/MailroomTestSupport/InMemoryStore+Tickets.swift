import Foundation
import MailroomCore

/// Filing incoming mail (dedupe, threading) and reading tickets, as `SQLStore+Tickets` does.
extension InMemoryStore {
    public func ingest(_ email: IncomingEmail, mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> IngestOutcome {
        let outcomes = try await ingest([email], mailbox: mailbox, folder: folder, watermark: watermark)
        guard let outcome = outcomes.first else { throw StoreError.corrupt("Filing returned no outcome.") }
        return outcome
    }

    /// Memory has no disk to reach.
    public func makeDurable() async throws {}

    public func ingest(_ emails: [IncomingEmail], mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> [IngestOutcome] {
        try transaction { state in
            state.watermarks[mailbox, default: [:]][folder] = watermark
            return try emails.map { try Self.file($0, mailbox: mailbox, watermark: watermark, into: &state) }
        }
    }

    public func receive(_ email: IncomingEmail, mailbox: MailboxID) async throws -> IngestOutcome {
        try transaction { state in try Self.file(email, mailbox: mailbox, watermark: nil, into: &state) }
    }

    /// Files one email: a refetch (same dedupe key, same content) is a duplicate; the same Message-ID with other
    /// content is another email, filed under its hash; then threading decides between joining and a new ticket.
    static func file(_ email: IncomingEmail, mailbox: MailboxID, watermark: SyncWatermark?, into state: inout State) throws -> IngestOutcome {
        var email = email.storable
        if let existing = state.messages.first(where: { $0.mailbox == mailbox && $0.dedupeKey == email.dedupeKey }) {
            if existing.contentHash == nil || existing.contentHash == email.contentHash || email.contentHash.isEmpty {
                return .duplicate(existing.ticket)
            }
            email.dedupeKey += "#sha256:" + email.contentHash
            if let again = state.messages.first(where: { $0.mailbox == mailbox && $0.dedupeKey == email.dedupeKey }) {
                return .duplicate(again.ticket)
            }
        }
        let received = stored(email.receivedAt)
        let outcome: IngestOutcome
        let ticket: TicketNumber
        switch decide(email, mailbox: mailbox, state: state) {
        case .join(let existing):
            guard var summary = state.tickets[existing] else { throw StoreError.corrupt("No ticket for the message.") }
            summary.messageCount += 1
            summary.lastMessageAt = max(summary.lastMessageAt, received)
            summary.status = .open
            state.tickets[existing] = summary
            ticket = existing
            outcome = .joinedTicket(existing)
        case .newTicket(let referred):
            ticket = TicketNumber(state.newID())
            state.tickets[ticket] = TicketSummary(
                number: ticket, subject: email.subject, requester: email.from, status: .open, mailboxID: mailbox, messageCount: 1,
                createdAt: received, lastMessageAt: received, referredTicket: referred)
            outcome = .openedTicket(ticket)
        }
        state.messages.append(MessageRow(
            id: state.newID(), ticket: ticket, mailbox: mailbox, direction: .incoming, dedupeKey: email.dedupeKey, messageID: email.messageID,
            from: email.from, to: email.to, cc: email.cc, subject: email.subject, textBody: email.textBody, htmlBody: email.sanitizedHTML,
            attachments: email.attachments, defects: email.defects, sentAt: email.sentAt.map(stored), receivedAt: received,
            uidValidity: watermark?.uidValidity, uid: email.sourceUID, raw: email.raw, contentHash: email.contentHash.isEmpty ? nil : email.contentHash,
            automatic: email.automatic, source: watermark?.source))
        return outcome
    }

    /// The tickets the email names — by a Message-ID of this mailbox's mail (Mailroom's own replies and the oldest
    /// first, the most specific reference first), then by `[#N]` — judged by ``ConversationMembership``.
    static func decide(_ email: IncomingEmail, mailbox: MailboxID, state: State) -> ConversationMembership.Decision {
        let references = Array(email.threadReferences.prefix(100))
        var named: [(ticket: TicketNumber, reference: String?)] = []
        if !references.isEmpty {
            let holding = state.messages
                .filter { $0.mailbox == mailbox && $0.messageID.map(references.contains) == true }
                .sorted { ($0.direction == .outgoing ? 0 : 1, $0.id) < ($1.direction == .outgoing ? 0 : 1, $1.id) }
            for reference in references {
                for message in holding where message.messageID == reference && !named.contains(where: { $0.ticket == message.ticket }) {
                    named.append((message.ticket, reference))
                }
            }
        }
        if let number = Threading.ticketNumber(inSubject: email.subject), !named.contains(where: { $0.ticket == number }) {
            named.append((number, nil))
        }
        guard !named.isEmpty else { return .newTicket(referredTo: nil) }
        let candidates = named.prefix(5).compactMap { ticket, reference -> ConversationMembership.Candidate? in
            guard let summary = state.tickets[ticket] else { return nil }
            var participants: Set<String> = [summary.requester.email.lowercased()]
            var sent: Set<String> = []
            for message in state.messages where message.ticket == ticket {
                participants.insert(message.from.email.lowercased())
                for person in message.to + message.cc { participants.insert(person.email.lowercased()) }
                if message.direction == .outgoing, let id = message.messageID { sent.insert(id) }
            }
            return ConversationMembership.Candidate(
                ticket: ticket, mailbox: summary.mailboxID, participants: participants, sentMessageIDs: sent, matchedReference: reference)
        }
        return ConversationMembership.decide(
            sender: email.from.email, mailbox: mailbox, supportAddress: state.mailboxes[mailbox]?.mailbox.email ?? "",
            references: references, candidates: candidates)
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
