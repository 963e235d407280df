import Foundation
import Testing
@testable import MIME

@Suite struct TransferEncodingTests {
    @Test func base64Lenient() {
        #expect(Base64Decoder.decode(bytes("SGVsbG8gV29ybGQ=")).data == bytes("Hello World"))
        #expect(Base64Decoder.decode(bytes("SGVsbG8gV29ybGQ=")).defect == nil)
        #expect(Base64Decoder.decode(bytes("SGVs\r\nbG8g\r\nV29y bGQ=")).data == bytes("Hello World"))
        let missing = Base64Decoder.decode(bytes("SGVsbG8gV29ybGQ"))
        #expect(missing.data == bytes("Hello World"))
        #expect(missing.defect != nil)
        let junk = Base64Decoder.decode(bytes("SGV*sbG8!gV29y%bGQ="))
        #expect(junk.data == bytes("Hello World"))
        #expect(junk.defect?.contains("invalid") == true)
        #expect(Base64Decoder.decode(bytes("SGk=SGk=")).data == bytes("HiHi"))  // concatenated chunks
        #expect(Base64Decoder.decode(bytes("S")).data.isEmpty)
        #expect(Base64Decoder.decode([]).data.isEmpty)
        var rng = XorShift(seed: 11)
        for len in 0..<300 {
            let data = (0..<len).map { _ in rng.byte() }
            let enc = Array(Data(data).base64EncodedString(options: .lineLength64Characters).utf8)
            #expect(Base64Decoder.decode(enc).data == data)
        }
    }

    @Test func quotedPrintable() {
        let r = QuotedPrintable.decode(bytes("caf=C3=A9 =\r\nsoft=  \r\nbreak  \r\nend=3D=\n"))
        #expect(r.data == bytes("café softbreak\r\nend="))
        #expect(r.defect == nil)
        let bad = QuotedPrintable.decode(bytes("100% =ZZ sure =4"))
        #expect(bad.data == bytes("100% =ZZ sure =4"))
        #expect(bad.defect != nil)
        #expect(QuotedPrintable.decode(bytes("keep=20\r\n")).data == bytes("keep \r\n"))
        #expect(QuotedPrintable.decode(bytes("lower =c3=a9")).data == bytes("lower é"))
        #expect(QuotedPrintable.decodeQ(bytes("a_b=3F=")[...]) == bytes("a b?="))
    }

    @Test func brokenBase64BodyStillDelivered() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary=z

        --z
        Content-Type: text/plain
        Content-Transfer-Encoding: base64

        SGVsbG8g!!V29y
        bGQ
        --z
        Content-Type: application/pdf
        Content-Transfer-Encoding: base64

        ###JVBERi0xLjQ=
        --z--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "Hello World")
        #expect(m.attachments.first?.data == bytes("%PDF-1.4"))
        #expect(m.defects.contains { $0.contains("base64") })
    }

    @Test func unknownTransferEncodingKeptAsIs() {
        let m = MessageParser.parse(crlf("Content-Transfer-Encoding: x-weird\n\nraw text"))
        #expect(m.textBody == "raw text")
        #expect(m.defects.contains { $0.contains("x-weird") })
    }
}
