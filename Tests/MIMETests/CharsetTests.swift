import Testing
@testable import MIME

@Suite struct CharsetTests {
    @Test("Charsets whose newlines are not single ASCII bytes are told apart by name, in any case")
    func wideCharsets() {
        for name in ["utf-16", "UTF-16LE", "utf-32BE", "UCS-2", "ucs-4", "Unicode", "unicode", "iso-8859-16"] {
            #expect(ParserState.isWideCharset(name), "\(name)")
        }
        for name in ["utf-8", "UTF-8", "iso-8859-1", "windows-1252", "koi8-r", "us-ascii", "uc", "", "x-unicode", "unicode-1-1", "ucx", "1-6", "3", "çs"] {
            #expect(!ParserState.isWideCharset(name), "\(name)")
        }
    }

    func d(_ b: [UInt8], _ cs: String?) -> String { Charset.decode(b, charset: cs).text }

    @Test func unicodeFamilies() {
        #expect(Charset.decode(bytes("Grüße"), charset: "UTF-8") == ("Grüße", true))
        #expect(d(bytes("Grüße"), "utf8") == "Grüße")
        #expect(Charset.decode(bytes("plain"), charset: "us-ascii") == ("plain", true))
        #expect(d([0xFF, 0xFE, 0x48, 0x00, 0x69, 0x00, 0x20, 0x00, 0xAC, 0x20], "utf-16") == "Hi €")
        #expect(d(bytes("Hi +IKw-"), "utf-7") == "Hi €")
    }

    @Test func isoAndWindowsFamilies() {
        #expect(d([0x43, 0x61, 0x66, 0xE9], "ISO-8859-1") == "Café")
        #expect(d([0x43, 0x61, 0x66, 0xE9], "latin1") == "Café")
        #expect(d([0x80, 0x93, 0x94], "cp1252") == "€“”")
        #expect(d([0x5A, 0x61, 0xBF, 0xF3, 0xB3, 0xE6], "iso-8859-2") == "Zażółć")
        #expect(d([0xBF, 0xE0, 0xD8, 0xD2, 0xD5, 0xE2], "iso-8859-5") == "Привет")
        #expect(d([0xC3, 0xE5, 0xE9, 0xDC], "iso-8859-7") == "Γειά")
        #expect(d([0xF9, 0xEC, 0xE5, 0xED], "iso-8859-8-i") == "שלום")
        #expect(d([0xA4, 0x75, 0x72, 0x6F], "iso-8859-15") == "€uro")
        #expect(d([0x5A, 0x61, 0xBF, 0xF3, 0xB3, 0xE6], "windows-1250") == "Zażółć")
        #expect(d([0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2], "windows-1251") == "Привет")
        #expect(d([0xC3, 0xE5, 0xE9, 0xDC], "cp1253") == "Γειά")
        #expect(d([0xF9, 0xEC, 0xE5, 0xED], "windows-1255") == "שלום")
        #expect(d([0xE3, 0xD1, 0xCD, 0xC8, 0xC7], "windows-1256") == "مرحبا")
    }

    @Test func cyrillicKOI8() {
        #expect(Charset.decode([0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4], charset: "KOI8-R") == ("Привет", true))
        #expect(d([0xF0, 0xD2, 0xC9, 0xD7, 0xA6, 0xD4], "koi8-u") == "Привіт")
    }

    @Test func japanese() {
        #expect(Charset.decode([0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x38, 0x6C, 0x1B, 0x28, 0x42], charset: "ISO-2022-JP") == ("日本語", true))
        #expect(d([0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA], "Shift_JIS") == "日本語")
        #expect(d([0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA], "x-sjis") == "日本語")
        #expect(d([0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA], "cp932") == "日本語")
        #expect(d([0xC6, 0xFC, 0xCB, 0xDC, 0xB8, 0xEC], "euc-jp") == "日本語")
    }

