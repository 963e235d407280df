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
}
