import Foundation

/// Entry point: turns raw RFC 5322 bytes into a `ParsedMessage`.
///
/// Never throws and never traps: broken structure is repaired best-effort and described in
/// `ParsedMessage.defects`, because a helpdesk must never lose a customer's message.
/// The raw buffer is scanned in place with index ranges; each part's payload is
/// transfer-decoded exactly once.
public enum MessageParser {
    public static func parse(_ raw: [UInt8], limits: ParseLimits = .default) -> ParsedMessage {
        var state = ParserState(raw: raw, limits: limits)
        let top = HeaderParser.parse(raw, range: 0..<raw.count, limits: limits)
        state.defects.append(contentsOf: top.defects)
        if raw.isEmpty { state.defects.append("empty message") }
        state.processEntity(headers: top, body: top.bodyStart..<raw.count, depth: 0, defaultType: "text/plain")
        return state.finish(top: top)
    }
}

struct ParserState {
    let raw: [UInt8]
    let limits: ParseLimits
    var defects: [String] = []
    var partCount = 0
    var partLimitReported = false
    var depthLimitReported = false
    var textBody: String? = nil
    var htmlBody: String? = nil
    var firstTextCharset: String? = nil
    var attachments: [Attachment] = []

    init(raw: [UInt8], limits: ParseLimits) {
        self.raw = raw
        self.limits = limits
    }

    mutating func processEntity(headers: HeaderBlock, body: Range<Int>, depth: Int, defaultType: String) {
        var ct: HeaderParameters
        if let h = headers.first("content-type"), !h.value.isEmpty {
            ct = HeaderParameters.parse(h.value, defects: &defects)
            if !ct.value.utf8.contains(UInt8(ascii: "/")) || ct.type.isEmpty || ct.subtype.isEmpty {
                defects.append("invalid Content-Type \"\(ct.value)\"; assuming text/plain")
                ct.value = ct.value.hasPrefix("multipart") ? "multipart/mixed" : "text/plain"
            }
        } else {
            ct = HeaderParameters(value: defaultType)
        }

        if ct.type == "multipart" {
            let boundary = ct.raw["boundary"] ?? ct.extended["boundary"].map { Array($0.utf8) } ?? []
            if boundary.isEmpty {
                defects.append("multipart without boundary parameter; body treated as text/plain")
                ct.value = "text/plain"
                processLeaf(headers: headers, ct: ct, body: body)
                return
            }
            if boundary.count > MultipartParser.maxBoundaryLength {
                defects.append("multipart boundary longer than \(MultipartParser.maxBoundaryLength) characters; body treated as text/plain")
                ct.value = "text/plain"
                processLeaf(headers: headers, ct: ct, body: body)
                return
            }
            if depth >= limits.maxDepth {
                if !depthLimitReported {
                    depthLimitReported = true
                    defects.append("multipart nesting deeper than \(limits.maxDepth); deeper parts skipped")
                }
                return
            }
            // One more than the parts still allowed, so the loop below notices and reports the excess.
            let split = MultipartParser.split(raw, range: body, boundary: boundary, maxParts: max(0, limits.maxParts - partCount) + 1)
            if !split.foundDelimiter {
                defects.append("multipart boundary \"\(String(decoding: boundary, as: UTF8.self))\" not found; body treated as text/plain")
                ct.value = "text/plain"
                processLeaf(headers: headers, ct: ct, body: body)
                return
            }
            if !split.closed {
                defects.append("missing multipart end boundary")
            }
            let childDefault = ct.subtype == "digest" ? "message/rfc822" : "text/plain"
            for part in split.parts {
                partCount += 1
                if partCount > limits.maxParts {
                    if !partLimitReported {
                        partLimitReported = true
                        defects.append("more than \(limits.maxParts) MIME parts; remaining parts skipped")
                    }
                    return
                }
                let ph = HeaderParser.parse(raw, range: part, limits: limits)
                for d in ph.defects { defects.append("part: " + d) }
                processEntity(headers: ph, body: ph.bodyStart..<part.upperBound, depth: depth + 1, defaultType: childDefault)
            }
            return
        }
        processLeaf(headers: headers, ct: ct, body: body)
    }

    private mutating func decodeTransfer(_ headers: HeaderBlock, body: Range<Int>) -> [UInt8] {
        guard let h = headers.first("content-transfer-encoding") else { return Array(raw[body]) }
        let enc = lowercasedASCIIString(trimBytes(h.value))
        switch enc {
        case "base64":
            let r = Base64Decoder.decode(raw, range: body)
            if let d = r.defect { defects.append(d) }
            return r.data
        case "quoted-printable":
            let r = QuotedPrintable.decode(raw, range: body)
            if let d = r.defect { defects.append(d) }
            return r.data
        case "7bit", "8bit", "binary", "", "7-bit", "8-bit":
            return Array(raw[body])
        default:
            defects.append("unknown Content-Transfer-Encoding \"\(enc)\"; body used as is")
            return Array(raw[body])
        }
    }

    /// UTF-16, UTF-32, UCS-2 and their kin: charsets whose newlines are not single ASCII bytes.
    /// Reads the name's bytes once: the generic `firstRange(of:)` cost nearly a percent of all ingest time.
    static func isWideCharset(_ charset: String) -> Bool {
        var previous: UInt8 = 0
        for byte in charset.utf8 {
            if (previous == UInt8(ascii: "1") && byte == UInt8(ascii: "6")) || (previous == UInt8(ascii: "3") && byte == UInt8(ascii: "2")) { return true }
            previous = byte
        }
        let name = charset.utf8.lazy.map(asciiLower)
        return name.prefix(3).elementsEqual("ucs".utf8) || name.elementsEqual("unicode".utf8)
    }

