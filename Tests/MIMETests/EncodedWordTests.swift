import Testing
@testable import MIME

@Suite struct EncodedWordTests {
    @Test func base64UTF8() {
        #expect(EncodedWord.decode(bytes("=?UTF-8?B?R3LDvMOfZQ==?=")) == "Grüße")
        #expect(EncodedWord.decode(bytes("=?utf-8?b?R3LDvMOfZQ?=")) == "Grüße")  // missing padding
    }

    @Test func qISO88591() {
        #expect(EncodedWord.decode(bytes("=?ISO-8859-1?Q?Caf=E9_au_lait?=")) == "Café au lait")
        #expect(EncodedWord.decode(bytes("Re: =?iso-8859-1?q?=C4pfel?= und Birnen")) == "Re: Äpfel und Birnen")
    }

    @Test func shiftJIS() {
        #expect(EncodedWord.decode(bytes("=?Shift_JIS?B?k/qWe4zqgsyMj5a8?=")) == "日本語の件名")
        #expect(EncodedWord.decode(bytes("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=")) == "日本語")
    }

    @Test func adjacentWordsJoinedWithoutWhitespace() {
        let s = "=?UTF-8?Q?Hello_?= =?UTF-8?Q?World?=\r\n =?UTF-8?B?IQ==?="
        #expect(EncodedWord.decode(bytes(s)) == "Hello World!")
        // A multi-byte character split across two words is reassembled.
        #expect(EncodedWord.decode(bytes("=?utf-8?q?=C3?= =?utf-8?q?=A4?=")) == "ä")
        // Words with different charsets are decoded separately.
        #expect(EncodedWord.decode(bytes("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=")) == "éé")
        // Whitespace between an encoded word and plain text is kept.
        #expect(EncodedWord.decode(bytes("=?utf-8?q?a?= b")) == "a b")
    }

    @Test func malformedWordsStayLiteral() {
        #expect(EncodedWord.decode(bytes("=?utf-8?X?abc?=")) == "=?utf-8?X?abc?=")
        #expect(EncodedWord.decode(bytes("=?utf-8?Q?unterminated")) == "=?utf-8?Q?unterminated")
        #expect(EncodedWord.decode(bytes("=??Q?abc?=")) == "=??Q?abc?=")
        #expect(EncodedWord.decode(bytes("a =? b ?= c")) == "a =? b ?= c")
        #expect(EncodedWord.decode(bytes("=?")) == "=?")
        #expect(EncodedWord.decode(bytes("")) == "")
    }

    @Test func unknownCharsetBestEffort() {
        #expect(EncodedWord.decode(bytes("=?x-unknown?Q?hello?=")) == "hello")
        #expect(EncodedWord.decode(bytes("=?x-unknown?B?w6Q=?=")) == "ä")  // valid UTF-8 wins
        var defects: [String] = []
        _ = EncodedWord.decode(bytes("=?x-foo?Q?hi?=")[...], fallbackCharset: nil, defects: &defects)
        #expect(defects.contains { $0.contains("x-foo") })
    }

    @Test func languageSuffixAndRaw8Bit() {
        #expect(EncodedWord.decode(bytes("=?UTF-8*en?Q?Hi?=")) == "Hi")
        #expect(EncodedWord.decode([0x43, 0x61, 0x66, 0xE9]) == "Café")
    }

    @Test("An encoded word is found after any run of `=`, and a trailing `=` or `=?` stays literal text")
    func markerAfterEquals() {
        for length in 0..<40 {
            let prefix = String((0..<length).map { $0 % 2 == 0 ? "b" : "=" })
            #expect(EncodedWord.decode(Array((prefix + " =?UTF-8?Q?caf=C3=A9?=").utf8)) == prefix + " café", "prefix \(prefix)")
            #expect(EncodedWord.decode(Array((prefix + "=").utf8)) == prefix + "=")
            #expect(EncodedWord.decode(Array((prefix + "=?").utf8)) == prefix + "=?")
        }
        #expect(EncodedWord.decode(Array("bh=abc; b=def==".utf8)) == "bh=abc; b=def==")
    }
}
