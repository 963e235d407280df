import Foundation

/// Turns an `OutgoingMessage` into RFC 5322 / MIME bytes that any mail client reads back as written.
///
/// Every header value is checked before anything is written — CR, LF or NUL anywhere is refused, so no
/// input can inject a header — and encoded so the message stays 7-bit except for non-ASCII addresses
/// (`needsSMTPUTF8`): names and subject as RFC 2047 encoded-words, bodies as quoted-printable when they
/// are not plain short-lined ASCII, attachments as base64, file names per RFC 2231.
public enum MessageBuilder {
    /// Builds with boundaries from the system's random number generator.
    public static func build(_ message: OutgoingMessage) throws(MessageBuildError) -> BuiltMessage {
        var generator = SystemRandomNumberGenerator()
        return try build(message, using: &generator)
    }

    /// Builds with boundaries drawn from `generator` (seeded generators give reproducible output in tests).
    public static func build(_ message: OutgoingMessage, using generator: inout some RandomNumberGenerator) throws(MessageBuildError) -> BuiltMessage {
        let needsSMTPUTF8 = try validate(message)
        var out = [UInt8]()
        out.reserveCapacity(2048 + message.attachments.reduce(0) { $0 + $1.bytes.count * 139 / 100 })

        // Header section.
        out += HeaderEncoding.fold(name: "Date", tokens: HeaderEncoding.rfc5322Date(message.date).split(separator: " ").map(String.init))
        out += addressHeader("From", [message.from])
        if let replyTo = message.replyTo { out += addressHeader("Reply-To", [replyTo]) }
        if !message.to.isEmpty { out += addressHeader("To", message.to) }
        if !message.cc.isEmpty { out += addressHeader("Cc", message.cc) }
        out += HeaderEncoding.fold(name: "Subject", tokens: HeaderEncoding.unstructuredTokens(message.subject, firstLimit: 78 - "Subject: ".count))
        out += HeaderEncoding.fold(name: "Message-ID", tokens: ["<\(message.messageID)>"])
        if let inReplyTo = message.inReplyTo { out += HeaderEncoding.fold(name: "In-Reply-To", tokens: ["<\(inReplyTo)>"]) }
        let references = deduplicated(message.references)
        if !references.isEmpty { out += HeaderEncoding.fold(name: "References", tokens: references.map { "<\($0)>" }) }
        for header in message.extraHeaders {
            out += HeaderEncoding.fold(name: header.name, tokens: HeaderEncoding.unstructuredTokens(header.value, firstLimit: max(20, 76 - header.name.utf8.count)))
        }
        out += HeaderEncoding.fold(name: "MIME-Version", tokens: ["1.0"])

        // Body: text, or text+html alternative, wrapped in mixed when there are attachments.
        let text = textLeaf(message.textBody, subtype: "plain")
        var body: Entity = text
        if let html = message.htmlBody {
            body = .multipart(subtype: "alternative", parts: [text, textLeaf(html, subtype: "html")])
        }
        if !message.attachments.isEmpty {
            body = .multipart(subtype: "mixed", parts: [body] + message.attachments.map(attachmentLeaf))
        }
        write(body, into: &out, generator: &generator)
        if out.count < 2 || out[out.count - 2] != 0x0D || out[out.count - 1] != 0x0A { out += [0x0D, 0x0A] }

        var seen = Set<String>()
        let recipients = (message.to + message.cc).map(\.email).filter { seen.insert($0.lowercased()).inserted }
        return BuiltMessage(bytes: out, needsSMTPUTF8: needsSMTPUTF8, recipients: recipients)
    }

    /// Whether `id` (without angle brackets) can be written as a msg-id; lets callers drop unusable
    /// stored IDs from threading headers instead of failing the whole message.
    public static func isValidMessageID(_ id: String) -> Bool {
        HeaderEncoding.isValidMessageID(id, requireAt: false)
    }

    /// Whether `email` is exactly one addr-spec the builder accepts.
    public static func isValidAddress(_ email: String) -> Bool {
        HeaderEncoding.validateAddrSpec(email).valid
    }

