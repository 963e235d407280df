import Foundation

/// A single mailbox from an address header.
///
/// The address is kept exactly as written (case preserved) so that replies go back
/// to what the customer typed; use `normalizedEmail` for matching and deduplication.
public struct MailAddress: Sendable, Hashable, Codable {
    /// Display name, RFC 2047 decoded; `nil` when absent or empty.
    public var name: String?
    /// The addr-spec as written (`local@domain`), without angle brackets.
    public var email: String

    public init(name: String? = nil, email: String) {
        self.name = name
        self.email = email
    }

    /// Lowercased address, for comparing customers/agents across messages.
    public var normalizedEmail: String { email.lowercased() }
}

/// A non-body MIME leaf: a real attachment or an inline part (e.g. a `cid:` image).
///
/// Filing mail needs only an attachment's name, type and size, so clean base64 and unencoded content are not
/// decoded while parsing: ``size`` is counted from the encoded bytes, and ``data`` decodes when someone asks
/// (a download). Only content whose decoding reports a defect is decoded at once, so the defect is known.
public struct Attachment: Sendable {
    /// File name from RFC 2231 `filename*`, `filename` or Content-Type `name` (decoded).
    public var filename: String?
    /// Lowercased `type/subtype`, e.g. `application/pdf`.
    public var contentType: String
    /// Content-ID without the angle brackets, so HTML `cid:` references can be resolved.
    public var contentID: String?
    /// True for `Content-Disposition: inline` (or a Content-ID without a disposition).
    public var isInline: Bool
    /// Size of the transfer-decoded content, in bytes: always `data.count`.
    public let size: Int
    let payload: Payload

    /// Where the content is: decoded already, or a span of the message to decode on demand.
    enum Payload: Sendable {
        case decoded([UInt8])
        /// Clean base64 (see ``Base64Decoder/cleanDecodedCount(_:range:)``): decoding it reports nothing.
        case base64(message: [UInt8], range: Range<Int>)
        /// 7bit, 8bit or binary content: the bytes as they are.
        case unencoded(message: [UInt8], range: Range<Int>)
    }

    /// Transfer-decoded bytes; decoded on each call when the parser left them encoded.
    public var data: [UInt8] {
        switch payload {
        case .decoded(let bytes): bytes
        case .base64(let message, let range): Base64Decoder.decode(message, range: range).data
        case .unencoded(let message, let range): Array(message[range])
        }
    }

    public init(filename: String? = nil, contentType: String, contentID: String? = nil, isInline: Bool = false, data: [UInt8]) {
        self.init(filename: filename, contentType: contentType, contentID: contentID, isInline: isInline, payload: .decoded(data), size: data.count)
    }

    init(filename: String?, contentType: String, contentID: String?, isInline: Bool, payload: Payload, size: Int) {
        self.filename = filename
        self.contentType = contentType
        self.contentID = contentID
        self.isInline = isInline
        self.payload = payload
        self.size = size
    }
}

/// One header line of the top-level message, in original order.
public struct HeaderField: Sendable, Hashable {
    /// Field name as written (case preserved).
    public var name: String
    /// Unfolded raw value bytes (CRLF removed, leading/trailing whitespace trimmed).
    public var rawValue: [UInt8]
    /// The value, decoded while parsing only when it holds encoded words, whose decoding may report defects.
    /// Any other value decodes the same way whenever it is read: most fields of a message (Received, DKIM-Signature,
    /// ARC-…) are never read, and building a string for each cost about a tenth of parsing.
    private var decoded: String?
    private var fallbackCharset: String?

    /// RFC 2047 decoded value; raw 8-bit bytes are decoded best-effort.
    public var value: String {
        get { decoded ?? EncodedWord.decodeRaw(rawValue[...], fallbackCharset: fallbackCharset) }
        set { decoded = newValue }
    }

    public init(name: String, rawValue: [UInt8], value: String) {
        self.name = name
        self.rawValue = rawValue
        self.decoded = value
    }

    /// A parsed field: encoded words decoded now (their defects reported), anything else when read.
    init(name: String, rawValue: [UInt8], fallbackCharset: String?, defects: inout [String]) {
        self.name = name
        self.rawValue = rawValue
        self.fallbackCharset = fallbackCharset
        if EncodedWord.hasEncodedWord(rawValue[...]) {
            self.decoded = EncodedWord.decode(rawValue[...], fallbackCharset: fallbackCharset, defects: &defects)
        }
    }

