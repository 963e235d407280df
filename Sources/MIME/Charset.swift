import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Converts bytes in a MIME charset to `String`.
///
/// Fast paths handle ASCII, UTF-8, Latin-1 and Windows-1252 (the bulk of real mail)
/// without any system calls; everything else goes through iconv, which knows the
/// CJK and legacy code pages Foundation lacks on Linux. Never fails: unknown labels or
/// undecodable bytes fall back to UTF-8 (if valid) or Windows-1252 with `exact == false`.
public enum Charset {
    /// Decodes `bytes` labelled with `charset` (MIME name or common alias; `nil` = undeclared).
    /// `exact` is false when a fallback or replacement characters were needed.
    public static func decode(_ bytes: [UInt8], charset: String?) -> (text: String, exact: Bool) {
        let r = decodeReporting(bytes, charset: charset)
        return (r.text, r.exact)
    }

    /// Like `decode`, plus a human-readable defect when something went wrong.
    static func decodeReporting(_ bytes: [UInt8], charset: String?) -> (text: String, exact: Bool, defect: String?) {
        let kind = charset.map(classify) ?? .undeclared
        switch kind {
        case .undeclared:
            if isAllASCII(bytes) { return (asciiString(bytes), true, nil) }
            return (fallbackDecode(bytes), false, nil)
        case .ascii:
            if isAllASCII(bytes) { return (asciiString(bytes), true, nil) }
            return (fallbackDecode(bytes), false, nil)
        case .utf8:
            if let s = validUTF8String(bytes) { return (s, true, nil) }
            return (repairUTF8(bytes), false, "invalid UTF-8 bytes in text declared as \(charset ?? "utf-8")")
        case .windows1252:
            return (decodeWindows1252(bytes), true, nil)
        case .iconv(let name, let asciiCompatible):
            if asciiCompatible && isAllASCII(bytes) && !bytes.contains(0x1B) {
                return (asciiString(bytes), true, nil)
            }
            if let (s, ok) = IconvConverter.decode(bytes, from: name) {
                return (s, ok, ok ? nil : "undecodable bytes for charset \"\(charset ?? name)\"")
            }
            return (fallbackDecode(bytes), false, "unsupported charset \"\(charset ?? name)\"")
        case .unknown:
            return (fallbackDecode(bytes), isAllASCII(bytes), "unknown charset \"\(charset ?? "")\"")
        }
    }

    /// Decoding used when nothing reliable is known: UTF-8 if valid, else Windows-1252.
    static func fallbackDecode(_ bytes: [UInt8]) -> String {
        if let s = validUTF8String(bytes) { return s }
        return decodeWindows1252(bytes)
    }

    /// True if the charset label is something we can decode exactly.
    static func isKnown(_ charset: String) -> Bool {
        switch classify(charset) {
        case .unknown: return false
        case .iconv(let name, _): return IconvConverter.isSupported(name)
        default: return true
        }
    }

    enum Kind: Equatable {
        case undeclared, ascii, utf8, windows1252, unknown
        case iconv(String, asciiCompatible: Bool)
    }