    // MARK: Validation

    /// Header fields the builder writes itself; extra headers may not repeat or override them.
    private static let reserved: Set<String> = [
        "from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "content-id",
    ]

    /// Checks every field; returns whether an address needs SMTPUTF8.
    private static func validate(_ m: OutgoingMessage) throws(MessageBuildError) -> Bool {
        var nonASCII = false
        func checkText(_ value: String, _ field: String) throws(MessageBuildError) {
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
                throw .forbiddenCharacter(field: field)
            }
        }
        func checkAddress(_ address: MailAddress, _ field: String) throws(MessageBuildError) {
            if let name = address.name { try checkText(name, field + ".name") }
            try checkText(address.email, field)
            let r = HeaderEncoding.validateAddrSpec(address.email)
            guard r.valid else { throw .invalidAddress(field: field, address: address.email) }
            if r.nonASCII { nonASCII = true }
        }
        func checkID(_ id: String, _ field: String, requireAt: Bool) throws(MessageBuildError) {
            try checkText(id, field)
            guard HeaderEncoding.isValidMessageID(id, requireAt: requireAt) else { throw .invalidMessageID(field: field, id: id) }
        }

        try checkAddress(m.from, "from")
        if let r = m.replyTo { try checkAddress(r, "replyTo") }
        for (k, a) in m.to.enumerated() { try checkAddress(a, "to[\(k)]") }
        for (k, a) in m.cc.enumerated() { try checkAddress(a, "cc[\(k)]") }
        guard !m.to.isEmpty || !m.cc.isEmpty else { throw .noRecipients }
        try checkText(m.subject, "subject")
        try checkID(m.messageID, "messageID", requireAt: true)
        if let id = m.inReplyTo { try checkID(id, "inReplyTo", requireAt: false) }
        for (k, id) in m.references.enumerated() { try checkID(id, "references[\(k)]", requireAt: false) }
        for (k, h) in m.extraHeaders.enumerated() {
            try checkText(h.name, "extraHeaders[\(k)].name")
            try checkText(h.value, "extraHeaders[\(k)].value")
            let validName = !h.name.isEmpty && h.name.utf8.count <= 76 && h.name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }
            guard validName else { throw .invalidHeaderName(field: "extraHeaders[\(k)].name", name: h.name) }
            guard !reserved.contains(h.name.lowercased()) else { throw .reservedHeader(field: "extraHeaders[\(k)].name", name: h.name) }
        }
        for (k, a) in m.attachments.enumerated() {
            try checkText(a.filename, "attachments[\(k)].filename")
            try checkText(a.contentType, "attachments[\(k)].contentType")
            guard a.contentType.isEmpty || isBareContentType(a.contentType) else {
                throw .invalidContentType(field: "attachments[\(k)].contentType", contentType: a.contentType)
            }
        }
        return nonASCII
    }

    /// `type/subtype` made of RFC 2045 token characters.
    private static func isBareContentType(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, s.utf8.count <= 200 else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(isToken) }
    }

    private static func isToken(_ c: UInt8) -> Bool {
        c > 0x20 && c < 0x7F && !"()<>@,;:\\\"/[]?=".utf8.contains(c)
    }

    private static func deduplicated(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    // MARK: Headers

    private static func addressHeader(_ name: String, _ addresses: [MailAddress]) -> [UInt8] {
        var tokens: [String] = []
        for (k, address) in addresses.enumerated() {
            let firstLimit = k == 0 ? 78 - name.utf8.count - 2 : HeaderEncoding.maxEncodedWord
            var t = HeaderEncoding.mailboxTokens(address, firstLimit: firstLimit)
            if k + 1 < addresses.count { t[t.count - 1] += "," }
            tokens += t
        }
        return HeaderEncoding.fold(name: name, tokens: tokens)
    }

    // MARK: Body

    /// A MIME entity before boundaries are chosen.
    private indirect enum Entity {
        /// Header lines (each with CRLF) and the already transfer-encoded content.
        case leaf(headers: [UInt8], content: [UInt8], isRaw: Bool)
        case multipart(subtype: String, parts: [Entity])
    }

    /// A text part: CRLF line endings; 7bit when it is ASCII with short lines, else quoted-printable.
    private static func textLeaf(_ text: String, subtype: String) -> Entity {
        let normalized = crlfNormalized(text)
        var plain = true
        var lineLength = 0
        for c in normalized {
            if c == 0x0A { lineLength = 0; continue }
            if c == 0x0D { continue }
            lineLength += 1
            if c >= 0x80 || (c < 0x20 && c != 0x09) || c == 0x7F || lineLength > 76 { plain = false; break }
        }
        // Trailing whitespace may be stripped in transit and a lone "." line ends SMTP DATA in broken
        // servers; quoted-printable protects both.
        if plain {
            for line in normalized.split(separator: 0x0A, omittingEmptySubsequences: false) {
                let content = line.last == 0x0D ? line.dropLast() : line
                if let last = content.last, last == 0x20 || last == 0x09 { plain = false; break }
            }
        }
        var headers = HeaderEncoding.fold(name: "Content-Type", tokens: ["text/\(subtype);", "charset=utf-8"])
        headers += HeaderEncoding.fold(name: "Content-Transfer-Encoding", tokens: [plain ? "7bit" : "quoted-printable"])
        return .leaf(headers: headers, content: plain ? normalized : QuotedPrintableEncoder.encode(normalized), isRaw: plain)
    }

    private static func attachmentLeaf(_ a: OutgoingAttachment) -> Entity {
        let type = a.contentType.isEmpty ? "application/octet-stream" : a.contentType.lowercased()
        var typeTokens = [type]
        var dispositionTokens = ["attachment"]
        if !a.filename.isEmpty {
            let params = filenameParameters(a.filename)
            typeTokens[0] += ";"
            typeTokens.append("name=\(params.fallback)")
            dispositionTokens[0] += ";"
            dispositionTokens.append("filename=\(params.fallback)" + (params.extended.isEmpty ? "" : ";"))
            for (k, p) in params.extended.enumerated() {
                dispositionTokens.append(p + (k + 1 < params.extended.count ? ";" : ""))
            }
        }
        var headers = HeaderEncoding.fold(name: "Content-Type", tokens: typeTokens)
        headers += HeaderEncoding.fold(name: "Content-Disposition", tokens: dispositionTokens)
        headers += HeaderEncoding.fold(name: "Content-Transfer-Encoding", tokens: ["base64"])
        var content = Base64Encoder.encode(a.bytes)
        if content.count >= 2 { content.removeLast(2) }  // the delimiter brings its own CRLF
        return .leaf(headers: headers, content: content, isRaw: false)
    }

    /// The file name as a quoted ASCII fallback (diacritics stripped, other non-ASCII as `_`, shortened to keep
    /// the line short but with its extension) plus, when the fallback is not exact, RFC 2231 `filename*`
    /// parameters — split into `filename*0*`, `filename*1*`, … sections of at most ~60 characters.
    static func filenameParameters(_ filename: String) -> (fallback: String, extended: [String]) {
        var ascii = ""
        let folded = filename.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        for scalar in folded.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F {
                ascii.unicodeScalars.append(scalar)
            } else if ascii.last != "_" {
                ascii.append("_")
            }
        }
        let maxFallback = 50
        if ascii.utf8.count > maxFallback {
            let ext = ascii.lastIndex(of: ".").map { String(ascii[$0...]) } ?? ""
            let keepExt = ext.utf8.count < 12 ? ext : ""
            ascii = String(ascii.prefix(maxFallback - keepExt.count)) + keepExt
        }
        var quoted = "\""
        for ch in ascii {
            if ch == "\"" || ch == "\\" { quoted.append("\\") }
            quoted.append(ch)
        }
        quoted.append("\"")
        guard ascii != filename else { return (quoted, []) }

        // RFC 2231 value: UTF-8, percent-encoded outside attribute-char.
        // One element per grapheme, so no section splits a character (some clients decode sections one by one).
        // An absurdly long grapheme goes scalar by scalar instead, so no line can grow without bound.
        var pieces: [String] = []
        let units: [String] = filename.flatMap { ch in ch.utf8.count > 18 ? ch.unicodeScalars.map { String($0) } : [String(ch)] }
        for unit in units {
            var piece = ""
            for c in unit.utf8 {
                let isAttributeChar = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || "!#$&+-.^_`|~".utf8.contains(c)
                if isAttributeChar {
                    piece.unicodeScalars.append(UnicodeScalar(c))
                } else {
                    piece += "%"
                    piece.unicodeScalars.append(UnicodeScalar(HeaderEncoding.hexDigits[Int(c >> 4)]))
                    piece.unicodeScalars.append(UnicodeScalar(HeaderEncoding.hexDigits[Int(c & 0x0F)]))
                }
            }
            pieces.append(piece)
        }
        let encoded = pieces.joined()
        if encoded.utf8.count <= 50 {
            return (quoted, ["filename*=UTF-8''" + encoded])
        }
        var sections: [String] = []
        var current = ""
        for piece in pieces {
            if !current.isEmpty && current.utf8.count + piece.utf8.count > 54 {
                sections.append(current)
                current = ""
            }
            current += piece
        }
        if !current.isEmpty { sections.append(current) }
        return (quoted, sections.enumerated().map { k, s in "filename*\(k)*=" + (k == 0 ? "UTF-8''" : "") + s })
    }

    /// Every line break (`\r\n`, `\n`, lone `\r`) as CRLF.
    private static func crlfNormalized(_ text: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count + 64)
        var previousCR = false
        for c in text.utf8 {
            if c == 0x0A {
                if !previousCR { out.append(0x0D) }
                out.append(0x0A)
                previousCR = false
            } else if c == 0x0D {
                if previousCR { out.append(0x0A) }
                out.append(0x0D)
                previousCR = true
            } else {
                if previousCR { out.append(0x0A) }
                out.append(c)
                previousCR = false
            }
        }
        if previousCR { out.append(0x0A) }
        return out
    }

    /// Writes an entity's Content-* headers, the blank line and its body. Boundaries start with `=_`, which
    /// neither quoted-printable nor base64 output can contain; raw 7bit parts are checked explicitly.
    private static func write(_ entity: Entity, into out: inout [UInt8], generator: inout some RandomNumberGenerator) {
        switch entity {
        case .leaf(let headers, let content, _):
            out += headers
            out += [0x0D, 0x0A]
            out += content
        case .multipart(let subtype, let parts):
            var boundary: [UInt8]
            repeat {
                boundary = Array("=_mailroom_".utf8)
                for _ in 0..<24 { boundary.append(HeaderEncoding.hexDigits[Int(generator.next() & 0x0F)]) }
            } while rawContents(parts).contains { $0.contains(boundary) }
            let b = String(decoding: boundary, as: UTF8.self)
            out += HeaderEncoding.fold(name: "Content-Type", tokens: ["multipart/\(subtype);", "boundary=\"\(b)\""])
            out += [0x0D, 0x0A]
            for part in parts {
                out += Array("--".utf8) + boundary + [0x0D, 0x0A]
                write(part, into: &out, generator: &generator)
                out += [0x0D, 0x0A]
            }
            out += Array("--".utf8) + boundary + Array("--".utf8) + [0x0D, 0x0A]
        }
    }

    /// The contents written as they are (7bit text) anywhere below these parts: the only places a
    /// boundary could collide.
    private static func rawContents(_ parts: [Entity]) -> [[UInt8]] {
        parts.flatMap { part -> [[UInt8]] in
            switch part {
            case .leaf(_, let content, let isRaw): isRaw ? [content] : []
            case .multipart(_, let children): rawContents(children)
            }
        }
    }
}