    /// Fields are equal when they read the same, however their values were decoded.
    public static func == (a: HeaderField, b: HeaderField) -> Bool {
        a.name == b.name && a.rawValue == b.rawValue && a.value == b.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(rawValue)
    }
}

/// Safety limits so hostile input cannot make the parser recurse or allocate without bound.
public struct ParseLimits: Sendable {
    /// Maximum multipart nesting depth; deeper structures are skipped with a defect.
    public var maxDepth: Int
    /// Maximum number of MIME parts visited in the whole message.
    public var maxParts: Int
    /// Maximum size of one header block; further header lines are ignored with a defect.
    public var maxHeaderBytes: Int
    /// Maximum number of header fields kept per header block.
    public var maxHeaderCount: Int
    /// Maximum number of ids kept from References (the first and the latest) and from In-Reply-To.
    public var maxReferences: Int

    public init(maxDepth: Int = 20, maxParts: Int = 500, maxHeaderBytes: Int = 1 << 20, maxHeaderCount: Int = 2000, maxReferences: Int = 100) {
        self.maxDepth = maxDepth
        self.maxParts = maxParts
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxReferences = maxReferences
    }

    public static let `default` = ParseLimits()
}

/// The result of parsing one RFC 5322 / MIME message. Always produced, even for garbage:
/// what could not be understood is described in `defects`.
public struct ParsedMessage: Sendable {
    public var headers: [HeaderField]
    public var subject: String?
    public var from: [MailAddress]
    public var sender: MailAddress?
    public var replyTo: [MailAddress]
    public var to: [MailAddress]
    public var cc: [MailAddress]
    public var date: Date?
    /// Message-ID without angle brackets.
    public var messageID: String?
    /// Message-IDs from In-Reply-To, without angle brackets (duplicates removed, at most
    /// ``ParseLimits/maxReferences``, the latest).
    public var inReplyTo: [String]
    /// Message-IDs from References, without angle brackets, in order (duplicates removed, at most
    /// ``ParseLimits/maxReferences``: the first and the latest).
    public var references: [String]
    /// First non-attachment text/plain part (line endings normalised to `\n`),
    /// else plain text derived from the HTML body.
    public var textBody: String?
    /// Decoded, unsanitized HTML of the first non-attachment text/html part.
    public var htmlBody: String?
    /// Attachments and inline parts, in document order.
    public var attachments: [Attachment]
    /// Human-readable notes about broken input that was repaired or skipped.
    public var defects: [String]

    public init(
        headers: [HeaderField] = [], subject: String? = nil, from: [MailAddress] = [], sender: MailAddress? = nil,
        replyTo: [MailAddress] = [], to: [MailAddress] = [], cc: [MailAddress] = [], date: Date? = nil,
        messageID: String? = nil, inReplyTo: [String] = [], references: [String] = [],
        textBody: String? = nil, htmlBody: String? = nil, attachments: [Attachment] = [], defects: [String] = []
    ) {
        self.headers = headers
        self.subject = subject
        self.from = from
        self.sender = sender
        self.replyTo = replyTo
        self.to = to
        self.cc = cc
        self.date = date
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.defects = defects
    }

    /// Decoded value of the first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        for field in headers where asciiCaseInsensitiveEquals(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Decoded values of all headers with this name (case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] {
        // One pass, and no list at all for the usual answer (none): every email filed asks for a dozen names.
        var values: [String] = []
        for field in headers where asciiCaseInsensitiveEquals(field.name, name) { values.append(field.value) }
        return values
    }
}

@inline(__always)
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    // Most names asked for differ in length from most present: that answer costs no loop.
    guard a.utf8.count == b.utf8.count else { return false }
    var ia = a.utf8.makeIterator()
    var ib = b.utf8.makeIterator()
    while true {
        let ca = ia.next()
        let cb = ib.next()
        guard let x = ca, let y = cb else { return ca == nil && cb == nil }
        if asciiLower(x) != asciiLower(y) { return false }
    }
}
