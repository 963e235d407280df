import Foundation

/// A ticket's number: what agents say aloud and what customers see as `[#N]` in subjects.
public struct TicketNumber: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum TicketStatus: String, Sendable, Codable, CaseIterable {
    case open, pending, closed
}

/// A ticket as lists show it.
public struct TicketSummary: Sendable, Codable, Equatable {
    public var number: TicketNumber
    public var subject: String
    public var requester: Person
    public var status: TicketStatus
    public var mailboxID: MailboxID?
    public var messageCount: Int
    public var createdAt: Date
    public var lastMessageAt: Date
    /// The ticket its first email named (by `[#N]` or a Message-ID) but was not let into, because its sender was not
    /// part of that conversation (see ``ConversationMembership``).
    public var referredTicket: TicketNumber?

    public init(
        number: TicketNumber, subject: String, requester: Person, status: TicketStatus, mailboxID: MailboxID?,
        messageCount: Int, createdAt: Date, lastMessageAt: Date, referredTicket: TicketNumber? = nil
    ) {
        self.referredTicket = referredTicket
        self.number = number
        self.subject = subject
        self.requester = requester
        self.status = status
        self.mailboxID = mailboxID
        self.messageCount = messageCount
        self.createdAt = createdAt
        self.lastMessageAt = lastMessageAt
    }
}

/// Someone who writes to support.
public struct Person: Sendable, Codable, Equatable {
    public var name: String?
    public var email: String
    public init(name: String?, email: String) {
        self.name = name
        self.email = email
    }
    /// «Name <email>» or the bare address.
    public var formatted: String {
        guard let name, !name.isEmpty else { return email }
        return "\(name) <\(email)>"
    }
}

/// Metadata of an attachment; its bytes stay inside the stored raw message.
public struct AttachmentInfo: Sendable, Codable, Equatable {
    /// Position among the message's attachments; the key to fetch its bytes again.
    public var index: Int
    public var filename: String
    public var contentType: String
    public var size: Int
    public var isInline: Bool
    public var contentID: String?

    public init(index: Int, filename: String, contentType: String, size: Int, isInline: Bool, contentID: String?) {
        self.index = index
        self.filename = filename
        self.contentType = contentType
        self.size = size
        self.isInline = isInline
        self.contentID = contentID
    }
}

/// Whether a ticket's email came from a customer or is an agent's reply.
public enum MessageDirection: String, Sendable, Codable {
    case incoming, outgoing
}

/// One email on a ticket.
public struct TicketMessage: Sendable, Codable, Equatable {
    public var id: Int64
    public var from: Person
    public var to: [Person]
    public var cc: [Person]
    public var subject: String
    public var messageID: String?
    public var textBody: String
    public var htmlBody: String?
    public var attachments: [AttachmentInfo]
    public var receivedAt: Date
    public var sentAt: Date?
    public var rawSize: Int
    /// What could not be read in the original; the ticket still shows what could.
    public var defects: [String]
    public var direction: MessageDirection
    /// Set for auto-replies, bounces, read receipts and bulk mail (see ``AutomaticMail``).
    public var automatic: AutomaticMailKind?

    public init(
        id: Int64, from: Person, to: [Person], cc: [Person], subject: String, messageID: String?, textBody: String,
        htmlBody: String?, attachments: [AttachmentInfo], receivedAt: Date, sentAt: Date?, rawSize: Int, defects: [String],
        direction: MessageDirection = .incoming, automatic: AutomaticMailKind? = nil
    ) {
        self.automatic = automatic
        self.direction = direction
        self.id = id
        self.from = from
        self.to = to
        self.cc = cc
        self.subject = subject
        self.messageID = messageID
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.receivedAt = receivedAt
        self.sentAt = sentAt
        self.rawSize = rawSize
        self.defects = defects
    }
}

/// A ticket with its conversation.
public struct TicketDetail: Sendable, Codable, Equatable {
    public var summary: TicketSummary
    public var messages: [TicketMessage]
    public init(summary: TicketSummary, messages: [TicketMessage]) {
        self.summary = summary
        self.messages = messages
    }
}
