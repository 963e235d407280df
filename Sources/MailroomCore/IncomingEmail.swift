import Foundation
import MIME

/// Where raw bytes lie in a store's mail archive: a segment file, and a span of it.
public struct RawLocation: Sendable, Hashable {
    public var segment: String
    public var offset: Int64
    public var length: Int

    public init(segment: String, offset: Int64, length: Int) {
        self.segment = segment
        self.offset = offset
        self.length = length
    }
}

/// An email as Mailroom files it: what a ticket needs, read from the parsed message, plus the raw bytes.
public struct IncomingEmail: Sendable {
    public var from: Person
    public var to: [Person]
    public var cc: [Person]
    public var subject: String
    public var messageID: String?
    /// Message-IDs this email answers (In-Reply-To first, then References newest first).
    public var threadReferences: [String]
    public var textBody: String
    /// HTML already passed through the sanitizer: safe to place in a page.
    public var sanitizedHTML: String?
    public var attachments: [AttachmentInfo]
    public var sentAt: Date?
    public var receivedAt: Date
    public var defects: [String]
    /// Identifies the email across refetches and UIDVALIDITY changes: the Message-ID, or a content hash.
    public var dedupeKey: String
    public var raw: [UInt8]
    /// Where the store has already written `raw` outside its database (SQLite's mail archive), on disk before the
    /// commit that files the email; nil when the row carries the bytes itself.
    public var archived: RawLocation?
    /// SHA-256 of the raw bytes (hex), where it is known: always for mail without a Message-ID, whose dedupe key
    /// it is; for the rest the store computes it only when the email's key is already taken (see
    /// ``FilingPlan/contested(_:filed:)``), since hashing every byte cost a fifth of preparing an email. Empty
    /// otherwise, and for notices that stand in for mail Mailroom could not download.
    public var contentHash: String
    /// The UID it had on the server, for the record (the watermark, not this, drives syncing).
    public var sourceUID: UInt32?
    /// An auto-reply, bounce, read receipt or bulk mail: filed, marked, and never answered automatically.
    public var automatic: AutomaticMailKind?

    /// Reads what a ticket needs from a parsed message. Never fails: missing parts get readable stand-ins.
    public init(parsed: ParsedMessage, raw: [UInt8], receivedAt: Date, contentHash: String) {
        let sender = parsed.from.first ?? parsed.sender ?? parsed.replyTo.first
        self.from = sender.map { Person(name: $0.name.flatMap { $0.isEmpty ? nil : $0 }, email: $0.email) }
            ?? Person(name: nil, email: "unknown-sender@invalid")
        self.to = parsed.to.map { Person(name: $0.name, email: $0.email) }
        self.cc = parsed.cc.map { Person(name: $0.name, email: $0.email) }
        let subject = Self.trimmed(parsed.subject ?? "")
        self.subject = subject.isEmpty ? "(no subject)" : subject
        self.messageID = parsed.messageID.flatMap { $0.isEmpty ? nil : $0 }
        var refs: [String] = []
        for id in parsed.inReplyTo + parsed.references.reversed() where !refs.contains(id) { refs.append(id) }
        self.threadReferences = refs
        self.textBody = parsed.textBody ?? ""
        self.sanitizedHTML = parsed.htmlBody.map { HTMLSanitizer.sanitize($0) }
        self.attachments = parsed.attachments.enumerated().map { index, attachment in
            AttachmentInfo(
                index: index,
                filename: attachment.filename.flatMap { $0.isEmpty ? nil : $0 } ?? Self.fallbackName(index: index, type: attachment.contentType),
                contentType: attachment.contentType, size: attachment.size, isInline: attachment.isInline,
                contentID: attachment.contentID)
        }
        self.sentAt = parsed.date
        self.receivedAt = receivedAt
        self.defects = parsed.defects
        self.dedupeKey = Self.isKeyedByContent(parsed) ? "sha256:" + contentHash : "mid:" + (parsed.messageID ?? "")
        self.raw = raw
        self.contentHash = contentHash
        self.automatic = AutomaticMail.kind(of: parsed)
    }

    /// Mail without a Message-ID is recognised by its content: its hash must be known before it is filed.
    public static func isKeyedByContent(_ parsed: ParsedMessage) -> Bool { parsed.messageID?.isEmpty ?? true }

