/// Quoted-printable decoding (RFC 2045) and the RFC 2047 "Q" variant.
///
/// Lenient: malformed `=` escapes are kept literally (and reported), soft line breaks
/// with trailing whitespace are accepted, and transport-added trailing whitespace is removed.
enum QuotedPrintable {
    /// `wide` false copies plain bytes one at a time, as before runs were copied whole; tests compare the two.
    static func decode(_ bytes: [UInt8], range: Range<Int>? = nil, wide: Bool = true) -> (data: [UInt8], defect: String?) {
        let r = (range ?? 0..<bytes.count).clamped(to: 0..<bytes.count)
        var bad = 0
        // Into a buffer of the input's size, which no output exceeds (each input byte gives at most one), written
        // through a pointer: this runs over every quoted-printable body.
        let data = bytes.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: r.count) { out, count in
                var o = 0
                var i = r.lowerBound
                let end = r.upperBound
                var lineStartOut = 0
                var protectedEnd = 0  // encoded whitespace (=20) must survive trailing-space stripping
                while i < end {
                    let c = source[i]
                    if wide, c != 0x3D, c != 0x0A, c != 0x0D, let from = source.baseAddress, let into = out.baseAddress {
                        // A run of plain bytes up to the next `=` or line ending, found sixteen at a time and
                        // copied at once: most of a body, even in a language that needs escapes.
                        let stop = nextSpecial(source, from: i + 1, end: end)
                        (into + o).initialize(from: from + i, count: stop - i)
                        o += stop - i
                        i = stop
                        continue
                    }
                    if c == 0x3D {  // '='
                        if i + 2 < end, let h = hexValue(source[i + 1]), let l = hexValue(source[i + 2]) {
                            out[o] = h << 4 | l
                            o += 1
                            i += 3
                            protectedEnd = o
                            continue
                        }
                        // Soft line break: '=' followed by optional whitespace and a line ending.
                        var j = i + 1
                        while j < end && isWSP(source[j]) { j += 1 }
                        if j >= end {
                            i = end
                            continue
                        }
                        if source[j] == 0x0A {
                            i = j + 1
                            continue
                        }
                        if source[j] == 0x0D {
                            i = j + 1
                            if i < end && source[i] == 0x0A { i += 1 }
                            continue
                        }
                        bad += 1
                        out[o] = c
                        o += 1
                        i += 1
                        continue
                    }
                    if c == 0x0A || c == 0x0D {
                        // Strip trailing whitespace added by transports.
                        while o > max(lineStartOut, protectedEnd), isWSP(out[o - 1]) { o -= 1 }
                        out[o] = c
                        o += 1
                        if c == 0x0D && i + 1 < end && source[i + 1] == 0x0A {
                            out[o] = 0x0A
                            o += 1
                            i += 1
                        }
                        i += 1
                        lineStartOut = o
                        continue
                    }
                    out[o] = c
                    o += 1
                    i += 1
                }
                count = o
            }
        }
        return (data, bad > 0 ? "bad quoted-printable: \(bad) malformed escape(s)" : nil)
    }

    /// The first `=`, CR or LF in `from ..< end`, or `end`.
    private static func nextSpecial(_ source: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        typealias Bytes = SIMD16<UInt8>
        return firstMatch(in: UnsafeRawBufferPointer(source), from: from, end: end) { v in
            (v .== Bytes(repeating: 0x3D))._storage | (v .== Bytes(repeating: 0x0A))._storage | (v .== Bytes(repeating: 0x0D))._storage
        } matches: { byte in
            byte == 0x3D || byte == 0x0A || byte == 0x0D
        }
    }

    /// RFC 2047 Q decoding: like quoted-printable, plus `_` means space.
    static func decodeQ(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let c = bytes[i]
            if c == 0x5F {
                out.append(0x20)
            } else if c == 0x3D, i + 2 < end, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
                continue
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }
}
