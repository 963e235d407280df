import CByteScan
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a multipart body into part ranges without copying.
///
/// Only lines that start with `--` are examined: a vector scan finds them, and at each the line's end is found
/// and at most `--` plus the boundary (≤ 70 bytes, RFC 2046 §5.1.1) compared, so hostile bodies cost linear time
/// whatever they contain. A delimiter line is `--boundary` followed by `--` (close) or
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
                // Only lines that start with `--` are looked at: the range's first line, then each found by
                // ``nextDashedLine(_:from:end:wide:)``.
                var lineStart: Int? = range.lowerBound
                while let start = lineStart {
                    // End of this line (index of its LF, or `end`).
                    let lineEnd: Int
                    if let p = memchr(base + start, 0x0A, end - start) {
                        lineEnd = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    } else {
                        lineEnd = end
                    }
                    let nextLine = min(lineEnd + 1, end)
                    lineStart = lineEnd < end ? nextDashedLine(UnsafeRawBufferPointer(buf), from: lineEnd, end: end) : nil
                    guard lineEnd - start >= nb.count, memcmp(base + start, nbase, nb.count) == 0 else { continue }
                    var j = start + nb.count
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
                        var contentEnd = start
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

    /// The start of the next line, after an LF at or after `from` and before `end`, that begins with `--`; nil when
    /// there is none. Thirty-two positions at a time with AVX2 (`CByteScan`), else sixteen: a body is mostly lines
    /// that are no delimiter, and stopping at every line feed (once per 78 bytes of base64) cost more than reading
    /// the bytes. `wide` false skips the AVX2 kernel, so tests can check the sixteen-byte loop alone.
    static func nextDashedLine(_ buffer: UnsafeRawBufferPointer, from: Int, end: Int, wide: Bool = true) -> Int? {
        typealias Bytes = SIMD16<UInt8>
        var i = from
        // The AVX2 kernel first, when the CPU has it; the loops below go on from where it stopped.
        if wide, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), end - from >= 34 {
            var scanned = 0
            let found = mailroom_next_dashed_line(base + from, end - from, &scanned)
            if found >= 0 { return from + found + 1 }
            i += scanned
        }
        // Each step reads bytes i ..< i + 18: a line feed in any of the sixteen lanes, and the two bytes after it.
        while end - i >= 18 {
            let lineFeed = (buffer.loadUnaligned(fromByteOffset: i, as: Bytes.self) .== Bytes(repeating: 0x0A))._storage
            let dash1 = (buffer.loadUnaligned(fromByteOffset: i + 1, as: Bytes.self) .== Bytes(repeating: 0x2D))._storage
            let dash2 = (buffer.loadUnaligned(fromByteOffset: i + 2, as: Bytes.self) .== Bytes(repeating: 0x2D))._storage
            // Lanes are 0 or -1; read as two words, the lowest set byte is the first hit.
            let (low, high) = unsafeBitCast(lineFeed & dash1 & dash2, to: (UInt64, UInt64).self)
            if low != 0 { return i + low.trailingZeroBitCount / 8 + 1 }
            if high != 0 { return i + 8 + high.trailingZeroBitCount / 8 + 1 }
            i += 16
        }
        while end - i >= 3 {
            if buffer[i] == 0x0A, buffer[i + 1] == 0x2D, buffer[i + 2] == 0x2D { return i + 1 }
            i += 1
        }
        return nil
    }
}
