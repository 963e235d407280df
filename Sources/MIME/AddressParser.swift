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
