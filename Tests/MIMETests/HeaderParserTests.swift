import Testing
@testable import MIME

@Suite struct HeaderParserTests {
    @Test func foldedHeadersAreUnfolded() {
        let raw = crlf("Subject: This is a\n  long subject\n\tcontinued\nX-Empty:\nTo: a@example.com\n\nbody")
        let m = MessageParser.parse(raw)
        #expect(m.subject == "This is a  long subject\tcontinued")
        #expect(m.headers.map(\.name) == ["Subject", "X-Empty", "To"])
        #expect(m.headers[0].rawValue == bytes("This is a  long subject\tcontinued"))
        #expect(m.header("x-empty") == "")
        #expect(m.textBody == "body")
    }

    @Test("Values are trimmed at both ends, however the blanks fall: on the first line, only on continuation lines, only blanks, vertical tab and form feed")
    func valuesTrimmedAtBothEnds() {
        let raw = bytes("A: \t x y \t\r\nB:\r\n \t folded only\r\n\t \r\nC: \u{0B}\u{0C}v\u{0C}\r\nD:   \r\nE:\r\n \r\nF:x\r\n\r\nbody")
        let block = HeaderParser.parse(raw, range: 0..<raw.count, limits: .default)
        #expect(block.fields.map(\.name) == ["A", "B", "C", "D", "E", "F"])
        #expect(block.fields.map { String(decoding: $0.value, as: UTF8.self) } == ["x y", "folded only", "v", "", "", "x"])
    }

    @Test func mixedLineEndingsAndCaseInsensitiveLookup() {
        let raw = bytes("Subject: one\nX-Thing: a\r\nx-thing: b\n\r\nhello\r\nworld")
        let m = MessageParser.parse(raw)
        #expect(m.subject == "one")
        #expect(m.header("X-THING") == "a")
        #expect(m.headerValues("x-thing") == ["a", "b"])
        #expect(m.textBody == "hello\nworld")
    }

    @Test func headerLinesWithoutColonAreSkipped() {
        let raw = crlf("Subject: hi\nthis line is broken\nFrom: a@example.com\n\nbody")
        let m = MessageParser.parse(raw)
        #expect(m.subject == "hi")
        #expect(m.from.first?.email == "a@example.com")
        #expect(m.defects.contains { $0.contains("without colon") })
        #expect(m.textBody == "body")
    }

    @Test func missingSeparatorStartsBody() {
        let raw = crlf("Subject: hi\nFrom: a@example.com\nHello there, this is the body.\nSecond line")
        let m = MessageParser.parse(raw)
        #expect(m.subject == "hi")
        #expect(m.textBody == "Hello there, this is the body.\nSecond line")
        #expect(!m.defects.isEmpty)
    }

    @Test func veryLongUnfoldedHeaderLine() {
        let long = String(repeating: "abcdefghij", count: 1200)  // 12 KB
        let raw = crlf("Subject: \(long)\nX-Long: <\(long)@x>\nFrom: a@example.com\n\nbody")
        let m = MessageParser.parse(raw)
        #expect(m.subject?.utf8.count == 12_000)
        #expect(m.from.count == 1)
        #expect(m.textBody == "body")
    }

    @Test func headerLimitsAreEnforced() {
        var s = ""
        for i in 0..<100 { s += "X-H\(i): value\n" }
        let limits = ParseLimits(maxHeaderBytes: 500)
        let m = MessageParser.parse(crlf(s + "\nbody"), limits: limits)
        #expect(m.headers.count < 100)
        #expect(m.textBody == "body")
        #expect(m.defects.contains { $0.contains("exceeds") })
    }

    @Test func onlyHeadersNoBody() {
        let m = MessageParser.parse(crlf("Subject: just headers\nFrom: a@b.example"))
        #expect(m.subject == "just headers")
        #expect(m.textBody == "")
        #expect(m.attachments.isEmpty)
    }

    @Test func mboxFromLineSkipped() {
        let m = MessageParser.parse(crlf("From someone@example.com Mon Jan  1 00:00:00 2024\nSubject: x\n\nb"))
        #expect(m.subject == "x")
        #expect(m.headers.count == 1)
    }

    @Test func raw8BitHeaders() {
        // UTF-8 header bytes are taken as is.
        let utf8 = MessageParser.parse(crlf("Subject: Grüße aus Köln\nFrom: Jürgen <j@example.de>\n\nx"))
        #expect(utf8.subject == "Grüße aus Köln")
        #expect(utf8.from.first?.name == "Jürgen")
        // Latin-1 bytes fall back to the text part's charset / windows-1252.
        var raw = bytes("Subject: Gr")
        raw += [0xFC, 0xDF, 0x65]
        raw += bytes("\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nK")
        raw += [0xF6]
        raw += bytes("ln")
        let latin = MessageParser.parse(raw)
        #expect(latin.subject == "Grüße")
        #expect(latin.textBody == "Köln")
        // KOI8-R body charset is used for raw 8-bit headers.
        var koi = bytes("Subject: ")
        koi += [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        koi += bytes("\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n")
        koi += [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        let k = MessageParser.parse(koi)
        #expect(k.subject == "Привет")
        #expect(k.textBody == "Привет")
    }

    @Test func emptyInput() {
        let m = MessageParser.parse([])
        #expect(m.headers.isEmpty)
        #expect(m.subject == nil)
        #expect(m.textBody == "" || m.textBody == nil)
        #expect(!m.defects.isEmpty)
    }

    @Test func noHeadersAtAll() {
        let m = MessageParser.parse(crlf("Just some text\nwithout headers"))
        #expect(m.headers.isEmpty)
        #expect(m.textBody == "Just some text\nwithout headers")
    }
}
