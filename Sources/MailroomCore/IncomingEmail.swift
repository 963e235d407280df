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
///
/// A value, whose fields live in one shared box until a copy changes one of them: an email moves through the
/// parse queue, its commit group, the archive and the filing plan, and each move of eighteen fields retained
/// and released each of them, a fifth of the store's own work.
public struct IncomingEmail: Sendable {
    struct Fields {
        var from: Person
        var to: [Person]
        var cc: [Person]
        var subject: String
        var messageID: String?
        var threadReferences: [String]
        var textBody: String
        var html: HTML?
        var attachments: [AttachmentInfo]
        var sentAt: Date?
        var receivedAt: Date
        var defects: [String]
        var dedupeKey: String
        var raw: [UInt8]
        var archived: RawLocation?
        var contentHash: String
        var sourceUID: UInt32?
        var automatic: AutomaticMailKind?
    }

    /// Copies share it until one of them writes (``unique()``); nothing reads or writes it otherwise.
    final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// The box, copied first if another email shares it.
    private mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    public var from: Person {
        get { box.fields.from }
        set { unique().fields.from = newValue }
    }

    public var to: [Person] {
        get { box.fields.to }
        set { unique().fields.to = newValue }
    }

    public var cc: [Person] {
        get { box.fields.cc }
        set { unique().fields.cc = newValue }
    }

    public var subject: String {
        get { box.fields.subject }
        set { unique().fields.subject = newValue }
    }

    public var messageID: String? {
        get { box.fields.messageID }
        set { unique().fields.messageID = newValue }
    }

    /// Message-IDs this email answers (In-Reply-To first, then References newest first).
    public var threadReferences: [String] {
        get { box.fields.threadReferences }
        set { unique().fields.threadReferences = newValue }
    }

    public var textBody: String {
        get { box.fields.textBody }
        set { unique().fields.textBody = newValue }
    }

    /// An email's HTML body: sanitized already, or decoded from ``raw`` and sanitized only when read.
    enum HTML {
        case sanitized(String)
        /// As the raw message's HTML part decodes: a store keeps the raw message and renders this from it when
        /// someone reads the message (``renderedHTML(raw:)``). Sanitizing every fetched email's HTML, and storing
        /// the result beside the raw bytes, was a twentieth to a tenth of the CPU a mailbox's first sync spent; most
        /// of that mail is never opened.
        case fromRaw(String)
    }

    /// HTML passed through the sanitizer: safe to place in a page. An email parsed from its raw bytes renders its
    /// HTML here, each time it is read, as a store renders it from the raw bytes (``rendered(_:)``).
    public var sanitizedHTML: String? {
        get {
            switch box.fields.html {
            case .sanitized(let html): html
            case .fromRaw(let html): Self.rendered(html)
            case nil: nil
            }
        }
        set { unique().fields.html = newValue.map(HTML.sanitized) }
    }

    /// Whether the HTML body can be rendered from ``raw`` when read (``renderedHTML(raw:)``), so a store that keeps
    /// the raw message need not keep the HTML too.
    public var rendersHTMLFromRaw: Bool {
        if case .fromRaw = box.fields.html { true } else { false }
    }

    /// The HTML ``storable`` cleans: only what is kept as it is, not what is rendered from the raw message.
    var keptHTML: String? {
        if case .sanitized(let html) = box.fields.html { html } else { nil }
    }

    /// The HTML of a message whose store kept only its raw bytes, exactly as filing would have stored it: the raw
    /// message's HTML part, sanitized and made fit to store. Nil when it has none.
    public static func renderedHTML(raw: [UInt8]) -> String? {
        MessageParser.parse(raw).htmlBody.map(rendered)
    }

    /// The one rule for HTML decoded from a message: sanitized, then made fit to store.
    static func rendered(_ html: String) -> String {
        StoredText.body(HTMLSanitizer.sanitize(html))
    }

    public var attachments: [AttachmentInfo] {
        get { box.fields.attachments }
        set { unique().fields.attachments = newValue }
    }

    public var sentAt: Date? {
        get { box.fields.sentAt }
        set { unique().fields.sentAt = newValue }
    }

    public var receivedAt: Date {
        get { box.fields.receivedAt }
        set { unique().fields.receivedAt = newValue }
    }

    public var defects: [String] {
        get { box.fields.defects }
        set { unique().fields.defects = newValue }
    }

    /// Identifies the email across refetches and UIDVALIDITY changes: the Message-ID, or a content hash.
    public var dedupeKey: String {
        get { box.fields.dedupeKey }
        set { unique().fields.dedupeKey = newValue }
    }

