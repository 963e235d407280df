#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a multipart body into part ranges without copying.
///
/// Delimiters are found with a memchr/memcmp search for `--boundary` and then checked to be at a line
/// start and followed by `--` (close) or optional whitespace and a line break, so nested
/// boundaries that share a prefix are not confused. The line break before a delimiter
/// belongs to the delimiter (RFC 2046). A missing close delimiter yields what is there.
enum MultipartParser {
    struct Result {
        var parts: [Range<Int>] = []
        var closed = false
        var foundDelimiter = false
    }

    /// Next occurrence of `needle` in `base[from..<to]` (memchr on the first byte + memcmp).
    /// Base64 bodies contain no '-', so big attachments are skipped at memchr speed.
    @inline(__always)
    private static func find(_ base: UnsafePointer<UInt8>, from: Int, to: Int, needle: UnsafePointer<UInt8>, count: Int) -> Int? {
        var i = from
        let first = Int32(needle[0])
        while to - i >= count {
            guard let p = memchr(base + i, first, to - i - count + 1) else { return nil }
            let at = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + at, needle, count) == 0 { return at }
            i = at + 1
        }
        return nil
    }

    static func split(_ raw: [UInt8], range: Range<Int>, boundary: [UInt8]) -> Result {
        var result = Result()
        guard !boundary.isEmpty, range.count >= boundary.count + 2 else { return result }
        let needle: [UInt8] = [0x2D, 0x2D] + boundary
        let end = range.upperBound
        var partStart: Int? = nil
        var searchFrom = range.lowerBound
        raw.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            needle.withUnsafeBufferPointer { nb in
                guard let nbase = nb.baseAddress else { return }
                while searchFrom < end {
                    guard let at = find(base, from: searchFrom, to: end, needle: nbase, count: nb.count) else { break }
                    searchFrom = at + 1
                    // Must start a line.
                    guard at == range.lowerBound || buf[at - 1] == 0x0A else { continue }
                    var j = at + needle.count
                    var isClose = false
                    if j + 1 < end, buf[j] == 0x2D, buf[j + 1] == 0x2D {
                        isClose = true
                        j += 2
                    }
                    // Rest of the line must be whitespace (lenient for the close delimiter).
                    var k = j
                    while k < end && (buf[k] == 0x20 || buf[k] == 0x09 || buf[k] == 0x0D) { k += 1 }
                    let atEOL = k >= end || buf[k] == 0x0A
                    if !atEOL && !isClose { continue }
                    result.foundDelimiter = true
                    if let s = partStart {
                        var contentEnd = at
                        if contentEnd > s && buf[contentEnd - 1] == 0x0A { contentEnd -= 1 }
                        if contentEnd > s && buf[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                        result.parts.append(s..<max(s, contentEnd))
                    }
                    if isClose {
                        result.closed = true
                        return
                    }
                    // Next part starts after this line.
                    var lineEnd = k
                    while lineEnd < end && buf[lineEnd] != 0x0A { lineEnd += 1 }
                    partStart = min(lineEnd + 1, end)
                    searchFrom = partStart!
                }
            }
        }
        if !result.closed, let s = partStart {
            result.parts.append(s..<end)
        }
        return result
    }
}
