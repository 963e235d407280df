import Foundation
@testable import IMAP
import Testing

/// IMAP's `date-time` (RFC 9051 §9): what a server sends as INTERNALDATE, and what must not pass for one.
@Suite struct InternalDateTests {
    @Test("Dates in every form a server may send", arguments: [
        ("17-Jul-1996 02:44:25 -0700", 837_596_665.0),
        (" 7-Jul-1996 02:44:25 -0700", 836_732_665.0),
        ("17-JUL-1996 02:44:25 -0700", 837_596_665.0),
        ("17-jul-1996 02:44:25 -0700", 837_596_665.0),
        ("07-Jan-2024 23:59:60 +0530", 1_704_652_200.0),
        ("29-Feb-2000 00:00:00 +0000", 951_782_400.0),
        ("01-Dec-1969 12:00:00 +1400", -2_685_600.0),
        ("  17-Jul-1996  02:44:25  -0700  ", 837_596_665.0),
    ])
    func parses(text: String, seconds: Double) {
        #expect(InternalDate.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test("Anything else is no date", arguments: [
        "", " ", "17-Jul-1996", "17-Jux-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700",
        "00-Jul-1996 02:44:25 -0700", "17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000", "17-Jul-1996 02:44:61 +0000",
        "17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07", "17-Jul-1996 02:44:25 -0700x", "17-Jul-1996 2:44:25 -0700",
        "17-Jul-1996T02:44:25 -0700", "123-Jul-1996 02:44:25 -0700", "17-Jul-19966 02:44:25 -0700", "17-J\u{0}l-1996 02:44:25 -0700",
        "17-Jul-1996 02:44:25 -07000", "Thu, 17 Jul 1996 02:44:25 -0700",
    ])
    func rejects(text: String) {
        #expect(InternalDate.parse(text) == nil)
    }
}