    @Test func chineseAndKorean() {
        #expect(d([0xD6, 0xD0, 0xCE, 0xC4, 0xB2, 0xE2, 0xCA, 0xD4], "GB18030") == "中文测试")
        #expect(d([0xD6, 0xD0, 0xCE, 0xC4], "gb2312") == "中文")
        #expect(d([0xD6, 0xD0, 0xCE, 0xC4], "GBK") == "中文")
        #expect(d([0xA4, 0xA4, 0xA4, 0xE5, 0xB4, 0xFA, 0xB8, 0xD5], "big5") == "中文測試")
        #expect(d([0xC7, 0xD1, 0xB1, 0xB9, 0xBE, 0xEE], "euc-kr") == "한국어")
        #expect(d([0xC7, 0xD1, 0xB1, 0xB9, 0xBE, 0xEE], "ks_c_5601-1987") == "한국어")
    }

    @Test func unknownAndInvalidFallBack() {
        let unknown = Charset.decode(bytes("hello ü"), charset: "x-foo")
        #expect(unknown.text == "hello ü")
        #expect(!unknown.exact)
        let latinInUTF8 = Charset.decode([0x43, 0x61, 0x66, 0xE9], charset: "utf-8")
        #expect(latinInUTF8.text == "Café")
        #expect(!latinInUTF8.exact)
        let mostlyUTF8 = Charset.decode(bytes("Grüße ") + [0xFF] + bytes(" ok ä"), charset: "utf-8")
        #expect(mostlyUTF8.text == "Grüße \u{FFFD} ok ä")
        let badSJIS = Charset.decode([0x93, 0xFA, 0x96], charset: "shift_jis")
        #expect(badSJIS.text.hasPrefix("日"))
        #expect(!badSJIS.exact)
        #expect(Charset.decode([0x80, 0xFF], charset: "\"weird name with spaces\"").exact == false)
        #expect(Charset.decode([], charset: "iso-2022-jp") == ("", true))
    }

    @Test func bodyCharsetsThroughParser() {
        var raw = bytes("Content-Type: text/plain; charset=\"koi8-r\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
        raw += [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        #expect(MessageParser.parse(raw).textBody == "Привет")

        var jp = bytes("Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n")
        jp += [0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x38, 0x6C, 0x1B, 0x28, 0x42]
        let m = MessageParser.parse(jp)
        #expect(m.subject == "日本語")
        #expect(m.textBody == "日本語")

        let unknown = MessageParser.parse(crlf("Content-Type: text/plain; charset=x-foo\n\nhello"))
        #expect(unknown.textBody == "hello")
        #expect(unknown.defects.contains { $0.contains("x-foo") })
    }

    @Test func concurrentIconvUse() async {
        await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    var ok = true
                    for _ in 0..<200 {
                        let r = i % 2 == 0
                            ? Charset.decode([0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA], charset: "shift_jis").text == "日本語"
                            : Charset.decode([0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4], charset: "koi8-r").text == "Привет"
                        ok = ok && r
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    @Test("UTF-8 is valid only when strict: no overlong forms, surrogates, code points past U+10FFFF or cut sequences")
    func strictUTF8() {
        let valid: [[UInt8]] = [[], [0x41], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x90, 0x8D, 0x88], [0xF4, 0x8F, 0xBF, 0xBF], [0xEF, 0xBF, 0xBF]]
        let invalid: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
            [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xE2, 0x82], [0xF0, 0x90, 0x8D], [0xC3],
            [0x41, 0xC3, 0x41],
        ]
        for bytes in valid {
            #expect(validUTF8String(bytes) == String(decoding: bytes, as: UTF8.self), "\(bytes)")
            #expect(validUTF8String(bytes[...]) != nil)
        }
        for bytes in invalid {
            #expect(validUTF8String(bytes) == nil, "\(bytes)")
            #expect(validUTF8String([0x61] + bytes + [0x62]) == nil, "\(bytes) inside ASCII")
        }
    }
}
