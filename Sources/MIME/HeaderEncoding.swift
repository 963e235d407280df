import Foundation

/// Writing header fields: RFC 2047 encoded-words, phrases, addr-spec checks, folding and dates.
///
/// Values are built as a list of atomic tokens joined by single spaces; folding turns such a space
/// into CRLF + space, so unfolding (removing only the CRLF, RFC 5322 §2.2.3) gives the value back.
enum HeaderEncoding {
    /// RFC 5322 recommends lines of at most 78 characters; 998 is the hard limit.
    static let softLimit = 78
    static let hardLimit = 998
    /// RFC 2047 §2: an encoded-word is at most 75 characters.
    static let maxEncodedWord = 75

    // MARK: Folding

    /// `Name: tok1 tok2 …` with lines folded before a token when the line would pass 78 characters.
    /// A token never gets split; callers keep tokens short (encoded-words, addresses, msg-ids).
    static func fold(name: String, tokens: [String]) -> [UInt8] {
        var out = Array(name.utf8)
        out.append(0x3A)  // ':'
        var lineLength = out.count
        var lineHasToken = false
        for token in tokens {
            let t = Array(token.utf8)
            // Break before a token that would pass 78 characters — even right after "Name:" (FWS is allowed
            // there) — unless the token is too long for any line, where breaking would not help.
            if !t.isEmpty && lineLength + 1 + t.count > softLimit && (lineHasToken || 1 + t.count <= softLimit) {
                out.append(contentsOf: [0x0D, 0x0A])
                lineLength = 0
            }
            out.append(0x20)
            out.append(contentsOf: t)
            lineLength += 1 + t.count
            if !t.isEmpty { lineHasToken = true }
        }
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    // MARK: Unstructured text (Subject, extra headers)

    /// Tokens for an unstructured value: plain words when it is printable ASCII with nothing that could be
    /// mistaken for an encoded-word, else RFC 2047 encoded-words for the whole value.
    static func unstructuredTokens(_ value: String, firstLimit: Int) -> [String] {
        if isPlainUnstructured(value) {
            return value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        }
        return encodedWords(value, firstLimit: firstLimit)
    }

    private static func isPlainUnstructured(_ value: String) -> Bool {
        var wordLength = 0
        var previous: UInt8 = 0
        for c in value.utf8 {
            guard c == 0x09 || (c >= 0x20 && c < 0x7F) else { return false }
            if previous == 0x3D && c == 0x3F { return false }  // "=?" would be decoded
            wordLength = c == 0x20 ? 0 : wordLength + 1
            if wordLength > 900 { return false }  // unfoldable: keep under 998 via encoded-words
            previous = c
        }
        return true
    }

    // MARK: Encoded-words (RFC 2047)

    /// The value as UTF-8 encoded-words, each at most `maxEncodedWord` characters (the first at most
    /// `firstLimit`), Q or B — whichever is shorter — and never splitting a grapheme (or, for an
    /// absurdly long grapheme, a Unicode scalar).
    static func encodedWords(_ value: String, firstLimit: Int = maxEncodedWord) -> [String] {
        let bytes = Array(value.utf8)
        let qLength = bytes.reduce(0) { $0 + qEncodedLength($1) }
        let bLength = (bytes.count + 2) / 3 * 4
        let useQ = qLength <= bLength
        let prefix = useQ ? "=?UTF-8?Q?" : "=?UTF-8?B?"
        let overhead = prefix.utf8.count + 2

        func encodedLength(_ chunk: [UInt8]) -> Int {
            useQ ? chunk.reduce(0) { $0 + qEncodedLength($1) } : (chunk.count + 2) / 3 * 4
        }
        func word(_ chunk: [UInt8]) -> String {
            prefix + (useQ ? qEncode(chunk) : base64(chunk)) + "?="
        }

        var words: [String] = []
        var chunk: [UInt8] = []
        var limit = max(firstLimit, overhead + 12)
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append(word(chunk))
            chunk.removeAll(keepingCapacity: true)
            limit = maxEncodedWord
        }
        func append(_ piece: [UInt8]) -> Bool {
            if encodedLength(chunk + piece) + overhead <= limit {
                chunk.append(contentsOf: piece)
                return true
            }
            flush()
            if encodedLength(piece) + overhead <= limit {
                chunk.append(contentsOf: piece)
                return true
            }
            return false
        }
        for character in value {
            if append(Array(character.utf8)) { continue }
            // A grapheme too long for one word: split between scalars (each fits: at most 4 bytes).
            for scalar in character.unicodeScalars {
                _ = append(Array(String(scalar).utf8))
            }
        }
        flush()
        return words
    }

    @inline(__always)
    private static func isQSafe(_ c: UInt8) -> Bool {
        // RFC 2047 §5(3): the characters allowed in an encoded-word inside a phrase — safe everywhere.
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == 0x21 || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2F
    }

    @inline(__always)
    private static func qEncodedLength(_ c: UInt8) -> Int { isQSafe(c) || c == 0x20 ? 1 : 3 }

