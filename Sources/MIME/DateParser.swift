import Foundation

/// Lenient RFC 5322 date parser.
///
/// Real Date headers are messy: obsolete zone names, two-digit years, missing seconds or
/// weekday, trailing comments like "(UTC)", asctime order, even ISO 8601. Tokens are
/// classified by shape rather than position, so all of those work; anything without a
/// recognisable day, month and year yields nil. No Calendar/DateFormatter in the hot path.
public enum DateParser {
    public static func parse(_ s: String) -> Date? {
        parse(bytes: Array(s.utf8))
    }

    /// The header value's bytes: the form RFC 5322 prescribes, which nearly all mail uses, is read in one pass
    /// without allocating (``strict(_:)``); anything else goes to the lenient reader, which decides alone.
    static func parse(bytes: [UInt8]) -> Date? {
        if let date = bytes.withUnsafeBufferPointer({ strict($0) }) { return date }
        return lenient(bytes)
    }

    /// `[Www,] D[D] Mon YYYY HH:MM[:SS] ±HHMM|GMT|UT|UTC [(comment)]`, with spaces or tabs between the parts. Nil for
    /// anything else, or for a value out of range, which the lenient reader then judges: so this path only ever
    /// returns what ``lenient(_:)`` returns for the same bytes (`DateParserTests` holds it to that).
    static func strict(_ b: UnsafeBufferPointer<UInt8>) -> Date? {
        var i = 0
        let n = b.count
        func spaces() -> Bool {
            let start = i
            while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            return i > start
        }
        func digits(_ count: Int) -> Int? {
            guard n - i >= count else { return nil }
            var v = 0
            for k in i..<(i + count) {
                let d = b[k] &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            i += count
            return v
        }
        /// Three ASCII letters, lowercased, as one number (no allocation).
        func word() -> UInt32? {
            guard n - i >= 3 else { return nil }
            var v: UInt32 = 0
            for k in i..<(i + 3) {
                let c = b[k] | 0x20
                guard c >= 0x61, c <= 0x7A else { return nil }
                v = v << 8 | UInt32(c)
            }
            i += 3
            return v
        }
        _ = spaces()
        // An optional day of the week, which the date does not depend on.
        if i < n, b[i] | 0x20 >= 0x61, b[i] | 0x20 <= 0x7A {
            guard let day = word(), weekdays.contains(day), i < n, b[i] == 0x2C else { return nil }
            i += 1
            _ = spaces()
        }
        var dayDigits = 0
        while i + dayDigits < n, dayDigits < 3, b[i + dayDigits] &- 0x30 < 10 { dayDigits += 1 }
        guard dayDigits == 1 || dayDigits == 2, let day = digits(dayDigits), spaces(),
              let name = word(), let month = months3.firstIndex(of: name).map({ $0 + 1 }), spaces(),
              let year = digits(4), spaces(),
              let hour = digits(2), i < n, b[i] == 0x3A else { return nil }
        i += 1
        guard let minute = digits(2) else { return nil }
        var second = 0
        if i < n, b[i] == 0x3A {
            i += 1
            guard let s = digits(2) else { return nil }
            second = s
        }
        guard spaces(), i < n else { return nil }
        let zone: Int
        if b[i] == 0x2B || b[i] == 0x2D {
            let negative = b[i] == 0x2D
            i += 1
            guard let v = digits(4), v / 100 <= 14, v % 100 < 60 else { return nil }
            zone = (negative ? -1 : 1) * (v / 100 * 60 + v % 100) * 60
        } else {
            var letters: UInt32 = 0, count = 0
            while i < n, count < 4, b[i] | 0x20 >= 0x61, b[i] | 0x20 <= 0x7A { letters = letters << 8 | UInt32(b[i] | 0x20); i += 1; count += 1 }
            // gmt, ut, utc: the names the lenient reader also reads as UTC.
            guard letters == 0x67_6D_74 || letters == 0x75_74 || letters == 0x75_74_63 else { return nil }
            zone = 0
        }
        // Trailing spaces and one comment without nested parentheses, such as «(UTC)».
        _ = spaces()
        if i < n, b[i] == 0x28 {
            i += 1
            while i < n, b[i] != 0x29 { guard b[i] != 0x28 else { return nil }; i += 1 }
            guard i < n else { return nil }
            i += 1
            _ = spaces()
        }
        guard i == n, (1000...9999).contains(year), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60,
              day <= daysInMonth(year, month) else { return nil }
        let secs = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + min(second, 59) - zone
        return Date(timeIntervalSince1970: TimeInterval(secs))
    }

    private static let weekdays: [UInt32] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(packed)
    private static let months3: [UInt32] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map(packed)
    private static func packed(_ s: String) -> UInt32 { s.utf8.reduce(0) { $0 << 8 | UInt32($1) } }

    /// Tokens classified by shape, for every form ``strict(_:)`` does not read.
    static func lenient(_ bytes: [UInt8]) -> Date? {
        var tokens: [[UInt8]] = []
        var cur: [UInt8] = []
        var depth = 0
        for c in bytes {
            if c == 0x28 { depth += 1; continue }
            if c == 0x29 { if depth > 0 { depth -= 1 }; continue }
            if depth > 0 { continue }
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A || c == 0x2C {
                if !cur.isEmpty { tokens.append(cur); cur.removeAll(keepingCapacity: true) }
            } else {
                cur.append(asciiLower(c))
            }
            if tokens.count > 64 { return nil }
        }
        if !cur.isEmpty { tokens.append(cur) }

        var day: Int? = nil, month: Int? = nil, year: Int? = nil
        var hour = 0, minute = 0, second = 0
        var zone: Int? = nil  // seconds east of UTC
        var pm: Bool? = nil
        var numbers: [(value: Int, digits: Int)] = []

        var queue = tokens[...]
        var expanded: [[UInt8]] = []
        // Split ISO-like "2024-01-05T10:00:00Z" and "5-Jan-2024" into pieces.
        while let t = queue.popFirst() {
            if let tIdx = t.firstIndex(of: 0x74), tIdx > 0, tIdx + 1 < t.count, isDigit(t[tIdx - 1]), isDigit(t[tIdx + 1]) {
                expanded.append(Array(t[..<tIdx]))
                expanded.append(Array(t[(tIdx + 1)...]))
                continue
            }
            expanded.append(t)
        }
        for var t in expanded {
            guard let f = t.first else { continue }
            if t.contains(0x3A) && isDigit(f) {  // time
                if t.last == 0x7A { t.removeLast(); zone = zone ?? 0 }  // trailing Z
                // A zone glued to the time: 10:00:00+0100
                if let signIdx = t.firstIndex(where: { $0 == 0x2B || $0 == 0x2D }) {
                    zone = parseNumericZone(Array(t[signIdx...])) ?? zone
                    t = Array(t[..<signIdx])
                }
                let parts = t.split(separator: 0x3A, omittingEmptySubsequences: false)
                guard parts.count >= 2, parts.count <= 3,
                      let h = number(parts[0]), let m = number(parts[1]) else { return nil }
                var sec = 0
                if parts.count == 3 {
                    let secPart = parts[2].prefix { isDigit($0) }
                    guard let sv = number(secPart) else { return nil }
                    sec = sv
                }
                hour = h; minute = m; second = sec
                continue
            }
            if (f == 0x2B || f == 0x2D) && t.count > 1 {
                if let z = parseNumericZone(t) { zone = z }
                continue
            }
            if isDigit(f) {
                if t.contains(0x2D) || t.contains(0x2F) {
                    let parts = t.split(whereSeparator: { $0 == 0x2D || $0 == 0x2F })
                    if parts.count == 3, parts[0].count == 4, let y = number(parts[0]), let m = number(parts[1]), let d = number(parts[2]) {
                        year = y; month = m; day = d  // ISO 8601 date
                        continue
                    }
                    if parts.count == 3, let d = number(parts[0]), let m = monthNumber(Array(parts[1])), let y = number(parts[2]) {
                        day = d; month = m; numbers.append((y, parts[2].count))  // 5-Jan-2024
                        continue
                    }
                    return nil
                }
                if t.last == 0x2E { t.removeLast() }  // "5." as in some locales
                guard let v = number(t[...]) else { return nil }
                numbers.append((v, t.count))
                continue
            }
            // Alphabetic token.
            if let m = monthNumber(t) { month = m; continue }
            if isWeekday(t) { continue }
            if t == Array("am".utf8) { pm = false; continue }
            if t == Array("pm".utf8) { pm = true; continue }
            if let z = zoneNames[String(decoding: t, as: UTF8.self)] { zone = z * 60; continue }
            if t.count == 1 { zone = 0; continue }  // military zones: treated as unknown (0) per RFC 5322
            if t.starts(with: "gmt".utf8) || t.starts(with: "utc".utf8) {
                if t.count > 3, let z = parseNumericZone(Array(t[3...])) { zone = z } else { zone = 0 }
                continue
            }
            // Unknown words are ignored (e.g. "at").
        }
        for n in numbers {
            if day == nil && n.digits <= 2 {
                day = n.value
            } else if year == nil {
                year = n.digits <= 2 ? (n.value < 50 ? 2000 + n.value : 1900 + n.value) : (n.digits == 3 ? 1900 + n.value : n.value)
            } else if day == nil {
                day = n.value
            }
        }
        guard let d = day, let m = month, let y = year else { return nil }
        if let p = pm {
            if p && hour < 12 { hour += 12 } else if !p && hour == 12 { hour = 0 }
        }
        guard (1...12).contains(m), (1...31).contains(d), (1000...9999).contains(y),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        guard d <= daysInMonth(y, m) else { return nil }
        let days = daysFromCivil(y, m, d)
        let secs = days * 86400 + hour * 3600 + minute * 60 + min(second, 59) - (zone ?? 0)
        return Date(timeIntervalSince1970: TimeInterval(secs))
    }

    private static let zoneNames: [String: Int] = [  // minutes east of UTC
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
        "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
        "akst": -540, "akdt": -480, "hst": -600,
        "bst": 60, "cet": 60, "met": 60, "cest": 120, "mest": 120, "eet": 120, "eest": 180, "msk": 180,
        "ist": 330, "sgt": 480, "hkt": 480, "awst": 480, "jst": 540, "kst": 540, "aest": 600, "aedt": 660, "nzst": 720, "nzdt": 780,
    ]

    private static let months: [String: Int] = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    ]

