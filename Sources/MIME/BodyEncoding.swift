/// Base64 for MIME bodies (RFC 2045 §6.8): 76 characters per line, CRLF line breaks.
///
/// Works on unsafe buffers into a preallocated array, so a 10 MB attachment encodes in one pass
/// without per-byte bounds checks or reallocations, even in debug builds.
enum Base64Encoder {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes`; with `lineLength` (a multiple of 4) a CRLF follows every full line and the last one.
    static func encode(_ bytes: [UInt8], lineLength: Int? = 76) -> [UInt8] {
        let n = bytes.count
        guard n > 0 else { return [] }
        let encodedCount = (n + 2) / 3 * 4
        let perLine = lineLength.map { max(4, $0 / 4 * 4) }
        let lines = perLine.map { (encodedCount + $0 - 1) / $0 } ?? 0
        let total = encodedCount + lines * 2
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            alphabet.withUnsafeBufferPointer { table in
                bytes.withUnsafeBufferPointer { input in
                    var o = 0
                    var column = 0
                    var i = 0
                    @inline(__always) func put(_ c: UInt8) {
                        out[o] = c
                        o += 1
                        if let perLine {
                            column += 1
                            if column == perLine {
                                out[o] = 0x0D
                                out[o + 1] = 0x0A
                                o += 2
                                column = 0
                            }
                        }
                    }
                    while i + 3 <= n {
                        let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                        put(table[Int(v >> 18 & 0x3F)])
                        put(table[Int(v >> 12 & 0x3F)])
                        put(table[Int(v >> 6 & 0x3F)])
                        put(table[Int(v & 0x3F)])
                        i += 3
                    }
                    let rest = n - i
                    if rest > 0 {
                        let v = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                        put(table[Int(v >> 18 & 0x3F)])
                        put(table[Int(v >> 12 & 0x3F)])
                        put(rest == 2 ? table[Int(v >> 6 & 0x3F)] : 0x3D)
                        put(0x3D)
                    }
                    if perLine != nil && column > 0 {
                        out[o] = 0x0D
                        out[o + 1] = 0x0A
                        o += 2
                    }
                    initialized = o
                }
            }
        }
    }
}

/// Quoted-printable for text bodies (RFC 2045 §6.7) over text whose line breaks are already CRLF.
///
/// Lines stay within 76 characters (soft breaks `=`), `=`, controls and 8-bit bytes become `=XX`,
/// whitespace before a line break is encoded so transports cannot strip it, and a line starting with
/// `From ` or `.` is escaped so mbox and SMTP quirks cannot alter it. The output never contains `=_`,
/// which is what keeps our `=_` boundaries collision-free.
enum QuotedPrintableEncoder {
    static func encode(_ text: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.count + text.count / 8 + 16)
        var column = 0
        let n = text.count
        var i = 0
        let hex = HeaderEncoding.hexDigits

        @inline(__always) func emit(_ piece: [UInt8], _ out: inout [UInt8]) {
            // Keep room for a trailing soft-break '=' on every line: at most 75 characters before it.
            if column + piece.count > 75 {
                out.append(contentsOf: [0x3D, 0x0D, 0x0A])
                column = 0
            }
            out.append(contentsOf: piece)
            column += piece.count
        }

        while i < n {
            let c = text[i]
            if c == 0x0D && i + 1 < n && text[i + 1] == 0x0A {
                out.append(contentsOf: [0x0D, 0x0A])
                column = 0
                i += 2
                continue
            }
            let atLineEnd = i + 1 == n || (text[i + 1] == 0x0D && i + 2 < n && text[i + 2] == 0x0A)
            let atLineStart = column == 0 || column + 1 > 75  // where the byte lands in the output
            var literal = (c >= 0x21 && c <= 0x7E && c != 0x3D) || ((c == 0x20 || c == 0x09) && !atLineEnd)
            if atLineStart && c == 0x2E { literal = false }  // '.' alone on a line would end SMTP DATA
            if atLineStart && c == 0x46, i + 4 < n, text[(i + 1)...(i + 4)].elementsEqual("rom ".utf8) { literal = false }
            if literal {
                emit([c], &out)
            } else {
                emit([0x3D, hex[Int(c >> 4)], hex[Int(c & 0x0F)]], &out)
            }
            i += 1
        }
        return out
    }
}
