import Foundation
import Testing
@testable import MIME

@Suite struct DateParserTests {
    func epoch(_ s: String) -> Int? { DateParser.parse(s).map { Int($0.timeIntervalSince1970) } }

    @Test func rfc5322Forms() {
        // 2024-03-01 08:00:49 UTC = 1709280049
        #expect(epoch("Fri, 01 Mar 2024 08:00:49 +0000") == 1_709_280_049)
        #expect(epoch("Fri, 1 Mar 2024 09:00:49 +0100") == 1_709_280_049)
        #expect(epoch("1 Mar 2024 03:00:49 -0500") == 1_709_280_049)  // no weekday
        #expect(epoch("Fri, 01 Mar 2024 08:00 +0000") == 1_709_280_000)  // no seconds
        #expect(epoch("Fri, 01 Mar 2024 08:00:49 +0000 (UTC)") == 1_709_280_049)
        #expect(epoch("Fri,  1 Mar 2024 08:00:49 GMT") == 1_709_280_049)
    }

    @Test func obsoleteForms() {
        #expect(epoch("Fri, 01 Mar 24 08:00:49 UT") == 1_709_280_049)  // 2-digit year
        #expect(epoch("Fri, 01 Mar 2024 03:00:49 EST") == 1_709_280_049)
        #expect(epoch("Fri, 01 Mar 2024 04:00:49 EDT") == 1_709_280_049)
        #expect(epoch("Fri, 01 Mar 2024 02:00:49 CST") == 1_709_280_049)
        #expect(epoch("Fri, 01 Mar 2024 00:00:49 PST") == 1_709_280_049)
        #expect(epoch("Fri, 01 Mar 2024 08:00:49 Z") == 1_709_280_049)
        #expect(epoch("Fri Mar  1 08:00:49 2024") == 1_709_280_049)  // asctime
        #expect(epoch("2024-03-01T08:00:49Z") == 1_709_280_049)  // ISO 8601
        #expect(epoch("Friday, 01-Mar-2024 08:00:49 GMT") == 1_709_280_049)
        #expect(epoch("01 Mar 1999 00:00:00 +0000") == 920_246_400)
    }

    @Test func garbageIsNil() {
        #expect(DateParser.parse("") == nil)
        #expect(DateParser.parse("yesterday") == nil)
        #expect(DateParser.parse("Mon, 32 Foo 2024 25:61:00 +9999") == nil)
        #expect(DateParser.parse("Fri, 31 Feb 2024 10:00:00 +0000") == nil)
        #expect(DateParser.parse("Fri, 01 Mar 2024 24:00:00 +0000") == nil)
        #expect(DateParser.parse("12345") == nil)
        #expect(DateParser.parse("((((((") == nil)
        #expect(DateParser.parse(String(repeating: "1 ", count: 5000)) == nil)
    }

    @Test("The one-pass reader of the RFC 5322 form returns exactly what the lenient reader returns, for 100,000 seeded near-misses of that form")
    func strictAgreesWithLenient() {
        var random = SeededGenerator(seed: 5322)
        // Each part: the usual spellings (chosen four times in five), then near misses.
        let weekdays = (["Mon, ", "tue,", "WED,  ", "Sat,\t", "Sun, ", "", ""], ["Fri ,", "Monday, ", "xyz, ", "Mon"])
        let days = (["1", "01", "7", "29", "30", "31", "9"], ["0", "32", "123", ""])
        let months = (["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], ["Sept", "Foo", "Ja"])
        let years = (["2024", "1999", "2000", "1900", "2100", "9999"], ["0999", "24", "99", "20245"])
        let times = (["08:00:49", "23:59:60", "00:00", "07:05:03", "23:59:59"], ["24:00:00", "12:60:00", "8:00:49", "08:00:49.5", "08:00:", "08-00-00"])
        let zones = (["+0000", "-0500", "+1400", "-0000", "+0130", "GMT", "gmt", "UT", "UTC"], ["+1500", "+0160", "EST", "Z", "+01", "+01:00", "GMTX", "GMT+0100", "+00000"])
        let tails = (["", "", " ", " (UTC)", " (UTC) ", "(UTC)"], [" (a(b)c)", " (", " junk", "\r\n"])
        let separators = ([" ", " ", "  ", "\t"], ["", ",", "-", "\r\n "])
        func pick(_ choices: ([String], [String])) -> String {
            Int.random(in: 0..<5, using: &random) < 4 ? choices.0.randomElement(using: &random)! : choices.1.randomElement(using: &random)!
        }
        var strictCount = 0
        for _ in 0..<100_000 {
            var text = pick(weekdays)
            for (k, part) in [days, months, years, times, zones].enumerated() {
                if k > 0 { text += pick(separators) }
                text += pick(part)
            }
            text += pick(tails)
            if Int.random(in: 0..<8, using: &random) == 0 {
                var bytes = Array(text.utf8)
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...0x7F, using: &random)
                text = String(decoding: bytes, as: UTF8.self)
            }
            let bytes = Array(text.utf8)
            let lenient = DateParser.lenient(bytes)
            if let strict = bytes.withUnsafeBufferPointer({ DateParser.strict($0) }) {
                strictCount += 1
                #expect(strict == lenient, "\(text)")
            }
            #expect(DateParser.parse(bytes: bytes) == lenient, "\(text)")
        }
        #expect(strictCount > 5_000, "the one-pass reader takes the usual form (\(strictCount) of 100,000)")
        #expect(Array("Fri, 01 Mar 2024 08:00:49 +0000".utf8).withUnsafeBufferPointer { DateParser.strict($0) } != nil)
    }
}
