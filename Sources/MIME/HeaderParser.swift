/// One unfolded header field as raw bytes (internal representation).
struct RawHeader {
    var name: String
    var lowerName: String
    var value: [UInt8]
}

/// A parsed header block plus where the body starts.
struct HeaderBlock {
    var fields: [RawHeader] = []
    var bodyStart: Int
    var defects: [String] = []

    func first(_ lowerName: String) -> RawHeader? {
        fields.first { Self.same($0.lowerName, lowerName) }
    }

    func all(_ lowerName: String) -> [RawHeader] {
        fields.filter { Self.same($0.lowerName, lowerName) }
    }

    /// Names of other lengths (most of those present) are told apart without the out-of-line string comparison,
    /// which a look-up otherwise called for every field: 3% of parsing.
    @inline(__always)
    private static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a == b
    }
}

/// Splits a header block into fields.
///
/// Accepts CRLF, LF and mixed line endings, unfolds continuation lines (only the line
/// break is removed, per RFC 5322), skips stray lines without a colon, and treats a
/// non-header line not followed by a header as the start of a body whose separator is missing.
enum HeaderParser {
    static func parse(_ raw: [UInt8], range: Range<Int>, limits: ParseLimits) -> HeaderBlock {
        var block = HeaderBlock(bodyStart: range.upperBound)
        // A message's header holds a score of fields: grown from one, the list was reallocated five times.
        block.fields.reserveCapacity(16)
        let end = range.upperBound
        var pos = range.lowerBound
        var current: RawHeader? = nil
        var headerBytes = 0
        var limitHit = false
        var isFirstLine = true

        func commit(_ h: inout RawHeader?, _ block: inout HeaderBlock) {
            guard var field = h else { return }
            // Trimmed in place: the leading blanks of the first line were never copied, and trailing ones are cut
            // without a copy. Only a value whose first line was empty (all of it on continuation lines) moves.
            while let last = field.value.last, isSpaceOrNewline(last) { field.value.removeLast() }
            if let first = field.value.first, isSpaceOrNewline(first) { field.value = Array(trimBytes(field.value)) }
            if block.fields.count < limits.maxHeaderCount {
                block.fields.append(field)
            } else if !limitHit {
                limitHit = true
                block.defects.append("too many header fields; extra fields ignored")
            }
            h = nil
        }

        while pos < end {
            let nl = raw.firstIndex(of: 0x0A, from: pos, to: end)
            let lineEnd = nl ?? end
            var contentEnd = lineEnd
            if contentEnd > pos && raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let next = nl.map { $0 + 1 } ?? end
            defer { isFirstLine = false }

            if contentEnd == pos {  // empty line: end of header block
                commit(&current, &block)
                block.bodyStart = next
                return block
            }
            headerBytes += lineEnd - pos + 1
            if headerBytes > limits.maxHeaderBytes {
                if !limitHit {
                    limitHit = true
                    block.defects.append("header block exceeds \(limits.maxHeaderBytes) bytes; remaining header lines ignored")
                    commit(&current, &block)
                }
                pos = next
                continue
            }
            let first = raw[pos]
            if isWSP(first) {
                if current != nil {
                    current?.value.append(contentsOf: raw[pos..<contentEnd])
                } else if !isFirstLine || !raw[pos..<contentEnd].allSatisfy(isWSP) {
                    block.defects.append("continuation line without a preceding header field")
                }
                pos = next
                continue
            }
            if isFirstLine && contentEnd - pos >= 5 && raw[pos..<pos + 5].elementsEqual("From ".utf8) {
                pos = next  // mbox separator line
                continue
            }
            if let colon = headerNameEnd(raw, from: pos, to: contentEnd) {
                commit(&current, &block)
                var nameEnd = colon
                while nameEnd > pos && isWSP(raw[nameEnd - 1]) { nameEnd -= 1 }
                let nameBytes = raw[pos..<nameEnd]
                var valueStart = colon + 1
                while valueStart < contentEnd && isSpaceOrNewline(raw[valueStart]) { valueStart += 1 }
                current = RawHeader(
                    name: String(decoding: nameBytes, as: UTF8.self),
                    lowerName: lowercasedASCIIString(nameBytes),
                    value: Array(raw[valueStart..<contentEnd])
                )
                pos = next
                continue
            }
            // A line without a colon. If a header line follows, it is a stray line; otherwise the
            // blank separator line is probably missing and the body starts here.
            if next < end, nextLineLooksLikeHeader(raw, from: next, to: end) {
                block.defects.append("header line without colon skipped")
                pos = next
                continue
            }
            commit(&current, &block)
            block.defects.append("missing blank line between header and body")
            block.bodyStart = pos
            return block
        }
        commit(&current, &block)
        block.bodyStart = end
        return block
    }

    /// Index of the colon ending a valid field name on this line, or nil.
    private static func headerNameEnd(_ raw: [UInt8], from: Int, to: Int) -> Int? {
        var i = from
        while i < to {
            let c = raw[i]
            if c == 0x3A { return i > from ? i : nil }
            if c <= 0x20 || c >= 0x7F {
                // Obsolete syntax allows whitespace before the colon ("Subject :").
                guard isWSP(c) else { return nil }
                var j = i
                while j < to && isWSP(raw[j]) { j += 1 }
                return (j < to && raw[j] == 0x3A && i > from) ? j : nil
            }
            i += 1
            if i - from > 200 { return nil }
        }
        return nil
    }

    private static func nextLineLooksLikeHeader(_ raw: [UInt8], from: Int, to: Int) -> Bool {
        let nl = raw.firstIndex(of: 0x0A, from: from, to: to) ?? to
        var contentEnd = nl
        if contentEnd > from && raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        guard contentEnd > from else { return false }
        return headerNameEnd(raw, from: from, to: contentEnd) != nil
    }
}
