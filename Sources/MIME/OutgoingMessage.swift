import Foundation

/// A file attached to an outgoing message. Kept separate from the parser's `Attachment` because
/// outgoing parts never have a Content-ID or an inline disposition: replies attach files, nothing else.
public struct OutgoingAttachment: Sendable, Equatable {
    /// The name the recipient sees; any Unicode is fine (sent per RFC 2231 with an ASCII fallback).
    public var filename: String
    /// `type/subtype`, e.g. `application/pdf`; empty means `application/octet-stream`.
    public var contentType: String
    public var bytes: [UInt8]

    public init(filename: String, contentType: String, bytes: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// An email to send, as values: everything `MessageBuilder` needs and nothing about how it is encoded,
/// so the domain can compose replies without knowing RFC 2047, folding or MIME boundaries.
public struct OutgoingMessage: Sendable, Equatable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var cc: [MailAddress]
    public var replyTo: MailAddress?
    public var subject: String
    /// Without angle brackets, e.g. `abc123@support.example.com`.
    public var messageID: String
    /// The Message-ID this message answers, without angle brackets.
    public var inReplyTo: String?
    /// The thread's Message-IDs, oldest first, without angle brackets.
    public var references: [String]
    public var date: Date
    /// Plain-text body; any line endings (`\n`, `\r\n`, `\r`) — they are sent as CRLF.
    public var textBody: String
    /// Optional HTML alternative of `textBody`.
    public var htmlBody: String?
    public var attachments: [OutgoingAttachment]
    /// Further header fields, written in order after the standard ones (e.g. `Auto-Submitted`).
    /// Fields the builder writes itself (From, Subject, Content-Type, …) are refused here.
    public var extraHeaders: [(name: String, value: String)]

    public init(
        from: MailAddress, to: [MailAddress], cc: [MailAddress] = [], replyTo: MailAddress? = nil, subject: String,
        messageID: String, inReplyTo: String? = nil, references: [String] = [], date: Date, textBody: String,
        htmlBody: String? = nil, attachments: [OutgoingAttachment] = [], extraHeaders: [(name: String, value: String)] = []
    ) {
        self.from = from
        self.to = to
        self.cc = cc
        self.replyTo = replyTo
        self.subject = subject
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.date = date
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.extraHeaders = extraHeaders
    }

    public static func == (a: OutgoingMessage, b: OutgoingMessage) -> Bool {
        a.from == b.from && a.to == b.to && a.cc == b.cc && a.replyTo == b.replyTo && a.subject == b.subject
            && a.messageID == b.messageID && a.inReplyTo == b.inReplyTo && a.references == b.references && a.date == b.date
            && a.textBody == b.textBody && a.htmlBody == b.htmlBody && a.attachments == b.attachments
            && a.extraHeaders.count == b.extraHeaders.count
            && zip(a.extraHeaders, b.extraHeaders).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// The wire form of an `OutgoingMessage`, ready for SMTP `DATA` (before dot-stuffing).
public struct BuiltMessage: Sendable, Equatable {
    /// The whole message, CRLF line endings, ending with CRLF.
    public var bytes: [UInt8]
    /// True only when an address itself is not ASCII: the message can then go only to servers that
    /// announce SMTPUTF8 (RFC 6531). Non-ASCII names and subjects are RFC 2047-encoded and need nothing.
    public var needsSMTPUTF8: Bool
    /// The To and Cc addresses, deduplicated (case-insensitively), for `RCPT TO`.
    public var recipients: [String]

    public init(bytes: [UInt8], needsSMTPUTF8: Bool, recipients: [String]) {
        self.bytes = bytes
        self.needsSMTPUTF8 = needsSMTPUTF8
        self.recipients = recipients
    }
}

/// Why a message could not be built. Each case names the offending field (e.g. `to[1]`,
/// `attachments[0].filename`) so the caller can tell the agent what to fix; nothing is ever sent half-built.
public enum MessageBuildError: Error, Sendable, Equatable, CustomStringConvertible {
    /// CR, LF or NUL in a header field: refused outright, because it could inject headers.
    case forbiddenCharacter(field: String)
    /// Not exactly one RFC 5322 addr-spec (`local@domain`), or longer than 254 bytes.
    case invalidAddress(field: String, address: String)
    /// Neither To nor Cc has an address.
    case noRecipients
    /// Not usable as a msg-id: empty, whitespace, `<`, `>`, non-ASCII or too long (our own one also needs an `@`).
    case invalidMessageID(field: String, id: String)
    /// An extra header's name is not printable ASCII without `:` or spaces.
    case invalidHeaderName(field: String, name: String)
    /// An extra header the builder writes itself (From, Subject, Content-Type, …).
    case reservedHeader(field: String, name: String)
    /// An attachment's content type is not a bare `type/subtype` token.
    case invalidContentType(field: String, contentType: String)

    public var description: String {
        switch self {
        case .forbiddenCharacter(let field): "\(field) contains a line break or NUL character"
        case .invalidAddress(let field, let address): "\(field) is not a valid email address: \(address)"
        case .noRecipients: "the message has no recipient"
        case .invalidMessageID(let field, let id): "\(field) is not a valid Message-ID: \(id)"
        case .invalidHeaderName(let field, let name): "\(field) is not a valid header name: \(name)"
        case .reservedHeader(let field, let name): "\(field): \(name) is set by the message builder and cannot be added"
        case .invalidContentType(let field, let contentType): "\(field) is not a valid content type: \(contentType)"
        }
    }
}
