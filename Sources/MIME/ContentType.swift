/// A parsed structured header such as Content-Type or Content-Disposition:
/// a lowercased main value plus parameters (RFC 2045 / RFC 2231).
struct HeaderParameters {
    /// Lowercased main token, e.g. `multipart/mixed` or `attachment`.
    var value: String
    /// Raw (undecoded) bytes of plain `name=value` parameters; keys lowercased.
    var raw: [String: [UInt8]] = [:]
    /// RFC 2231 extended parameters, already percent-decoded and charset-decoded.
    var extended: [String: String] = [:]

    /// Decoded parameter value: RFC 2231 form first, else the plain value with RFC 2047
    /// encoded words decoded (many clients encode filenames that way).
    func param(_ key: String, fallbackCharset: String? = nil, defects: inout [String]) -> String? {
        if let e = extended[key] { return e }
        guard let r = raw[key] else { return nil }
        return EncodedWord.decode(r[...], fallbackCharset: fallbackCharset, defects: &defects)
    }

    /// Found by byte: every part asks for its type and subtype, and searching the string by `Character` (grapheme
    /// breaking) cost a twentieth of parsing.
    var type: String {
        guard let slash = value.utf8.firstIndex(of: UInt8(ascii: "/")) else { return value }
        return String(value[..<slash])
    }

    var subtype: String {
        guard let slash = value.utf8.firstIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(value[value.utf8.index(after: slash)...])
    }

    static func parse(_ bytes: [UInt8], defects: inout [String]) -> HeaderParameters {
        let n = bytes.count
        var i = 0
        // Main value: up to ';', whitespace and comments removed. Byte buffers get their room at once: grown a byte
        // at a time they were reallocated four or five times each, for every part of every message.
        var main = [UInt8]()
        main.reserveCapacity(min(n, 64))
        while i < n && bytes[i] != 0x3B {
            let c = bytes[i]
            if c == 0x28 {  // comment
                i = skipComment(bytes, from: i)
                continue
            }
            if !isSpaceOrNewline(c) && c != 0x22 { main.append(asciiLower(c)) }
            i += 1
        }
        var result = HeaderParameters(value: String(decoding: main, as: UTF8.self))
        var sections: [String: [(index: Int, encoded: Bool, bytes: [UInt8])]] = [:]

        while i < n {
            // Skip separators.
            while i < n && (bytes[i] == 0x3B || isSpaceOrNewline(bytes[i])) { i += 1 }
            guard i < n else { break }
            let nameStart = i
            while i < n && bytes[i] != 0x3D && bytes[i] != 0x3B { i += 1 }
            guard i < n, bytes[i] == 0x3D else { continue }  // parameter without '=' -> skip
            let name = lowercasedASCIIString(trimBytes(bytes[nameStart..<i]))
            i += 1
            while i < n && isWSP(bytes[i]) { i += 1 }
            var value = [UInt8]()
            if i < n && bytes[i] == 0x22 {
                i += 1
                value.reserveCapacity(min(n - i, 256))
                while i < n && bytes[i] != 0x22 {
                    if bytes[i] == 0x5C && i + 1 < n { i += 1 }
                    value.append(bytes[i])
                    i += 1
                }
                if i < n { i += 1 } else { defects.append("unterminated quoted parameter value for \"\(name)\"") }
                while i < n && bytes[i] != 0x3B { i += 1 }
            } else {
                let vStart = i
                while i < n && bytes[i] != 0x3B { i += 1 }
                value = Array(trimBytes(bytes[vStart..<i]))
            }
            guard !name.isEmpty else { continue }
            if let star = name.firstIndex(of: "*") {
                // RFC 2231: name*  |  name*N  |  name*N*
                let base = String(name[..<star])
                let rest = name[name.index(after: star)...]
                if rest.isEmpty {
                    sections[base, default: []].append((0, true, value))
                } else {
                    let encoded = rest.hasSuffix("*")
                    let digits = encoded ? rest.dropLast() : rest
                    guard let idx = Int(digits), idx >= 0, idx < 10_000 else { continue }
                    sections[base, default: []].append((idx, encoded, value))
                }
            } else if result.raw[name] == nil {
                result.raw[name] = value
            }
        }

        for (base, var parts) in sections {
            parts.sort { $0.index < $1.index }
            var charset: String? = nil
            var combined = [UInt8]()
            for (k, part) in parts.enumerated() {
                var v = part.bytes[...]
                if part.encoded {
                    if k == 0, let q1 = v.firstIndex(of: 0x27), let q2 = v[(q1 + 1)...].firstIndex(of: 0x27) {
                        let cs = String(decoding: v[v.startIndex..<q1], as: UTF8.self)
                        charset = cs.isEmpty ? nil : cs
                        v = v[(q2 + 1)...]
                    }
                    combined.append(contentsOf: percentDecode(v))
                } else {
                    combined.append(contentsOf: v)
                }
            }
            let r = Charset.decodeReporting(combined, charset: charset)
            if let d = r.defect { defects.append("parameter \(base): " + d) }
            result.extended[base] = r.text
        }
        return result
    }

    private static func percentDecode(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == 0x25, i + 2 < s.endIndex, let h = hexValue(s[i + 1]), let l = hexValue(s[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }

    static func skipComment(_ bytes: [UInt8], from: Int) -> Int {
        var depth = 0
        var i = from
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x5C { i += 2; continue }
            if c == 0x28 { depth += 1 } else if c == 0x29 {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return bytes.count
    }
}
