import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The encodings real mail uses, written out by hand so that every byte of the corpus is decided here
/// and not by a library's formatting choices.
enum MailEncoding {
    /// Base64 in lines of 76 characters, each ending in LF, as MIME bodies carry it.
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let text = Data(bytes).base64EncodedString()
        var out = ""
        out.reserveCapacity(text.count + text.count / 76 + 1)
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: 76, limitedBy: text.endIndex) ?? text.endIndex
            out += text[index..<end]
            out += "\n"
            index = end
        }
        return out
    }

    /// Quoted-printable (RFC 2045 §6.7) of text whose lines end in LF, with soft breaks before column 76.
    static func quotedPrintable(_ bytes: [UInt8]) -> String {
        var out = ""
        var line = ""
        func flushSoft() {
            out += line + "=\n"
            line = ""
        }
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (number, raw) in lines.enumerated() {
            let chars = Array(raw)
            for (offset, byte) in chars.enumerated() {
                let last = offset == chars.count - 1
                let piece: String
                switch byte {
                case 0x3D: piece = "=3D"
                case 0x20, 0x09: piece = last ? String(format: "=%02X", byte) : String(UnicodeScalar(byte))
                case 33...126: piece = String(UnicodeScalar(byte))
                default: piece = String(format: "=%02X", byte)
                }
                if line.utf8.count + piece.utf8.count > 75 { flushSoft() }
                line += piece
            }
            if number < lines.count - 1 {
                out += line + "\n"
                line = ""
            }
        }
        return out + line
    }

    /// RFC 2047 encoded words for `text`, split between characters so that none exceeds 75 characters.
    static func encodedWords(_ text: String, charset: MailCharset, base64: Bool) -> [String] {
        let prefix = "=?\(charset.label)?\(base64 ? "B" : "Q")?"
        let room = 75 - prefix.count - 2
        func render(_ s: String) -> String {
            let bytes = charset.encode(s) ?? Array(s.utf8)
            return base64 ? Data(bytes).base64EncodedString() : qWord(bytes)
        }
        var words: [String] = []
        var current = ""
        for character in text {
            if !current.isEmpty && render(current + String(character)).count > room {
                words.append(prefix + render(current) + "?=")
                current = String(character)
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(prefix + render(current) + "?=") }
        return words
    }

    private static func qWord(_ bytes: [UInt8]) -> String {
        var out = ""
        for byte in bytes {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x21, 0x2A, 0x2B, 0x2D, 0x2F: out.append(Character(UnicodeScalar(byte)))
            case 0x20: out += "_"
            default: out += String(format: "=%02X", byte)
            }
        }
        return out
    }

    /// `Name: value` folded at spaces before column 78.
    static func fold(_ name: String, _ value: String) -> String {
        header(name, words: value.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
    }

    /// Already encoded words joined into one header, one continuation line each when they do not fit.
    static func header(_ name: String, words: [String]) -> String {
        var lines: [String] = []
        var line = name + ":"
        for word in words {
            if line.count + 1 + word.count > 78 && line.count > name.count + 1 {
                lines.append(line)
                line = " " + word
            } else {
                line += " " + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// A display name and address, the name quoted or encoded as a mail client would.
    static func address(name: String, email: String, base64: Bool) -> String {
        if name.unicodeScalars.allSatisfy(\.isASCII) {
            return name.contains(where: { ",.()".contains($0) }) ? "\"\(name)\" <\(email)>" : "\(name) <\(email)>"
        }
        return encodedWords(name, charset: .utf8, base64: base64).joined(separator: " ") + " <\(email)>"
    }

    /// RFC 5322 date of `seconds` after 1970 in the zone `offsetMinutes` east of UTC, computed without
    /// locale or time-zone databases.
    static func date(seconds: Int, offsetMinutes: Int) -> String {
        let local = seconds + offsetMinutes * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = local - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let sign = offsetMinutes < 0 ? "-" : "+"
        let offset = abs(offsetMinutes)
        return String(format: "%@, %02d %@ %04d %02d:%02d:%02d %@%02d%02d", weekday, day, months[month - 1], year,
                      secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60, sign, offset / 60, offset % 60)
    }
}

/// The character sets the corpus writes text in.
enum MailCharset: Sendable {
    case utf8, latin1, shiftJIS, iso2022JP

    var label: String {
        switch self {
        case .utf8: "UTF-8"
        case .latin1: "ISO-8859-1"
        case .shiftJIS: "Shift_JIS"
        case .iso2022JP: "ISO-2022-JP"
        }
    }

    /// The text's bytes in this charset, or nil when it has characters the charset lacks.
    func encode(_ text: String) -> [UInt8]? {
        switch self {
        case .utf8: return Array(text.utf8)
        case .latin1:
            let scalars = text.unicodeScalars
            guard scalars.allSatisfy({ $0.value < 256 }) else { return nil }
            return scalars.map { UInt8($0.value) }
        case .shiftJIS: return Self.iconv(text, to: "SHIFT_JIS")
        case .iso2022JP: return Self.iconv(text, to: "ISO-2022-JP")
        }
    }

    private static func iconv(_ text: String, to name: String) -> [UInt8]? {
        let cd = iconv_open(name, "UTF-8")
        guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(cd) }
        var input = Array(text.utf8).map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: input.count * 4 + 16)
        let inputCount = input.count
        let outputCount = output.count
        return input.withUnsafeMutableBufferPointer { inBuffer -> [UInt8]? in
            output.withUnsafeMutableBufferPointer { outBuffer -> [UInt8]? in
                var inPointer: UnsafeMutablePointer<CChar>? = inBuffer.baseAddress
                var outPointer: UnsafeMutablePointer<CChar>? = outBuffer.baseAddress
                var inLeft = inputCount
                var outLeft = outputCount
                guard Glibc.iconv(cd, &inPointer, &inLeft, &outPointer, &outLeft) != -1,
                      Glibc.iconv(cd, nil, nil, &outPointer, &outLeft) != -1 else { return nil }
                return outBuffer.prefix(outputCount - outLeft).map { UInt8(bitPattern: $0) }
            }
        }
    }
}