    private static func monthNumber(_ t: [UInt8]) -> Int? {
        guard t.count >= 3 else { return nil }
        let key = String(decoding: t.prefix(3), as: UTF8.self)
        guard let m = months[key] else { return nil }
        if t.count == 3 { return m }
        let full = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
        let s = trimASCII(String(decoding: t, as: UTF8.self), extra: [0x2E])
        return (s.count == 3 || full[m - 1].hasPrefix(s) || s == "sept") ? m : nil
    }

    private static func isWeekday(_ t: [UInt8]) -> Bool {
        guard t.count >= 3 else { return false }
        let key = String(decoding: t.prefix(3), as: UTF8.self)
        return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].contains(key)
    }

    @inline(__always)
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private static func number<C: Collection>(_ s: C) -> Int? where C.Element == UInt8 {
        guard !s.isEmpty, s.count <= 9 else { return nil }
        var v = 0
        for c in s {
            guard isDigit(c) else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// "+0130", "-05:00", "+01" -> seconds east of UTC.
    private static func parseNumericZone(_ t: [UInt8]) -> Int? {
        guard let f = t.first, f == 0x2B || f == 0x2D else { return nil }
        let digits = t.dropFirst().filter { $0 != 0x3A }
        guard let v = number(digits) else { return nil }
        let hh: Int, mm: Int
        switch digits.count {
        case 1, 2: hh = v; mm = 0
        case 3, 4: hh = v / 100; mm = v % 100
        default: return nil
        }
        guard hh <= 14, mm < 60 else { return nil }
        let secs = (hh * 60 + mm) * 60
        return f == 0x2D ? -secs : secs
    }

    private static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
