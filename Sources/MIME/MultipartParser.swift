#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a multipart body into part ranges without copying.
///
/// Only line starts are examined: the scan jumps from line feed to line feed with memchr and compares
/// at most `--` plus the boundary (≤ 70 bytes, RFC 2046 §5.1.1) at each, so hostile bodies cost
/// linear time whatever they contain. A delimiter line is `--boundary` followed by `--` (close) or
/// optional whitespace and the line break, so nested boundaries that share a prefix are not confused.
/// The line break before a delimiter belongs to the delimiter (RFC 2046). A missing close delimiter
/// yields what is there.
enum MultipartParser {
    /// RFC 2046 §5.1.1: a boundary is 1 to 70 characters; anything longer is not a boundary.
    static let maxBoundaryLength = 70

    struct Result {
        var parts: [Range<Int>] = []
        var closed = false
        var foundDelimiter = false
        /// More than `maxParts` parts were present; the rest were not collected.
        var truncated = false
    }

    /// Part ranges of `raw[range]` delimited by `boundary`; at most `maxParts` are collected, so a body of
    /// nothing but delimiter lines cannot build an array larger than the limit the caller enforces anyway.
    static func split(_ raw: [UInt8], range: Range<Int>, boundary: [UInt8], maxParts: Int = .max) -> Result {
        var result = Result()
        guard !boundary.isEmpty, boundary.count <= maxBoundaryLength, range.count >= boundary.count + 2 else { return result }
        let needle: [UInt8] = [0x2D, 0x2D] + boundary
        let end = range.upperBound
        var partStart: Int? = nil
        raw.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            needle.withUnsafeBufferPointer { nb in
                guard let nbase = nb.baseAddress else { return }
                var lineStart = range.lowerBound
                while lineStart < end {
                    // End of this line (index of its LF, or `end`): the only forward scan, done once per line.
                    let lineEnd: Int
                    if let p = memchr(base + lineStart, 0x0A, end - lineStart) {
                        lineEnd = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    } else {
                        lineEnd = end
                    }
                    let nextLine = min(lineEnd + 1, end)
                    defer { lineStart = nextLine }
                    guard lineEnd - lineStart >= nb.count, memcmp(base + lineStart, nbase, nb.count) == 0 else { continue }
                    var j = lineStart + nb.count
                    var isClose = false
                    if j + 1 < lineEnd, buf[j] == 0x2D, buf[j + 1] == 0x2D {
                        isClose = true
                        j += 2
                    }
                    // Rest of the line must be whitespace (lenient for the close delimiter).
                    if !isClose {
                        while j < lineEnd && (buf[j] == 0x20 || buf[j] == 0x09 || buf[j] == 0x0D) { j += 1 }
                        if j < lineEnd { continue }
                    }
                    result.foundDelimiter = true
                    if let s = partStart {
                        var contentEnd = lineStart
                        if contentEnd > s && buf[contentEnd - 1] == 0x0A { contentEnd -= 1 }
                        if contentEnd > s && buf[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                        if result.parts.count >= maxParts {
                            result.truncated = true
                            return
                        }
                        result.parts.append(s..<max(s, contentEnd))
                    }
                    if isClose {
                        result.closed = true
                        return
                    }
                    partStart = nextLine
                }
            }
        }
        if !result.closed && !result.truncated, let s = partStart {
            if result.parts.count >= maxParts {
                result.truncated = true
            } else {
                result.parts.append(s..<end)
            }
        }
        return result
    }
}
