import Foundation

/// Parses address-list headers (From, To, Cc, Reply-To, ...) into mailboxes.
///
/// Handles display names (quoted, with commas, RFC 2047 encoded — also inside quotes, as
/// many clients do), quoted local parts, comments (used as the name for `a@b (Name)`),
/// groups (flattened), obsolete routes, missing angle brackets and unquoted
/// "Last, First <a@b>" names. Anything that does not yield an address is skipped.
public enum AddressParser {
    public static func parse(_ value: [UInt8]) -> [MailAddress] {
        parse(value[...], fallbackCharset: nil)
    }

    private enum Token {
        case word([UInt8], quoted: Bool, spaceBefore: Bool)
        case comment([UInt8])
        case angle([UInt8])
        case comma, colon, semicolon
    }

    private struct Item {
        var words: [(bytes: [UInt8], quoted: Bool, spaceBefore: Bool)] = []
        var angle: [UInt8]? = nil
        var comments: [[UInt8]] = []
        var isEmpty: Bool { words.isEmpty && angle == nil && comments.isEmpty }
    }

    static func parse(_ value: ArraySlice<UInt8>, fallbackCharset: String?) -> [MailAddress] {
        simpleList(value, fallbackCharset: fallbackCharset) ?? general(value, fallbackCharset: fallbackCharset)
    }

