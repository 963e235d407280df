import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Small byte helpers shared by the parsers. Everything works on `[UInt8]` with index
// ranges so that large messages are never copied more than necessary.

@inline(__always)
func asciiLower(_ c: UInt8) -> UInt8 {
    (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
}

@inline(__always)
func isWSP(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

@inline(__always)
func isSpaceOrNewline(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == 0x0B }

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}

extension Array where Element == UInt8 {
    /// Bytes of `range` with surrounding whitespace (SP, HT, CR, LF) removed.
    func trimmedRange(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi && isSpaceOrNewline(self[lo]) { lo += 1 }
        while hi > lo && isSpaceOrNewline(self[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// Index of the next `byte` in `from..<to`, using memchr.
    func firstIndex(of byte: UInt8, from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        return self.withUnsafeBufferPointer { buf -> Int? in
            guard let base = buf.baseAddress else { return nil }
            guard let p = memchr(base + from, Int32(byte), to - from) else { return nil }
            return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
        }
    }
}

func trimBytes<C: RandomAccessCollection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
    var lo = bytes.startIndex
    var hi = bytes.endIndex
    while lo < hi && isSpaceOrNewline(bytes[lo]) { lo = bytes.index(after: lo) }
    while hi > lo && isSpaceOrNewline(bytes[bytes.index(before: hi)]) { hi = bytes.index(before: hi) }
    return bytes[lo..<hi]
}

@inline(__always)
func isAllASCII<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
    for b in bytes where b >= 0x80 { return false }
    return true
}

/// The first index in `from ..< end` whose byte `matches`, or `end`: sixteen bytes per step (`lanes` gives 0 or -1
/// per lane), then one at a time. For scans of bodies where hits are rare: the sanitizer's escapes, quoted-printable's
/// runs.
@inline(__always)
func firstMatch(
    in buffer: UnsafeRawBufferPointer, from: Int, end: Int, lanes: (SIMD16<UInt8>) -> SIMD16<Int8>, matches: (UInt8) -> Bool
) -> Int {
    var i = from
    while end - i >= 16 {
        // Read as two words, the lowest set byte is the first hit.
        let (low, high) = unsafeBitCast(lanes(buffer.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)), to: (UInt64, UInt64).self)
        if low != 0 { return i + low.trailingZeroBitCount / 8 }
        if high != 0 { return i + 8 + high.trailingZeroBitCount / 8 }
        i += 16
    }
    while i < end, !matches(buffer[i]) { i += 1 }
    return i
}

/// A string of bytes that are valid UTF-8 by construction: pieces of valid strings cut only at ASCII bytes, ASCII, and
/// scalars encoded here. Copied without validating again, which was a tenth of sanitizing; debug builds (the tests)
/// and fuzz builds still validate, and stop on a violation.
func stringFromValidUTF8(_ bytes: [UInt8]) -> String {
    // `UTF8Span` is in the standard library of every Linux toolchain this builds with, but only from macOS 26 on.
    guard #available(macOS 26, *) else { return String(decoding: bytes, as: UTF8.self) }
    #if DEBUG || MAILROOM_FUZZ
    precondition(isValidUTF8(bytes.span), "bytes that must be valid UTF-8 are not")
    #endif
    return String(copying: unsafe UTF8Span(unchecked: bytes.span))
}

@available(macOS 26, *)
func isValidUTF8(_ span: Span<UInt8>) -> Bool {
    do {
        _ = try UTF8Span(validating: span)
        return true
    } catch {
        return false
    }
}

func lowercasedASCIIString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    // Written into the string's own storage (inline when short, as most names are): no array in between.
    String(unsafeUninitializedCapacity: bytes.count) { buffer in
        var count = 0
        for byte in bytes {
            buffer[count] = asciiLower(byte)
            count += 1
        }
        return count
    }
}

/// Normalises CRLF and lone CR to LF (used for text bodies shown to agents).
func normalizeNewlines(_ bytes: [UInt8]) -> [UInt8] {
    guard let first = bytes.firstIndex(of: 0x0D, from: 0, to: bytes.count) else { return bytes }
    // Runs between CRs are copied whole (`firstIndex(of:from:to:)`, memchr, finds the next), not byte by byte: this
    // runs for every text body.
    return bytes.withUnsafeBufferPointer { source in
        guard let base = source.baseAddress else { return [] }
        let n = source.count
        return [UInt8](unsafeUninitializedCapacity: n) { out, count in
            guard let target = out.baseAddress else { count = 0; return }
            var o = 0, i = 0, cr = first
            while true {
                (target + o).update(from: base + i, count: cr - i)
                o += cr - i
                target[o] = 0x0A
                o += 1
                i = cr + 1
                if i < n && base[i] == 0x0A { i += 1 }
                guard let next = bytes.firstIndex(of: 0x0D, from: i, to: n) else { break }
                cr = next
            }
            (target + o).update(from: base + i, count: n - i)
            count = o + n - i
        }
    }
}

func normalizeNewlines(_ s: String) -> String {
    guard s.utf8.contains(0x0D) else { return s }
    return String(decoding: normalizeNewlines(Array(s.utf8)), as: UTF8.self)
}

/// Trims ASCII whitespace (and optionally extra ASCII characters) without Foundation bridging.
func trimASCII(_ s: String, extra: [UInt8] = []) -> String {
    let u = s.utf8
    var lo = u.startIndex
    var hi = u.endIndex
    @inline(__always) func strip(_ c: UInt8) -> Bool { isSpaceOrNewline(c) || extra.contains(c) }
    while lo < hi && strip(u[lo]) { lo = u.index(after: lo) }
    while hi > lo && strip(u[u.index(before: hi)]) { hi = u.index(before: hi) }
    if lo == u.startIndex && hi == u.endIndex { return s }
    return String(s[lo..<hi])
}

/// The bytes as a String when they are valid UTF-8, else nil.
func validUTF8String<C: RandomAccessCollection>(_ bytes: C) -> String? where C.Element == UInt8, C.Index == Int {
    // One pass: the standard library validates while it copies (strict UTF-8: no overlong forms, surrogates or
    // code points past U+10FFFF), where our own validator followed by `String(decoding:)` read the bytes twice.
    String(validating: bytes, as: UTF8.self)
}

