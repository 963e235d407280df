import CByteScan

/// Lenient base64 decoder: skips whitespace and invalid characters, tolerates missing or
/// premature padding (concatenated chunks), and reports a defect instead of failing,
/// because real-world attachments are frequently slightly broken.
enum Base64Decoder {
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        // URL-safe variants are accepted too.
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        t[Int(UInt8(ascii: "="))] = 0xFE
        for c in [0x20, 0x09, 0x0D, 0x0A, 0x0B, 0x0C] { t[c] = 0xFD }
        return t
    }()

    /// Pre-shifted tables (modp_b64 style): OR-ing four lookups yields the 24-bit group,
    /// with bit 31 set if any character was not in the alphabet.
    static let shifted: [[UInt32]] = (0..<4).map { k in
        table.map { v in v < 64 ? UInt32(v) << UInt32(18 - 6 * k) : 0x8000_0000 }
    }

    /// Decodes `bytes[range]`; `defect` describes problems (nil when the input was clean).
    static func decode(_ bytes: [UInt8], range: Range<Int>? = nil) -> (data: [UInt8], defect: String?) {
        let r = range ?? 0..<bytes.count
        if r.isEmpty { return ([], nil) }
        var invalidCount = 0
        var danglingBits = false
        var missingPadding = false
        let capacity = (r.count / 4) * 3 + 3
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { outBuf, initialized in
            var o = 0
            let s0 = shifted[0], s1 = shifted[1], s2 = shifted[2], s3 = shifted[3]
            s0.withUnsafeBufferPointer { t0 in s1.withUnsafeBufferPointer { t1 in s2.withUnsafeBufferPointer { t2 in s3.withUnsafeBufferPointer { t3 in
            table.withUnsafeBufferPointer { t in
                bytes.withUnsafeBufferPointer { inBuf in
                    var acc: UInt32 = 0
                    var n = 0
                    var sawPadding = false
                    var i = r.lowerBound
                    let end = r.upperBound
                    while i < end {
                        // Fast path: four valid characters in a row.
                        if n == 0 {
                            var progressed = false
                            while i + 4 <= end {
                                let v = t0[Int(inBuf[i])] | t1[Int(inBuf[i + 1])] | t2[Int(inBuf[i + 2])] | t3[Int(inBuf[i + 3])]
                                if v & 0x8000_0000 != 0 { break }
                                outBuf[o] = UInt8(truncatingIfNeeded: v >> 16)
                                outBuf[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                                outBuf[o + 2] = UInt8(truncatingIfNeeded: v)
                                o += 3
                                i += 4
                                progressed = true
                            }
                            if progressed { continue }
                        }
                        let v = t[Int(inBuf[i])]
                        i += 1
                        if v < 64 {
                            if sawPadding && n == 0 { sawPadding = false }
                            acc = acc << 6 | UInt32(v)
                            n += 1
                            if n == 4 {
                                outBuf[o] = UInt8(truncatingIfNeeded: acc >> 16)
                                outBuf[o + 1] = UInt8(truncatingIfNeeded: acc >> 8)
                                outBuf[o + 2] = UInt8(truncatingIfNeeded: acc)
                                o += 3
                                n = 0
                                acc = 0
                            }
                        } else if v == 0xFD {
                            continue
                        } else if v == 0xFE {
                            // Padding: flush a partial quantum; later data may follow (concatenation).
                            flush(&acc, &n, outBuf, &o, &danglingBits)
                            sawPadding = true
                        } else {
                            invalidCount += 1
                        }
                    }
                    if n > 0 {
                        missingPadding = true
                        flush(&acc, &n, outBuf, &o, &danglingBits)
                    }
                }
            }
            } } } }
            initialized = o
        }
        var notes: [String] = []
        if invalidCount > 0 { notes.append("\(invalidCount) invalid base64 character(s) skipped") }
        if danglingBits { notes.append("base64 data ends with an incomplete quantum") }
        if missingPadding { notes.append("base64 padding missing") }
        return (out, notes.isEmpty ? nil : "bad base64: " + notes.joined(separator: ", "))
    }

    /// Per byte, its class for the bytes after the last block of sixteen: 1 for an alphabet character, 1 << 21 for
    /// `=`, 0 for whitespace and 1 << 42 for anything else.
    static let classWeights: [UInt64] = table.map { v in v < 64 ? 1 : v == 0xFE ? 1 << 21 : v == 0xFD ? 0 : 1 << 42 }

    /// The number of bytes `decode` would return for `bytes[range]`, when it would report no defect and the
    /// encoding is plain: alphabet characters and whitespace, then at most two `=` that complete the last
    /// quantum. Nil for anything else (stray characters, missing or early padding), which only decoding can
    /// describe. Counts without decoding or allocating.
    /// - Parameter wide: whether the AVX2 kernel (`CByteScan`) may take whole 32-byte blocks first; tests turn it off
    ///   to check the sixteen-byte loop alone, which is all a CPU without AVX2 runs.
    static func cleanDecodedCount(_ bytes: [UInt8], range: Range<Int>, wide: Bool = true) -> Int? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        var alphabet = 0, padding = 0, other = 0
        bytes.withUnsafeBytes { buffer in
            var start = range.lowerBound
            // Thirty-two bytes at a time with AVX2 (a nibble-table lookup classifies each byte in a few instructions),
            // when the CPU has it: about four times the speed of the sixteen-byte loop below, which then does the rest.
            if wide, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) {
                var pads = 0, spaces = 0
                var stray: Int32 = 0
                let done = mailroom_base64_classify(base + start, range.count, &pads, &spaces, &stray)
                guard stray == 0 else {
                    other = 1
                    return
                }
                alphabet += done - pads - spaces
                padding += pads
                start += done
            }
            // Sixteen bytes at a time (SSE2 on every x86-64, NEON on ARM): about twice the speed of a table lookup per byte.
            // SIMD16 is the widest type whose comparisons compile to vector instructions here; the masks are read
            // through their storage, whose lanes are 0 or -1, because the generic mask operations are not.
            typealias Bytes = SIMD16<UInt8>
            typealias Lanes = SIMD16<Int8>
            while range.upperBound - start >= 16 {
                // At most 127 blocks per pass, so no lane of the counters overflows.
                let stop = start + min((range.upperBound - start) / 16, 127) * 16
                var letters = Lanes(repeating: 0), pads = Lanes(repeating: 0), strays = Lanes(repeating: 0)
                while start < stop {
                    let v = buffer.loadUnaligned(fromByteOffset: start, as: Bytes.self)
                    let letter = (((v | Bytes(repeating: 0x20)) &- Bytes(repeating: 0x61)) .< Bytes(repeating: 26))._storage
                    let digit = ((v &- Bytes(repeating: 0x30)) .< Bytes(repeating: 10))._storage
                    let symbol = (v .== Bytes(repeating: 0x2B))._storage | (v .== Bytes(repeating: 0x2F))._storage
                        | (v .== Bytes(repeating: 0x2D))._storage | (v .== Bytes(repeating: 0x5F))._storage
                    let space = ((v &- Bytes(repeating: 0x09)) .< Bytes(repeating: 5))._storage | (v .== Bytes(repeating: 0x20))._storage
                    let pad = (v .== Bytes(repeating: 0x3D))._storage
                    let inAlphabet = letter | digit | symbol
                    letters &-= inAlphabet
                    pads &-= pad
                    strays |= ~(inAlphabet | space | pad)
                    start += 16
                }
                for lane in 0..<16 {
                    alphabet += Int(letters[lane])
                    padding += Int(pads[lane])
                    other |= Int(strays[lane])
                }
            }
            for i in start..<range.upperBound {
                let weight = classWeights[Int(buffer[i])]
                alphabet += Int(weight & 1)
                padding += Int(weight >> 21 & 1)
                other |= Int(weight >> 42)
            }
        }
        guard other == 0, padding <= 2, (alphabet + padding) % 4 == 0 else { return nil }
        // Every `=` must come after the last alphabet character.
        var seen = 0
        var i = range.upperBound
        while seen < padding, i > range.lowerBound {
            i -= 1
            let b = bytes[i]
            if b == 0x3D { seen += 1 } else if !(b == 0x20 || b &- 0x09 < 5) { return nil }
        }
        return (alphabet + padding) / 4 * 3 - padding
    }

    @inline(__always)
    private static func flush(_ acc: inout UInt32, _ n: inout Int, _ out: UnsafeMutableBufferPointer<UInt8>, _ o: inout Int, _ dangling: inout Bool) {
        switch n {
        case 2:
            out[o] = UInt8(truncatingIfNeeded: acc >> 4)
            o += 1
        case 3:
            out[o] = UInt8(truncatingIfNeeded: acc >> 10)
            out[o + 1] = UInt8(truncatingIfNeeded: acc >> 2)
            o += 2
        case 1:
            dangling = true
        default:
            break
        }
        acc = 0
        n = 0
    }
}
