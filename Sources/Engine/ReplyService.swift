import Foundation
import MIME
import MailroomCore

/// Why a reply was not accepted; said to the agent, who can fix it.
public struct ReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// An agent's reply: composed from the ticket (threading headers, «Re:» with the ticket token, the support
/// address as sender), put on the ticket and in the outbox in one transaction, and handed to the queue.
public struct ReplyService: Sendable {
    let store: any MailroomStore
    let outbound: OutboundQueue?
    /// Longest reply text accepted, in characters.
    static let maxTextLength = 200_000

    public init(store: any MailroomStore, outbound: OutboundQueue?) {
        self.store = store
        self.outbound = outbound
    }

    /// Accepts a reply. Once this returns, the reply is stored: it will be sent, or its failure shown on the ticket.
    /// - Throws: ``ReplyError`` for anything the agent can fix; storage errors otherwise.
    public func reply(
        to number: TicketNumber, text: String, html: String? = nil, attachments: [OutgoingAttachment] = [], agentName: String? = nil,
        alsoCc: Set<String> = [], now: Date = Date()
    ) async throws -> Delivery {
        let text = StoredText.body(text).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ReplyError("Write a reply before sending it.") }
        guard text.count <= Self.maxTextLength else { throw ReplyError("The reply is longer than \(Self.maxTextLength) characters.") }
        guard let ticket = try await store.ticket(number) else { throw ReplyError("There is no ticket #\(number).") }
        guard let mailboxID = ticket.summary.mailboxID, let mailbox = try await store.mailbox(mailboxID) else {
            throw ReplyError("This ticket's mailbox was removed, so there is no address to reply from.")
        }
        let messageID = ReplyComposer.messageID(domainOf: mailbox.email)
        let built: BuiltMessage
        let outgoing: OutgoingMessage
        do {
            outgoing = try ReplyComposer.compose(
                ticket: ticket, mailbox: mailbox, agentName: agentName, text: text, html: html, attachments: attachments,
                messageID: messageID, date: now, alsoCc: alsoCc)
            built = try MessageBuilder.build(outgoing)
        } catch {
            throw ReplyError("The reply could not be composed: \(error)")
        }
        let reply = OutboundReply(
            ticket: number, mailbox: mailbox.id, messageID: messageID,
            from: Person(name: outgoing.from.name, email: outgoing.from.email),
            to: outgoing.to.map { Person(name: $0.name, email: $0.email) }, cc: outgoing.cc.map { Person(name: $0.name, email: $0.email) },
            subject: outgoing.subject, textBody: text, envelopeFrom: mailbox.email, recipients: built.recipients, raw: built.bytes)
        let delivery = try await store.enqueue(reply, at: now)
        await outbound?.wake()
        return delivery
    }
}