    /// An attachment's content, left encoded in the message where its size can be told without decoding it
    /// (unencoded, or base64 that decodes cleanly); anything else is decoded now, to report its defects.
    private mutating func attachmentPayload(_ headers: HeaderBlock, body: Range<Int>) -> (Attachment.Payload, Int) {
        switch headers.first("content-transfer-encoding").map({ lowercasedASCIIString(trimBytes($0.value)) }) {
        case nil, "7bit", "8bit", "binary", "", "7-bit", "8-bit":
            return (.unencoded(message: raw, range: body), body.count)
        case "base64":
            if let size = Base64Decoder.cleanDecodedCount(raw, range: body) { return (.base64(message: raw, range: body), size) }
        default:
            break
        }
        let data = decodeTransfer(headers, body: body)
        return (.decoded(data), data.count)
    }

    private mutating func processLeaf(headers: HeaderBlock, ct: HeaderParameters, body: Range<Int>) {
        let mime = ct.value
        var disposition: HeaderParameters? = nil
        if let h = headers.first("content-disposition"), !h.value.isEmpty {
            disposition = HeaderParameters.parse(h.value, defects: &defects)
        }
        let isAttachment = disposition?.value == "attachment"
        let charset = ct.param("charset", defects: &defects)

        if !isAttachment && (mime == "text/plain" || mime == "text/html") {
            let wantsText = mime == "text/plain" && textBody == nil
            let wantsHTML = mime == "text/html" && htmlBody == nil
            if wantsText || wantsHTML {
                var bytes = decodeTransfer(headers, body: body)
                // Normalise line endings on bytes (cheap) unless the charset is not ASCII-based.
                let wide = charset.map(Self.isWideCharset) ?? false
                if wantsText && !wide { bytes = normalizeNewlines(bytes) }
                let r = Charset.decodeReporting(bytes, charset: charset)
                if let d = r.defect { defects.append(d) }
                if firstTextCharset == nil, let cs = charset, r.exact { firstTextCharset = cs }
                if wantsText { textBody = wide ? normalizeNewlines(r.text) : r.text } else { htmlBody = r.text }
                return
            }
        }

        let (payload, size) = attachmentPayload(headers, body: body)
        var filename = disposition?.param("filename", fallbackCharset: charset, defects: &defects)
        if filename?.isEmpty ?? true { filename = ct.param("name", fallbackCharset: charset, defects: &defects) }
        if filename?.isEmpty ?? true { filename = nil }
        if filename == nil && (mime == "message/rfc822" || mime == "message/global") { filename = "message.eml" }
        var contentID: String? = nil
        if let h = headers.first("content-id") {
            contentID = MessageIDParser.parse(h.value).first
                ?? { let t = EncodedWord.decodeRaw(trimBytes(h.value), fallbackCharset: nil); return t.isEmpty ? nil : t }()
        }
        let isInline = disposition?.value == "inline" || (disposition == nil && contentID != nil)
        attachments.append(Attachment(filename: filename, contentType: mime, contentID: contentID, isInline: isInline, payload: payload, size: size))
    }

    /// Message-IDs of these fields, deduplicated with a set and capped at `limits.maxReferences`, so a
    /// megabyte of `<a>` cannot hand thousands of ids to code that threads by comparing them.
    /// When trimming, the newest ids (the end of the list) are kept, plus the first one if `keepFirst`:
    /// for References that is the thread's root (RFC 5322 §3.6.4).
    private mutating func cappedIDs(_ fields: [RawHeader], keepFirst: Bool) -> [String] {
        let ids = MessageIDParser.parse(fields.map(\.value))
        let cap = max(0, limits.maxReferences)
        guard ids.count > cap else { return ids }
        defects.append("more than \(cap) message ids in \(fields.first?.name ?? "a header"); only " + (keepFirst ? "the first and the latest" : "the latest") + " kept")
        guard cap > 0 else { return [] }
        if keepFirst { return [ids[0]] + ids.suffix(cap - 1) }
        return Array(ids.suffix(cap))
    }

    mutating func finish(top: HeaderBlock) -> ParsedMessage {
        var msg = ParsedMessage()
        let fallback = firstTextCharset
        msg.headers.reserveCapacity(top.fields.count)
        for f in top.fields {
            msg.headers.append(HeaderField(name: f.name, rawValue: f.value, fallbackCharset: fallback, defects: &defects))
        }
        func addresses(_ name: String) -> [MailAddress] {
            top.all(name).flatMap { AddressParser.parse($0.value[...], fallbackCharset: fallback) }
        }
        if let s = msg.header("subject") { msg.subject = trimASCII(s) }
        msg.from = addresses("from")
        msg.sender = addresses("sender").first
        msg.replyTo = addresses("reply-to")
        msg.to = addresses("to")
        msg.cc = addresses("cc")
        if let d = top.first("date") {
            msg.date = DateParser.parse(bytes: d.value)
            if msg.date == nil { defects.append("unparsable Date header") }
        }
        if let h = top.first("message-id") { msg.messageID = MessageIDParser.parse(h.value).first }
        msg.inReplyTo = cappedIDs(top.all("in-reply-to"), keepFirst: false)
        msg.references = cappedIDs(top.all("references"), keepFirst: true)
        msg.htmlBody = htmlBody
        msg.textBody = textBody ?? htmlBody.map { HTMLText.plainText(fromHTML: $0) }
        msg.attachments = attachments
        msg.defects = defects
        return msg
    }
}
