#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 2047 encoded-word decoding (`=?charset?B|Q?text?=`) for header values.
///
/// Adjacent encoded words are joined without the whitespace between them, and the raw
/// bytes of consecutive words in the same charset are concatenated before decoding so that
/// multi-byte characters split across words survive. Malformed words are left as literal text.
public enum EncodedWord {
    /// Decodes a header value; raw 8-bit bytes outside encoded words are decoded as UTF-8
    /// if valid, else Windows-1252.
    public static func decode(_ s: [UInt8]) -> String {
        var defects: [String] = []
        return decode(s[...], fallbackCharset: nil, defects: &defects)
    }

    static func decode(_ s: ArraySlice<UInt8>, fallbackCharset: String?, defects: inout [String]) -> String {
        let start = s.startIndex
        let end = s.endIndex
        guard let first = findMarker(s, from: start) else {
            return decodeRaw(s, fallbackCharset: fallbackCharset)
        }
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var pendingCharset: String? = nil
        var pendingBytes: [UInt8] = []
        var hasPending = false
        var literalStart = start
        var p: Int? = first

        func flushPending(_ out: inout [UInt8], _ defects: inout [String]) {
            guard hasPending else { return }
            let r = Charset.decodeReporting(pendingBytes, charset: pendingCharset)
            if let d = r.defect { defects.append("encoded word: " + d) }
            out.append(contentsOf: r.text.utf8)
            pendingBytes.removeAll(keepingCapacity: true)
            hasPending = false
        }

        var memo = ScanMemo()
        while let pos = p {
            guard let word = parseWord(s, at: pos, memo: &memo) else {
                p = findMarker(s, from: pos + 2)
                continue
            }
            let literal = s[literalStart..<pos]
            let onlyWhitespace = literal.allSatisfy(isSpaceOrNewline)
            if !(hasPending && onlyWhitespace) {
                flushPending(&out, &defects)
                if !literal.isEmpty {
                    out.append(contentsOf: decodeRaw(literal, fallbackCharset: fallbackCharset).utf8)
                }
            }
            let decoded: [UInt8]
            if word.isBase64 {
                let b = Base64Decoder.decode(Array(s[word.text]))
                decoded = b.data
            } else {
                decoded = QuotedPrintable.decodeQ(s[word.text])
            }
            if hasPending, let pc = pendingCharset, asciiCaseInsensitiveEquals(pc, word.charset) {
                pendingBytes.append(contentsOf: decoded)
            } else {
                flushPending(&out, &defects)
                pendingCharset = word.charset
                pendingBytes = decoded
                hasPending = true
            }
            literalStart = word.end
            p = findMarker(s, from: word.end)
        }
        flushPending(&out, &defects)
        if literalStart < end {
            out.append(contentsOf: decodeRaw(s[literalStart..<end], fallbackCharset: fallbackCharset).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the value holds a `=?` that may open an encoded word: without one, ``decode(_:fallbackCharset:defects:)``
    /// is ``decodeRaw(_:fallbackCharset:)`` and reports nothing.
    static func hasEncodedWord(_ s: ArraySlice<UInt8>) -> Bool { findMarker(s, from: s.startIndex) != nil }

    /// Raw header bytes: UTF-8 if valid (RFC 6532), else the fallback charset, else Windows-1252.
    static func decodeRaw(_ s: ArraySlice<UInt8>, fallbackCharset: String?) -> String {
        // ASCII is valid UTF-8: one pass decides both.
        if let str = validUTF8String(s) { return str }
        if let cs = fallbackCharset {
            let r = Charset.decodeReporting(Array(s), charset: cs)
            if r.exact { return r.text }
        }
        return Charset.decodeWindows1252(Array(s))
    }

    /// The next `=?` at or after `from`: `memchr` for each `=`, since most values hold none (and DKIM's hold many
    /// `=` but no `=?`).
    private static func findMarker(_ s: ArraySlice<UInt8>, from: Int) -> Int? {
        s.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            var i = from - s.startIndex
            let last = buffer.count - 1
            while i < last {
                guard let hit = memchr(base + i, 0x3D, last - i) else { return nil }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if buffer[at + 1] == 0x3F { return s.startIndex + at }
                i = at + 1
            }
            return nil
        }
    }

    private struct Word {
        var charset: String
        var isBase64: Bool
        var text: Range<Int>
        var end: Int
    }

    /// Positions of the next "?=", line break and "<WSP>=?" found so far. Queries only move
    /// forward, so hostile headers full of "=?" stay linear instead of rescanning.
    private struct ScanMemo {
        var terminator = (from: Int.max, at: -1)
        var lineBreak = (from: Int.max, at: -1)
        var nextWordStart = (from: Int.max, at: -1)
    }

    /// First index >= `from` matching; reuses the previous answer when it still applies
    /// (there is no match in `memo.from..<memo.at`, so none in `from..<memo.at` either).
    private static func firstIndex(_ s: ArraySlice<UInt8>, from: Int, memo: inout (from: Int, at: Int), _ match: (Int) -> Bool) -> Int {
        if memo.from <= from && from <= memo.at { return memo.at }
        var i = from
        while i < s.endIndex && !match(i) { i += 1 }
        memo = (from, i)
        return i
    }

    private static func parseWord(_ s: ArraySlice<UInt8>, at pos: Int, memo: inout ScanMemo) -> Word? {
        let end = s.endIndex
        var i = pos + 2
        let csStart = i
        while i < end && s[i] != 0x3F {
            let c = s[i]
            if c <= 0x20 || c >= 0x7F || c == 0x3D || i - csStart > 64 { return nil }
            i += 1
        }
        guard i < end, i > csStart else { return nil }
        var csEnd = i
        if let star = s[csStart..<csEnd].firstIndex(of: 0x2A) { csEnd = star }  // RFC 2231 language suffix
        guard csEnd > csStart else { return nil }
        i += 1
        guard i + 1 < end else { return nil }
        let enc = asciiLower(s[i])
        guard (enc == 0x62 || enc == 0x71) && s[i + 1] == 0x3F else { return nil }
        i += 2
        let textStart = i
        // Encoded text ends at "?="; tolerate stray spaces but not line breaks or a new "=?"
        // after whitespace (that is the next word, so this one is unterminated).
        let term = firstIndex(s, from: textStart, memo: &memo.terminator) { k in k + 1 < end && s[k] == 0x3F && s[k + 1] == 0x3D }
        guard term + 1 < end, term - textStart <= 4096 else { return nil }
        let lb = firstIndex(s, from: textStart, memo: &memo.lineBreak) { k in s[k] == 0x0D || s[k] == 0x0A }
        guard lb > term else { return nil }
        let nw = firstIndex(s, from: textStart, memo: &memo.nextWordStart) { k in k + 2 < end && isWSP(s[k]) && s[k + 1] == 0x3D && s[k + 2] == 0x3F }
        guard nw > term else { return nil }
        let charset = String(decoding: s[csStart..<csEnd], as: UTF8.self)
        return Word(charset: charset, isBase64: enc == 0x62, text: textStart..<term, end: term + 2)
    }
}