    /// Without leading or trailing whitespace (Unicode's, not only ASCII's). Most subjects have none, and
    /// Foundation's trimming costs more than telling that from the first and last scalar.
    static func trimmed(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              first.properties.isWhitespace || last.properties.isWhitespace else { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A stand-in for a message too large to download, so it shows up as a ticket instead of blocking the
    /// mailbox or vanishing. The message itself stays on the server, untouched.
    public static func tooLarge(size: Int, limit: Int, folder: String, uidValidity: UInt32, uid: UInt32, receivedAt: Date) -> IncomingEmail {
        let megabytes = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1_048_576) }
        return notice(
            subject: "(email too large to fetch: \(megabytes(size)))",
            text: "This email (\(megabytes(size))) is larger than Mailroom accepts (\(megabytes(limit))), so it was not downloaded. "
                + "It is still on the mail server in the folder «\(folder)» and was not deleted. Open it in a mail client, "
                + "or ask the operator to raise the limit.",
            defect: "message of \(size) bytes exceeds the limit of \(limit) bytes",
            key: "too-large:\(uidValidity):\(uid)", uid: uid, receivedAt: receivedAt)
    }

    /// A stand-in for a message the server lists but will not hand over (e.g. `BODY[] NIL`), so the admin
    /// knows it exists. It stays on the server, untouched.
    public static func unreadable(folder: String, uidValidity: UInt32, uid: UInt32, receivedAt: Date) -> IncomingEmail {
        notice(
            subject: "(email the server would not hand over)",
            text: "The mail server lists an email (UID \(uid)) in the folder «\(folder)» but returned no content for it, "
                + "so Mailroom could not read it. It was left on the server and not deleted. Open it in a mail client.",
            defect: "the server returned no body for UID \(uid)",
            key: "unreadable:\(uidValidity):\(uid)", uid: uid, receivedAt: receivedAt)
    }

    /// A stand-in for an email the store refused on its own (a value the database will not take), so the mailbox
    /// goes on and the admin sees what happened. With `keepRaw` the original bytes are kept, to be opened or
    /// downloaded; without, the email stays only on the server and is never deleted there.
    public static func unstorable(_ email: IncomingEmail, problem: String, keepRaw: Bool) -> IncomingEmail {
        var notice = notice(
            subject: "(email Mailroom could not store: \(StoredText.line(String(email.subject.prefix(120)))))",
            text: "Mailroom fetched this email but the database refused to store it, so it is filed as this notice instead. "
                + (keepRaw ? "The original email is kept with it. " : "The original email was left on the mail server and will not be deleted there. ")
                + "What the database said: \(StoredText.line(String(problem.prefix(500))))",
            defect: "the store refused the email: \(StoredText.line(String(problem.prefix(500))))",
            key: "unstorable:" + StoredText.line(email.dedupeKey), uid: email.sourceUID ?? 0, receivedAt: email.receivedAt)
        notice.sourceUID = email.sourceUID
        if keepRaw {
            notice.raw = email.raw
            notice.archived = email.archived
            notice.contentHash = email.contentHash
        }
        return notice
    }

    private static func notice(subject: String, text: String, defect: String, key: String, uid: UInt32, receivedAt: Date) -> IncomingEmail {
        IncomingEmail(
            from: Person(name: "Mailroom", email: "unknown-sender@invalid"), to: [], cc: [], subject: subject, messageID: nil,
            threadReferences: [], textBody: text, sanitizedHTML: nil, attachments: [], sentAt: nil, receivedAt: receivedAt,
            defects: [defect], dedupeKey: key, raw: [], contentHash: "", sourceUID: uid)
    }

    private init(
        from: Person, to: [Person], cc: [Person], subject: String, messageID: String?, threadReferences: [String], textBody: String,
        sanitizedHTML: String?, attachments: [AttachmentInfo], sentAt: Date?, receivedAt: Date, defects: [String], dedupeKey: String, raw: [UInt8],
        contentHash: String, sourceUID: UInt32?
    ) {
        self.from = from
        self.to = to
        self.cc = cc
        self.subject = subject
        self.messageID = messageID
        self.threadReferences = threadReferences
        self.textBody = textBody
        self.sanitizedHTML = sanitizedHTML
        self.attachments = attachments
        self.sentAt = sentAt
        self.receivedAt = receivedAt
        self.defects = defects
        self.dedupeKey = dedupeKey
        self.raw = raw
        self.contentHash = contentHash
        self.sourceUID = sourceUID
    }

    static func fallbackName(index: Int, type: String) -> String {
        let ext: String = switch type {
        case "message/rfc822": "eml"
        case "text/plain": "txt"
        case "text/html": "html"
        case "image/png": "png"
        case "image/jpeg": "jpg"
        case "application/pdf": "pdf"
        default: "bin"
        }
        return "attachment-\(index + 1).\(ext)"
    }
}
