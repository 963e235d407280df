import Foundation

/// Parses IMAP `date-time` (`"17-Jul-1996 02:44:25 -0700"`) without `DateFormatter`
/// (which is slow and locale-sensitive).
enum InternalDate {
    /// Month names, three letters packed as one lowercase number each (`jan` = 0x6A616E).
    private static let months: [UInt32] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        .map { $0.utf8.reduce(0) { $0 << 8 | UInt32($1) } }

    /// One pass over the bytes: every fetched message carries one, and the version built on `split` and
    /// `trimmingCharacters` took a fifth of the connection thread's own time.
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var reader = Reader(bytes: bytes)
        reader.skipSpaces()
        guard let day = reader.number(digits: 1...2), reader.take(UInt8(ascii: "-")),
            let month = reader.month(), reader.take(UInt8(ascii: "-")),
            let year = reader.number(digits: 4...4), reader.skipSpaces() > 0,
            let hour = reader.number(digits: 2...2), reader.take(UInt8(ascii: ":")),
            let minute = reader.number(digits: 2...2), reader.take(UInt8(ascii: ":")),
            let second = reader.number(digits: 2...2), reader.skipSpaces() > 0,
            let sign = reader.sign(), let zone = reader.number(digits: 4...4)
        else { return nil }
        reader.skipSpaces()
        guard reader.atEnd, (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - sign * (zone / 100 * 3600 + zone % 100 * 60)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        var atEnd: Bool { at == bytes.count }

        @discardableResult
        mutating func skipSpaces() -> Int {
            let start = at
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 { at += 1 }
            return at - start
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        /// A decimal number of as many digits as `digits` allows, and at least its lower bound.
        mutating func number(digits: ClosedRange<Int>) -> Int? {
            var value = 0, count = 0
            while count < digits.upperBound, at < bytes.count, bytes[at] &- 0x30 < 10 {
                value = value * 10 + Int(bytes[at] &- 0x30)
                at += 1
                count += 1
            }
            return count >= digits.lowerBound ? value : nil
        }

        /// 1 for January … 12 for December, in any case.
        mutating func month() -> Int? {
            guard bytes.count - at >= 3 else { return nil }
            let packed = (0..<3).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[at + $1] | 0x20) }
            guard let index = InternalDate.months.firstIndex(of: packed) else { return nil }
            at += 3
            return index + 1
        }

        mutating func sign() -> Int? {
            if take(UInt8(ascii: "+")) { return 1 }
            if take(UInt8(ascii: "-")) { return -1 }
            return nil
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