    private static func qEncode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 3)
        for c in bytes {
            if isQSafe(c) {
                out.append(c)
            } else if c == 0x20 {
                out.append(0x5F)  // '_'
            } else {
                out.append(0x3D)
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        String(decoding: Base64Encoder.encode(bytes, lineLength: nil), as: UTF8.self)
    }

    static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    // MARK: Addresses

    /// Tokens for one mailbox: the display name (atoms, a quoted-string or encoded-words) then `<addr>`,
    /// or the bare address without a name.
    static func mailboxTokens(_ address: MailAddress, firstLimit: Int) -> [String] {
        guard let name = address.name, !name.isEmpty else { return [address.email] }
        return phraseTokens(name, firstLimit: firstLimit) + ["<\(address.email)>"]
    }

    /// A display name as RFC 5322 atoms when it is made only of them, a quoted-string when it is short
    /// printable ASCII, else encoded-words (non-ASCII, controls, `=?`, or too long to stay on one line).
    static func phraseTokens(_ name: String, firstLimit: Int) -> [String] {
        let utf8 = Array(name.utf8)
        let printable = utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        let looksEncoded = name.contains("=?")
        if printable && !looksEncoded && utf8.count <= 60 {
            let words = name.split(separator: " ", omittingEmptySubsequences: false)
            if words.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isAtext) }) {
                return words.map(String.init)
            }
            var quoted = "\""
            for ch in name {
                if ch == "\"" || ch == "\\" { quoted.append("\\") }
                quoted.append(ch)
            }
            quoted.append("\"")
            return [quoted]
        }
        return encodedWords(name, firstLimit: firstLimit)
    }

    /// RFC 5322 atext (ASCII part).
    static func isAtext(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E: true
        default: false
        }
    }

    /// Whether `email` is exactly one addr-spec: dot-atom or quoted-string `@` dot-atom or domain-literal.
    /// UTF-8 is allowed in atoms (RFC 6532); `nonASCII` says whether it was used.
    static func validateAddrSpec(_ email: String) -> (valid: Bool, nonASCII: Bool) {
        let b = Array(email.utf8)
        guard !b.isEmpty, b.count <= 254 else { return (false, false) }
        let nonASCII = b.contains { $0 >= 0x80 }
        func atext(_ c: UInt8) -> Bool { c >= 0x80 || isAtext(c) }
        func dotAtom(_ s: ArraySlice<UInt8>) -> Bool {
            guard !s.isEmpty, s.first != 0x2E, s.last != 0x2E else { return false }
            var previousDot = false
            for c in s {
                if c == 0x2E {
                    if previousDot { return false }
                    previousDot = true
                } else {
                    guard atext(c) else { return false }
                    previousDot = false
                }
            }
            return true
        }
        // Local part: a quoted-string or a dot-atom, then '@'.
        var i = 0
        if b[0] == 0x22 {
            i = 1
            var closed = false
            while i < b.count {
                let c = b[i]
                if c == 0x5C {
                    guard i + 1 < b.count, b[i + 1] >= 0x20 || b[i + 1] == 0x09 else { return (false, nonASCII) }
                    i += 2
                    continue
                }
                if c == 0x22 { closed = true; i += 1; break }
                guard c >= 0x20 || c == 0x09, c != 0x7F else { return (false, nonASCII) }
                i += 1
            }
            guard closed, i < b.count, b[i] == 0x40, i > 2 else { return (false, nonASCII) }
        } else {
            guard let at = b.lastIndex(of: 0x40), dotAtom(b[0..<at]) else { return (false, nonASCII) }
            i = at
        }
        let domain = b[(i + 1)...]
        guard !domain.isEmpty else { return (false, nonASCII) }
        if domain.first == 0x5B {  // domain-literal [1.2.3.4] / [IPv6:…]
            guard domain.count > 2, domain.last == 0x5D else { return (false, nonASCII) }
            let inner = domain.dropFirst().dropLast()
            return (inner.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x5B && $0 != 0x5D && $0 != 0x5C }, nonASCII)
        }
        return (dotAtom(domain), nonASCII)
    }

    /// A msg-id body (without `<>`): printable ASCII, no whitespace or angle brackets, short enough to
    /// keep a line under 998 characters.
    static func isValidMessageID(_ id: String, requireAt: Bool) -> Bool {
        let b = id.utf8
        guard !b.isEmpty, b.count <= 900 else { return false }
        guard b.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x3C && $0 != 0x3E }) else { return false }
        return !requireAt || b.contains(0x40)
    }

    // MARK: Dates

    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 03 Mar 2026 09:05:07 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
        let c = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String {
            let v = n ?? 0
            return v < 10 ? "0\(v)" : "\(v)"
        }
        let weekday = dayNames[((c.weekday ?? 1) - 1 + 7) % 7]
        let month = monthNames[((c.month ?? 1) - 1 + 12) % 12]
        var year = String(c.year ?? 1970)
        while year.count < 4 { year = "0" + year }
        return "\(weekday), \(two(c.day)) \(month) \(year) \(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }
}