    public var raw: [UInt8] {
        get { box.fields.raw }
        set {
            let box = unique()
            // HTML rendered from the raw bytes must come from these bytes: replacing them keeps it sanitized instead.
            if case .fromRaw(let html) = box.fields.html { box.fields.html = .sanitized(Self.rendered(html)) }
            box.fields.raw = newValue
        }
    }

    /// Where the store has already written `raw` outside its database (SQLite's mail archive), on disk before the
    /// commit that files the email; nil when the row carries the bytes itself.
    public var archived: RawLocation? {
        get { box.fields.archived }
        set { unique().fields.archived = newValue }
    }

    /// SHA-256 of the raw bytes (hex), where it is known: always for mail without a Message-ID, whose dedupe key
    /// it is; for the rest the store computes it only when the email's key is already taken (see
    /// ``FilingPlan/contested(_:filed:)``), since hashing every byte cost a fifth of preparing an email. Empty
    /// otherwise, and for notices that stand in for mail Mailroom could not download.
    public var contentHash: String {
        get { box.fields.contentHash }
        set { unique().fields.contentHash = newValue }
    }

    /// The UID it had on the server, for the record (the watermark, not this, drives syncing).
    public var sourceUID: UInt32? {
        get { box.fields.sourceUID }
        set { unique().fields.sourceUID = newValue }
    }

    /// An auto-reply, bounce, read receipt or bulk mail: filed, marked, and never answered automatically.
    public var automatic: AutomaticMailKind? {
        get { box.fields.automatic }
        set { unique().fields.automatic = newValue }
    }

    /// Reads what a ticket needs from a parsed message. Never fails: missing parts get readable stand-ins.
    public init(parsed: ParsedMessage, raw: [UInt8], receivedAt: Date, contentHash: String) {
        let sender = parsed.from.first ?? parsed.sender ?? parsed.replyTo.first
        let subject = Self.trimmed(parsed.subject ?? "")
        var refs: [String] = []
        for id in parsed.inReplyTo + parsed.references.reversed() where !refs.contains(id) { refs.append(id) }
        self.init(
            from: sender.map { Person(name: $0.name.flatMap { $0.isEmpty ? nil : $0 }, email: $0.email) }
                ?? Person(name: nil, email: "unknown-sender@invalid"),
            to: parsed.to.map { Person(name: $0.name, email: $0.email) },
            cc: parsed.cc.map { Person(name: $0.name, email: $0.email) },
            subject: subject.isEmpty ? "(no subject)" : subject,
            messageID: parsed.messageID.flatMap { $0.isEmpty ? nil : $0 },
            threadReferences: refs,
            textBody: parsed.textBody ?? "",
            html: parsed.htmlBody.map(HTML.fromRaw),
            attachments: parsed.attachments.enumerated().map { index, attachment in
                AttachmentInfo(
                    index: index,
                    filename: attachment.filename.flatMap { $0.isEmpty ? nil : $0 } ?? Self.fallbackName(index: index, type: attachment.contentType),
                    contentType: attachment.contentType, size: attachment.size, isInline: attachment.isInline,
                    contentID: attachment.contentID)
            },
            sentAt: parsed.date, receivedAt: receivedAt, defects: parsed.defects,
            dedupeKey: Self.isKeyedByContent(parsed) ? "sha256:" + contentHash : "mid:" + (parsed.messageID ?? ""),
            raw: raw, contentHash: contentHash, sourceUID: nil,
            automatic: AutomaticMail.kind(of: parsed))
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
            threadReferences: [], textBody: text, html: nil, attachments: [], sentAt: nil, receivedAt: receivedAt,
            defects: [defect], dedupeKey: key, raw: [], contentHash: "", sourceUID: uid)
    }

    private init(
        from: Person, to: [Person], cc: [Person], subject: String, messageID: String?, threadReferences: [String], textBody: String,
        html: HTML?, attachments: [AttachmentInfo], sentAt: Date?, receivedAt: Date, defects: [String], dedupeKey: String, raw: [UInt8],
        contentHash: String, sourceUID: UInt32?, automatic: AutomaticMailKind? = nil
    ) {
        box = Box(Fields(
            from: from, to: to, cc: cc, subject: subject, messageID: messageID, threadReferences: threadReferences, textBody: textBody,
            html: html, attachments: attachments, sentAt: sentAt, receivedAt: receivedAt, defects: defects, dedupeKey: dedupeKey,
            raw: raw, archived: nil, contentHash: contentHash, sourceUID: sourceUID, automatic: automatic))
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