    static func classify(_ raw: String) -> Kind {
        var lowered = [UInt8]()
        lowered.reserveCapacity(raw.utf8.count)
        for c in raw.utf8 where !(isSpaceOrNewline(c) || c == 0x22 || c == 0x27) { lowered.append(asciiLower(c)) }
        var name = String(decoding: lowered, as: UTF8.self)
        if name.hasPrefix("x-") && name != "x-sjis" && name != "x-euc-jp" && name != "x-gbk" && name != "x-euc" {
            let stripped = String(name.dropFirst(2))
            if stripped.hasPrefix("cp") || stripped.hasPrefix("windows") || stripped.hasPrefix("mac") || stripped.hasPrefix("user") {
                name = stripped
            }
        }
        switch name {
        case "utf-8", "utf8", "unicode-1-1-utf-8", "unicode20utf8", "utf_8":
            return .utf8
        case "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "iso-646-us", "cp367", "ibm367", "csascii", "7bit", "8bit", "iso-ir-6":
            return .ascii
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "iso8859_1", "iso_8859-1:1987", "latin1", "latin-1", "l1", "cp819", "ibm819",
             "iso-ir-100", "csisolatin1", "windows-1252", "cp1252", "win-1252", "ansi", "ms-ansi", "iso-8859-1-i", "8859-1":
            return .windows1252
        case "shift_jis", "shift-jis", "shiftjis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "cp932", "windows-31j", "ms932", "ms-cp932":
            return .iconv("CP932", asciiCompatible: true)
        case "euc-jp", "eucjp", "x-euc-jp", "x-euc", "cseucpkdfmtjapanese", "ujis":
            return .iconv("EUC-JP-MS", asciiCompatible: true)
        case "iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "csiso2022jp2", "jis", "iso2022jp":
            return .iconv("ISO-2022-JP-2", asciiCompatible: true)
        case "gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "euccn", "csgb2312", "gb_2312-80", "gb_2312", "chinese", "ms936",
             "windows-936", "gb18030", "csgbk", "iso-ir-58":
            return .iconv("GB18030", asciiCompatible: true)
        case "big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "cp950", "big5-cp950", "windows-950":
            return .iconv("CP950", asciiCompatible: true)
        case "big5-hkscs", "big5hkscs":
            return .iconv("BIG5-HKSCS", asciiCompatible: true)
        case "euc-kr", "euckr", "ks_c_5601-1987", "ks_c_5601-1989", "ks_c_5601", "ksc5601", "ksc_5601", "cp949", "uhc",
             "windows-949", "korean", "csksc56011987", "iso-ir-149", "cseuckr":
            return .iconv("CP949", asciiCompatible: true)
        case "iso-2022-kr", "csiso2022kr":
            return .iconv("ISO-2022-KR", asciiCompatible: true)
        case "koi8-r", "koi8r", "cskoi8r", "koi8":
            return .iconv("KOI8-R", asciiCompatible: true)
        case "koi8-u", "koi8u":
            return .iconv("KOI8-U", asciiCompatible: true)
        case "koi8-ru":
            return .iconv("KOI8-RU", asciiCompatible: true)
        case "utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7":
            return .iconv("UTF-7", asciiCompatible: false)
        case "utf-16", "utf16", "ucs-2", "unicode":
            return .iconv("UTF-16", asciiCompatible: false)
        case "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be":
            return .iconv(name.uppercased(), asciiCompatible: false)
        case "tis-620", "windows-874", "cp874", "iso-8859-11", "tis620":
            return .iconv("CP874", asciiCompatible: true)
        case "unknown-8bit", "unknown", "default", "x-unknown", "charset", "":
            return .unknown
        default:
            break
        }
        if let n = iso8859Number(name) {
            return n == 1 ? .windows1252 : .iconv("ISO-8859-\(n)", asciiCompatible: true)
        }
        if name.hasPrefix("latin"), let n = Int(name.dropFirst(5).filter { $0 != "-" }) {
            let map = [2: 2, 3: 3, 4: 4, 5: 9, 6: 10, 7: 13, 8: 14, 9: 15, 10: 16]
            if let iso = map[n] { return .iconv("ISO-8859-\(iso)", asciiCompatible: true) }
        }
        for prefix in ["windows-", "cp", "win-", "win", "ms-"] where name.hasPrefix(prefix) {
            if let n = Int(name.dropFirst(prefix.count)), (1250...1258).contains(n) {
                return n == 1252 ? .windows1252 : .iconv("CP\(n)", asciiCompatible: true)
            }
        }
        // Anything else that looks like a charset name: let iconv try it.
        if name.utf8.count <= 40, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || $0 == 0x3A }),
           name.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) {
            // Not known to be ASCII-compatible: always ask iconv, so unsupported names are reported.
            return .iconv(name.uppercased(), asciiCompatible: false)
        }
        return .unknown
    }

    private static func iso8859Number(_ name: String) -> Int? {
        var s = Substring(name)
        guard s.hasPrefix("iso") || s.hasPrefix("8859") else { return nil }
        if s.hasPrefix("iso") { s = s.dropFirst(3) }
        while let f = s.first, f == "-" || f == "_" || f == " " { s = s.dropFirst() }
        guard s.hasPrefix("8859") else { return nil }
        s = s.dropFirst(4)
        while let f = s.first, f == "-" || f == "_" { s = s.dropFirst() }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard let n = Int(digits), (1...16).contains(n), n != 12 else { return nil }
        return n
    }

    @inline(__always)
    static func asciiString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Mapping of 0x80...0x9F in Windows-1252 (undefined slots keep the C1 code point).
    static let cp1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// Windows-1252 (also used for ISO-8859-1, as browsers do) straight to UTF-8.
    static func decodeWindows1252(_ bytes: [UInt8]) -> String {
        if isAllASCII(bytes) { return asciiString(bytes) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 2)
        for b in bytes {
            if b < 0x80 {
                out.append(b)
            } else {
                let scalar: UInt32 = (b < 0xA0) ? UInt32(cp1252High[Int(b - 0x80)]) : UInt32(b)
                appendUTF8(scalar, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Invalid UTF-8: if most of the non-ASCII text is valid UTF-8, keep it and replace the
    /// broken bytes with U+FFFD; otherwise the label is probably wrong, so use Windows-1252.
    static func repairUTF8(_ bytes: [UInt8]) -> String {
        var valid = 0
        var invalid = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let len = utf8SequenceLength(bytes, at: i)
            if len > 0 { valid += 1; i += len } else { invalid += 1; i += 1 }
        }
        if valid > invalid { return String(decoding: bytes, as: UTF8.self) }
        return decodeWindows1252(bytes)
    }

    /// Length of a valid UTF-8 multi-byte sequence starting at `i`, or 0.
    static func utf8SequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
        let n = bytes.count
        let b = bytes[i]
        @inline(__always) func cont(_ k: Int) -> Bool { k < n && bytes[k] & 0xC0 == 0x80 }
        switch b {
        case 0xC2...0xDF: return cont(i + 1) ? 2 : 0
        case 0xE0:
            return (i + 1 < n && bytes[i + 1] >= 0xA0 && bytes[i + 1] <= 0xBF && cont(i + 2)) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return (cont(i + 1) && cont(i + 2)) ? 3 : 0
        case 0xED:
            return (i + 1 < n && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9F && cont(i + 2)) ? 3 : 0
        case 0xF0:
            return (i + 1 < n && bytes[i + 1] >= 0x90 && bytes[i + 1] <= 0xBF && cont(i + 2) && cont(i + 3)) ? 4 : 0
        case 0xF1...0xF3: return (cont(i + 1) && cont(i + 2) && cont(i + 3)) ? 4 : 0
        case 0xF4:
            return (i + 1 < n && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x8F && cont(i + 2) && cont(i + 3)) ? 4 : 0
        default: return 0
        }
    }
}

@inline(__always)
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    var v = scalar
    if v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { v = 0xFFFD }
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// Thread-safe iconv wrapper. Conversion descriptors are expensive to open and not
/// thread-safe to share, so idle ones are kept in a small lock-protected pool per charset.
enum IconvConverter {
    struct Handle: @unchecked Sendable {
        let cd: iconv_t
    }

    struct Pool: ~Copyable {
        var idle: [String: [Handle]] = [:]
        var unsupported: Set<String> = []
    }

    static let pool = Mutex(Pool())
    static let maxIdlePerCharset = 8

    static func isSupported(_ name: String) -> Bool {
        guard let h = acquire(name) else { return false }
        release(name, h)
        return true
    }

    private static func acquire(_ name: String) -> Handle? {
        let cached: Handle?? = pool.withLock { p -> Handle?? in
            if p.unsupported.contains(name) { return .some(nil) }
            if var list = p.idle[name], let h = list.popLast() {
                p.idle[name] = list
                return .some(h)
            }
            return .none
        }
        if let c = cached { return c }
        let cd = iconv_open("UTF-8", name)
        guard let cd, cd != iconv_t(bitPattern: -1) else {
            pool.withLock { p in _ = p.unsupported.insert(name) }
            return nil
        }
        return Handle(cd: cd)
    }

    private static func release(_ name: String, _ h: Handle) {
        let keep = pool.withLock { p -> Bool in
            var list = p.idle[name] ?? []
            guard list.count < maxIdlePerCharset else { return false }
            list.append(h)
            p.idle[name] = list
            return true
        }
        if !keep { iconv_close(h.cd) }
    }

    /// Returns nil if the charset is not supported by iconv.
    static func decode(_ bytes: [UInt8], from name: String) -> (String, Bool)? {
        guard let h = acquire(name) else { return nil }
        defer { release(name, h) }
        let cd = h.cd
        _ = iconv(cd, nil, nil, nil, nil)  // reset shift state
        if bytes.isEmpty { return ("", true) }
        var exact = true
        var result = [UInt8]()
        result.reserveCapacity(bytes.count * 2 + 16)
        let cap = min(max(bytes.count * 4 + 64, 256), 1 << 20)
        let outBuf = UnsafeMutablePointer<CChar>.allocate(capacity: cap)
        defer { outBuf.deallocate() }
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

        func drain(_ produced: Int) {
            if produced > 0 {
                outBuf.withMemoryRebound(to: UInt8.self, capacity: produced) { p in
                    result.append(contentsOf: UnsafeBufferPointer(start: p, count: produced))
                }
            }
        }

        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: CChar.self)
            var inLeft = buf.count
            var guardCounter = 0
            while inLeft > 0 {
                guardCounter += 1
                if guardCounter > buf.count * 4 + 1000 { exact = false; break }
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf
                var outLeft = cap
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                drain(cap - outLeft)
                if r != -1 { break }
                let err = errno
                if err == E2BIG { continue }
                if err == EILSEQ {
                    exact = false
                    result.append(contentsOf: replacement)
                    inPtr = inPtr.map { $0 + 1 }
                    inLeft -= 1
                    continue
                }
                // EINVAL (truncated sequence at the end) or anything else.
                exact = false
                result.append(contentsOf: replacement)
                break
            }
            var outPtr: UnsafeMutablePointer<CChar>? = outBuf
            var outLeft = cap
            _ = iconv(cd, nil, nil, &outPtr, &outLeft)
            drain(cap - outLeft)
        }
        return (String(decoding: result, as: UTF8.self), exact)
    }
}
