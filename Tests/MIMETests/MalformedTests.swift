import Foundation
import Testing
@testable import MIME

@Suite struct MalformedTests {
    @Test func missingEndBoundary() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary="open"

        --open
        Content-Type: text/plain

        text part
        --open
        Content-Type: application/zip
        Content-Disposition: attachment; filename=a.zip

        PK
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "text part")
        #expect(m.attachments.first?.data == bytes("PK"))
        #expect(m.defects.contains { $0.contains("end boundary") })
    }

    @Test func multipartWithoutBoundary() {
        let m = MessageParser.parse(crlf("Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--"))
        #expect(m.textBody?.contains("hi") == true)
        #expect(m.defects.contains { $0.contains("without boundary") })
    }

    @Test func boundaryNeverAppears() {
        let m = MessageParser.parse(crlf("Content-Type: multipart/mixed; boundary=nothere\n\njust text"))
        #expect(m.textBody == "just text")
        #expect(!m.defects.isEmpty)
    }

    @Test func invalidContentType() {
        let m = MessageParser.parse(crlf("Content-Type: garbage\n\ntext"))
        #expect(m.textBody == "text")
        let html = MessageParser.parse(crlf("Content-Type: TEXT/HTML; CHARSET=UTF-8\n\n<b>x</b>"))
        #expect(html.htmlBody == "<b>x</b>")
        #expect(html.textBody == "x")
    }

    @Test func nonTextTopLevelIsAttachment() {
        let m = MessageParser.parse(crlf("Content-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\nJVBERg=="))
        #expect(m.textBody == nil)
        #expect(m.attachments.first?.filename == "x.pdf")
        #expect(m.attachments.first?.data == bytes("%PDF"))
    }

    @Test func randomGarbageNeverCrashes() {
        let alphabet: [UInt8] = bytes("\r\n:;=\"<>@-?()\\ \tBbQq%*'/") + [0x00, 0x80, 0xFF, 0xC3, 0x1B]
        for seed in 0..<400 {
            var rng = XorShift(seed: UInt64(seed))
            let n = rng.int(2000)
            var raw = [UInt8]()
            raw.reserveCapacity(n)
            for _ in 0..<n {
                raw.append(seed % 2 == 0 ? rng.byte() : alphabet[rng.int(alphabet.count)])
            }
            _ = MessageParser.parse(raw)
        }
    }

    @Test func structuredGarbageNeverCrashes() {
        let pieces = [
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n", "--b\r\n", "--b--\r\n", "\r\n",
            "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
            "Content-Type: text/html; charset=shift_jis\r\n", "Content-Type: message/rfc822\r\n",
            "Subject: =?utf-8?B?w6Q=?= =?x?Q?=\r\n", "From: \"a\" <b@c>, (x\r\n", "=?", "=41=\r\n", "<p>&#x110000;<scr",
            "Content-Disposition: attachment; filename*0*=utf-8''%E2; filename*1*=%82\r\n", " folded\r\n",
            "Content-Type: multipart/alternative; boundary=b\r\n",
        ]
        for seed in 0..<300 {
            var rng = XorShift(seed: UInt64(seed) + 1000)
            var s = ""
            for _ in 0..<rng.int(40) { s += pieces[rng.int(pieces.count)] }
            let m = MessageParser.parse(bytes(s))
            _ = m.textBody.map { HTMLSanitizer.sanitize($0) }
        }
    }

    @Test func deeplyNestedSelfSimilarBoundaries() {
        // Every level reuses the same boundary: must terminate quickly.
        var s = "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        for _ in 0..<200 { s += "--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" }
        s += "--x--\r\n"
        _ = MessageParser.parse(bytes(s))
    }
}