    /// The plain forms nearly all mail uses — `a@b`, `Name <a@b>`, `"Name" <a@b>`, separated by commas, names in
    /// ASCII, UTF-8 or encoded words, without comments or escapes — read in one pass with no token arrays. Nil for
    /// anything else, which ``general(_:fallbackCharset:)`` reads; so it only ever returns what that returns for the
    /// same bytes (`AddressParserTests` holds it to that over seeded near-misses).
    static func simpleList(_ s: ArraySlice<UInt8>, fallbackCharset: String?) -> [MailAddress]? {
        @inline(__always) func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        /// atext (RFC 5322) and the dot: what a plain address and an unquoted name are made of here.
        @inline(__always) func atom(_ c: UInt8) -> Bool {
            switch c {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2E, 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x5E, 0x5F, 0x60, 0x7B...0x7E: true
            default: false
            }
        }
        /// `local@domain` of atoms, one `@`, not ending in a dot (which the general reader would drop).
        func address(_ range: Range<Int>) -> String? {
            guard let at = s[range].firstIndex(of: 0x40), at > range.lowerBound, at + 1 < range.upperBound,
                  s[range.upperBound - 1] != 0x2E else { return nil }
            for i in range where i != at { guard atom(s[i]) else { return nil } }
            return String(decoding: s[range], as: UTF8.self)
        }
        /// A display name: blanks trimmed and, unquoted, runs of them as one space; nil when empty. Refused (through
        /// `ok`) when it starts or ends with an apostrophe, which the general reader strips as quotes.
        func name(_ range: Range<Int>, quoted: Bool, ok: inout Bool) -> String? {
            var lo = range.lowerBound, hi = range.upperBound
            while lo < hi, blank(s[lo]) { lo += 1 }
            while hi > lo, blank(s[hi - 1]) { hi -= 1 }
            guard lo < hi else { return nil }
            if s[lo..<hi].contains(where: { $0 == 0x3D || $0 == 0x3F || $0 >= 0x80 }) {
                // Encoded words or 8-bit text: the general reader's own steps, on the bytes it would have (a quoted
                // name as it is; unquoted words one space apart).
                let bytes = quoted ? Array(s[range]) : collapsed(lo..<hi)
                var ignored: [String] = []
                return cleanName(EncodedWord.decode(bytes[...], fallbackCharset: fallbackCharset, defects: &ignored))
            }
            if s[lo] == 0x27 || s[hi - 1] == 0x27 { ok = false; return nil }
            var single = true
            for i in lo..<hi where !quoted && blank(s[i]) && (s[i] == 0x09 || blank(s[i + 1])) { single = false; break }
            if single { return String(decoding: s[lo..<hi], as: UTF8.self) }
            return String(decoding: collapsed(lo..<hi), as: UTF8.self)
        }
        /// Words one space apart, as the general reader joins them; `range` starts and ends with a word.
        func collapsed(_ range: Range<Int>) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(range.count)
            for i in range {
                if blank(s[i]) { if !blank(s[i - 1]) { bytes.append(0x20) } } else { bytes.append(s[i]) }
            }
            return bytes
        }
        var result: [MailAddress] = []
        var i = s.startIndex
        let end = s.endIndex
        while true {
            while i < end, blank(s[i]) { i += 1 }
            guard i < end else { return nil }  // an empty value or item: the general reader's rules
            var display: String? = nil
            var ok = true
            if s[i] == 0x22 {
                let open = i + 1
                var j = open
                // Quoted: printable text and tabs, but no escape.
                while j < end, s[j] != 0x22 {
                    let c = s[j]
                    guard c == 0x09 || (c >= 0x20 && c != 0x7F && c != 0x5C) else { return nil }
                    j += 1
                }
                guard j < end else { return nil }
                display = name(open..<j, quoted: true, ok: &ok)
                i = j + 1
                while i < end, blank(s[i]) { i += 1 }
                guard ok, i < end, s[i] == 0x3C else { return nil }
            } else if s[i] != 0x3C {
                let start = i
                var hasAt = false
                while i < end, s[i] != 0x2C, s[i] != 0x3C {
                    let c = s[i]
                    if c == 0x40 { hasAt = true } else { guard atom(c) || blank(c) || c == 0x3D || c == 0x3F || c >= 0x80 else { return nil } }
                    i += 1
                }
                if i == end || s[i] == 0x2C {
                    // A bare address, one word.
                    var last = i
                    while last > start, blank(s[last - 1]) { last -= 1 }
                    guard let email = address(start..<last) else { return nil }
                    for k in start..<last where blank(s[k]) { return nil }
                    result.append(MailAddress(name: nil, email: email))
                    if i == end { return result }
                    i += 1
                    continue
                }
                guard !hasAt else { return nil }
                display = name(start..<i, quoted: false, ok: &ok)
                guard ok else { return nil }
            }
            // `<local@domain>`, then blanks, then a comma or the end.
            let open = i + 1
            var close = open
            while close < end, s[close] != 0x3E { close += 1 }
            guard close < end, let email = address(open..<close) else { return nil }
            result.append(MailAddress(name: display, email: email))
            i = close + 1
            while i < end, blank(s[i]) { i += 1 }
            if i == end { return result }
            guard s[i] == 0x2C else { return nil }
            i += 1
        }
    }

    /// Any address list, however malformed: tokens, then items.
    static func general(_ value: ArraySlice<UInt8>, fallbackCharset: String?) -> [MailAddress] {
        let tokens = tokenize(value)
        var result: [MailAddress] = []
        var item = Item()
        var pendingPrefix: String? = nil
        var ignoredDefects: [String] = []

        func phrase(_ words: ArraySlice<(bytes: [UInt8], quoted: Bool, spaceBefore: Bool)>) -> String? {
            var bytes = [UInt8]()
            for (k, w) in words.enumerated() {
                if k > 0 && w.spaceBefore { bytes.append(0x20) }
                bytes.append(contentsOf: w.bytes)
            }
            return cleanName(EncodedWord.decode(bytes[...], fallbackCharset: fallbackCharset, defects: &ignoredDefects))
        }

        func finish() {
            defer { item = Item() }
            guard !item.isEmpty else { return }
            let commentName: String? = item.comments.isEmpty ? nil
                : cleanName(EncodedWord.decode(Array(item.comments.joined(separator: [0x20]))[...], fallbackCharset: fallbackCharset, defects: &ignoredDefects))
            if let angle = item.angle {
                let prefix = pendingPrefix
                pendingPrefix = nil
                let email = cleanAddress(angle)
                guard !email.isEmpty else { return }
                var name = phrase(item.words[...]) ?? commentName
                if let p = prefix, let n = name { name = p + ", " + n }
                result.append(MailAddress(name: name, email: email))
                return
            }
            pendingPrefix = nil
            guard !item.words.isEmpty else { return }
            guard item.words.contains(where: { !$0.quoted && $0.bytes.contains(0x40) }) || hasQuotedLocalPart(item.words) else {
                // No address at all: maybe the first half of an unquoted "Last, First <a@b>".
                pendingPrefix = phrase(item.words[...])
                return
            }
            // Obsolete spacing around '@' ("a @ b") or a quoted local part: glue everything.
            let glue = item.words.contains { !$0.quoted && ($0.bytes.first == 0x40 || $0.bytes.last == 0x40) } || hasQuotedLocalPart(item.words)
            if glue || item.words.count == 1 {
                var email = [UInt8]()
                for w in item.words {
                    if w.quoted { email.append(0x22); email.append(contentsOf: w.bytes); email.append(0x22) } else { email.append(contentsOf: w.bytes) }
                }
                let e = cleanAddress(email)
                if !e.isEmpty { result.append(MailAddress(name: commentName, email: e)) }
                return
            }
            // "Name a@b" without angle brackets: the word with '@' is the address.
            if let idx = item.words.lastIndex(where: { !$0.quoted && $0.bytes.contains(0x40) }) {
                var rest = item.words
                let addr = rest.remove(at: idx)
                let e = cleanAddress(addr.bytes)
                if !e.isEmpty { result.append(MailAddress(name: phrase(rest[...]) ?? commentName, email: e)) }
            }
        }

        for tok in tokens {
            switch tok {
            case .word(let b, let q, let sp):
                item.words.append((b, q, sp))
            case .comment(let c):
                item.comments.append(c)
            case .angle(let a):
                if item.angle == nil { item.angle = a }
            case .comma:
                finish()
            case .semicolon:
                finish()
                pendingPrefix = nil
            case .colon:
                if item.angle == nil && !item.words.contains(where: { $0.bytes.contains(0x40) }) {
                    item = Item()  // group display name: drop it, members follow
                    pendingPrefix = nil
                } else {
                    item.words.append(([0x3A], false, false))
                }
            }
        }
        finish()
        return result
    }

    private static func hasQuotedLocalPart(_ words: [(bytes: [UInt8], quoted: Bool, spaceBefore: Bool)]) -> Bool {
        for (k, w) in words.enumerated() where w.quoted && k + 1 < words.count {
            let nxt = words[k + 1]
            if !nxt.quoted && !nxt.spaceBefore && nxt.bytes.first == 0x40 { return true }
        }
        return false
    }

    private static func tokenize(_ s: ArraySlice<UInt8>) -> [Token] {
        var tokens: [Token] = []
        var i = s.startIndex
        let end = s.endIndex
        var spaceBefore = false
        let lastGT = s.lastIndex(of: 0x3E)
        while i < end {
            let c = s[i]
            switch c {
            case 0x20, 0x09, 0x0D, 0x0A:
                spaceBefore = true
                i += 1
                continue
            case 0x22:  // quoted-string
                var buf = [UInt8]()
                i += 1
                while i < end && s[i] != 0x22 {
                    if s[i] == 0x5C && i + 1 < end { i += 1 }
                    if s[i] != 0x0D && s[i] != 0x0A { buf.append(s[i]) }
                    i += 1
                }
                i += 1
                tokens.append(.word(buf, quoted: true, spaceBefore: spaceBefore))
            case 0x28:  // comment
                var depth = 0
                var buf = [UInt8]()
                while i < end {
                    let d = s[i]
                    if d == 0x5C && i + 1 < end { buf.append(s[i + 1]); i += 2; continue }
                    if d == 0x28 { depth += 1; if depth > 1 { buf.append(d) } } else if d == 0x29 {
                        depth -= 1
                        if depth == 0 { i += 1; break }
                        buf.append(d)
                    } else { buf.append(d) }
                    i += 1
                }
                tokens.append(.comment(buf))
            case 0x3C:  // angle address
                var buf = [UInt8]()
                i += 1
                var inQuote = false
                let terminated = lastGT.map { $0 > i } ?? false
                while i < end {
                    let d = s[i]
                    if d == 0x22 {
                        inQuote.toggle()
                    } else if !inQuote {
                        if d == 0x3E { i += 1; break }
                        if d == 0x3C { buf.removeAll(); i += 1; continue }
                        if !terminated && d == 0x2C { break }  // unterminated '<': stop at the next address
                    }
                    buf.append(d)
                    i += 1
                }
                tokens.append(.angle(buf))
            case 0x2C: tokens.append(.comma); i += 1
            case 0x3A: tokens.append(.colon); i += 1
            case 0x3B: tokens.append(.semicolon); i += 1
            case 0x3E: i += 1  // stray '>'
            default:
                let start = i
                while i < end {
                    let d = s[i]
                    if d == 0x20 || d == 0x09 || d == 0x0D || d == 0x0A || d == 0x22 || d == 0x28 || d == 0x3C || d == 0x2C || d == 0x3A || d == 0x3B || d == 0x3E { break }
                    i += 1
                }
                tokens.append(.word(Array(s[start..<i]), quoted: false, spaceBefore: spaceBefore))
            }
            spaceBefore = false
        }
        return tokens
    }

    /// Removes comments, whitespace outside quotes, obsolete routes and `mailto:`.
    private static func cleanAddress(_ a: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(a.count)
        var i = 0
        var inQuote = false
        while i < a.count {
            let c = a[i]
            if c == 0x22 { inQuote.toggle(); out.append(c); i += 1; continue }
            if !inQuote {
                if c == 0x28 { i = HeaderParameters.skipComment(a, from: i); continue }
                if isSpaceOrNewline(c) || c < 0x20 { i += 1; continue }
            }
            out.append(c)
            i += 1
        }
        if out.first == 0x40, let colon = out.firstIndex(of: 0x3A) { out.removeSubrange(0...colon) }  // @route:addr
        if out.count > 7, out[0..<7].map(asciiLower).elementsEqual("mailto:".utf8) { out.removeFirst(7) }
        while let l = out.last, l == 0x2E || l == 0x3A { out.removeLast() }
        if out.allSatisfy({ $0 == 0x40 }) { return "" }  // "<@>" and friends
        return EncodedWord.decodeRaw(out[...], fallbackCharset: nil)
    }

    private static func cleanName(_ s: String) -> String? {
        var t = trimASCII(s)
        while t.count >= 2, let f = t.first, let l = t.last, (f == "'" && l == "'") || (f == "\"" && l == "\"") {
            t = trimASCII(String(t.dropFirst().dropLast()))
        }
        return t.isEmpty ? nil : t
    }
}
