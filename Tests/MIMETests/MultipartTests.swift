import Foundation
import Testing
@testable import MIME

@Suite struct MultipartTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x01, 0xFF]

    @Test func mixedAlternativeRelatedTree() {
        let pngB64 = Data(Self.png).base64EncodedString()
        let pdf = Array("%PDF-1.4 fake pdf content with ü".utf8)
        let pdfB64 = Data(pdf).base64EncodedString(options: .lineLength76Characters)
        let raw = crlf("""
        From: "Customer" <c@example.com>
        To: support@example.com
        Subject: =?UTF-8?Q?Pr=C3=BCfung?=
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        This is the preamble.
        --outer
        Content-Type: multipart/alternative; boundary="alt"

        --alt
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Hello caf=C3=A9 w=
        orld=20
        Line two
        --alt
        Content-Type: multipart/related; boundary="rel"; type="text/html"

        --rel
        Content-Type: text/html; charset=utf-8

        <p>Hello <img src="cid:logo@x"></p>
        --rel
        Content-Type: image/png
        Content-Transfer-Encoding: base64
        Content-ID: <logo@x>

        \(pngB64)
        --rel--
        --alt--
        --outer
        Content-Type: application/pdf; name="ignored.pdf"
        Content-Disposition: attachment; filename="report.pdf"
        Content-Transfer-Encoding: base64

        \(pdfB64)
        --outer--
        This is the epilogue.
        """)
        let m = MessageParser.parse(raw)
        #expect(m.subject == "Prüfung")
        #expect(m.textBody == "Hello café world \nLine two")
        #expect(m.htmlBody == "<p>Hello <img src=\"cid:logo@x\"></p>")
        #expect(m.attachments.count == 2)
        let img = m.attachments[0]
        #expect(img.contentType == "image/png")
        #expect(img.contentID == "logo@x")
        #expect(img.isInline)
        #expect(img.data == Self.png)
        let att = m.attachments[1]
        #expect(att.filename == "report.pdf")
        #expect(att.contentType == "application/pdf")
        #expect(!att.isInline)
        #expect(att.data == pdf)
        #expect(att.size == pdf.count)
        #expect(m.defects.isEmpty, "\(m.defects)")
    }

    @Test func textFromHTMLWhenNoPlainPart() {
        let raw = crlf("""
        Content-Type: multipart/alternative; boundary=b

        --b
        Content-Type: text/html; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        <html><head><title>T</title><style>p{}</style></head><body><p>Gr=FC=DFe &amp; Dank</p><p>Zeile&nbsp;2</p></body></html>
        --b--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "Grüße & Dank\n\nZeile 2")
        #expect(m.htmlBody?.contains("Grüße") == true)
    }

    @Test func rfc2231FilenamesAndContinuations() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary="XX"

        --XX
        Content-Type: text/plain

        body
        --XX
        Content-Type: application/octet-stream
        Content-Disposition: attachment;
         filename*0*=utf-8''Pr%C3%BCf;
         filename*1*=bericht%20%E2%82%AC;
         filename*2=".pdf"

        data1
        --XX
        Content-Type: application/octet-stream
        Content-Disposition: attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt; filename="fallback.txt"

        data2
        --XX
        Content-Type: application/octet-stream; name="=?UTF-8?B?0L7RgtGH0ZHRgi5kb2N4?="
        Content-Disposition: attachment

        data3
        --XX
        Content-Type: text/plain; charset=utf-8; name="notes.txt"
        Content-Disposition: attachment; filename="=?utf-8?Q?R=C3=A9sum=C3=A9.txt?="

        attached text
        --XX
        Content-Type: application/octet-stream
        Content-Disposition: attachment; filename=unquoted name.bin

        data5
        --XX--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "body")
        #expect(m.attachments.map(\.filename) == ["Prüfbericht €.pdf", "Grüße.txt", "отчёт.docx", "Résumé.txt", "unquoted name.bin"])
        #expect(m.attachments[3].contentType == "text/plain")
        #expect(m.attachments[3].data == bytes("attached text"))
        #expect(m.attachments[0].data == bytes("data1"))
    }

    @Test func messageRFC822AsAttachment() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary=m

        --m
        Content-Type: text/plain

        see attached
        --m
        Content-Type: message/rfc822

        Subject: inner
        From: x@y.example

        inner body
        --m
        Content-Type: message/rfc822; name="fwd.eml"

        Subject: second

        b
        --m--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "see attached")
        #expect(m.attachments.count == 2)
        #expect(m.attachments[0].filename == "message.eml")
        #expect(m.attachments[0].contentType == "message/rfc822")
        #expect(String(decoding: m.attachments[0].data, as: UTF8.self).hasPrefix("Subject: inner"))
        #expect(m.attachments[1].filename == "fwd.eml")
    }

    @Test func boundaryPrefixOfNestedBoundary() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary="abc"

        --abc
        Content-Type: multipart/alternative; boundary="abc-1"

        --abc-1
        Content-Type: text/plain

        inner text
        --abc-1--
        --abc
        Content-Type: image/gif
        Content-Disposition: inline; filename=a.gif

        GIF
        --abc--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "inner text")
        #expect(m.attachments.count == 1)
        #expect(m.attachments[0].isInline)
        #expect(m.attachments[0].filename == "a.gif")
    }

    @Test func lfOnlyAndTransportPadding() {
        let raw = bytes("Content-Type: multipart/mixed; boundary=q\n\n--q  \nContent-Type: text/plain\n\nhi\n--q--  \n")
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "hi")
        #expect(m.defects.isEmpty)
    }

    @Test func depthAndPartLimits() {
        var s = "Content-Type: multipart/mixed; boundary=b0\n\n"
        for d in 0..<30 { s += "--b\(d)\nContent-Type: multipart/mixed; boundary=b\(d + 1)\n\n" }
        s += "--b30\nContent-Type: text/plain\n\ndeep\n"
        let m = MessageParser.parse(crlf(s))
        #expect(m.textBody == nil)
        #expect(m.defects.contains { $0.contains("nesting") })

        var many = "Content-Type: multipart/mixed; boundary=p\n\n"
        for i in 0..<50 { many += "--p\nContent-Type: application/x-\(i)\n\nx\n" }
        many += "--p--\n"
        let lim = MessageParser.parse(crlf(many), limits: ParseLimits(maxParts: 10))
        #expect(lim.attachments.count == 10)
        #expect(lim.defects.contains { $0.contains("parts") })
    }

    @Test func secondTextPartIsInlineAttachment() {
        let raw = crlf("""
        Content-Type: multipart/mixed; boundary=s

        --s
        Content-Type: text/plain

        first
        --s
        Content-Type: text/plain; charset=utf-8

        second
        --s--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.textBody == "first")
        #expect(m.attachments.count == 1)
        #expect(m.attachments[0].contentType == "text/plain")
    }

    @Test func largeBase64Attachment() {
        let size = 3 * 1024 * 1024
        var payload = [UInt8](repeating: 0, count: size)
        var rng = XorShift(seed: 3)
        for i in 0..<size { payload[i] = rng.byte() }
        let b64 = Data(payload).base64EncodedString(options: .lineLength76Characters)
        let raw = crlf("""
        Subject: big
        Content-Type: multipart/mixed; boundary="big-boundary"

        --big-boundary
        Content-Type: text/plain

        see attachment
        --big-boundary
        Content-Type: application/octet-stream; name=big.bin
        Content-Transfer-Encoding: base64

        \(b64)
        --big-boundary--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.attachments.count == 1)
        #expect(m.attachments.first?.size == size)
        #expect(m.attachments.first?.data == payload)
        #expect(m.attachments.first?.filename == "big.bin")
        #expect(m.textBody == "see attachment")
    }
}

/// The vector scan for delimiter lines against the rule it implements, line by line.
@Suite struct MultipartScanTests {
    /// The rule, one line at a time: a line (split at LF) is a delimiter when it starts with `--boundary`, then
    /// either `--` (close) or only spaces, tabs and CRs.
    static func reference(_ raw: [UInt8], range: Range<Int>, boundary: [UInt8], maxParts: Int) -> MultipartParser.Result {
        var result = MultipartParser.Result()
        guard !boundary.isEmpty, boundary.count <= MultipartParser.maxBoundaryLength, range.count >= boundary.count + 2 else { return result }
        let needle: [UInt8] = [0x2D, 0x2D] + boundary
        var partStart: Int?
        var lineStart = range.lowerBound
        while lineStart < range.upperBound {
            let lineEnd = raw[lineStart..<range.upperBound].firstIndex(of: 0x0A) ?? range.upperBound
            let nextLine = min(lineEnd + 1, range.upperBound)
            defer { lineStart = nextLine }
            let line = Array(raw[lineStart..<lineEnd])
            guard line.starts(with: needle) else { continue }
            let rest = line.dropFirst(needle.count)
            let isClose = rest.starts(with: [0x2D, 0x2D])
            guard isClose || rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
            result.foundDelimiter = true
            if let s = partStart {
                var contentEnd = lineStart
                if contentEnd > s && raw[contentEnd - 1] == 0x0A { contentEnd -= 1 }
                if contentEnd > s && raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                if result.parts.count >= maxParts {
                    result.truncated = true
                    return result
                }
                result.parts.append(s..<max(s, contentEnd))
            }
            if isClose {
                result.closed = true
                return result
            }
            partStart = nextLine
        }
        if let s = partStart {
            if result.parts.count >= maxParts { result.truncated = true } else { result.parts.append(s..<range.upperBound) }
        }
        return result
    }

    @Test("Delimiters are found wherever they fall in a 16-byte block, as the line-by-line rule finds them")
    func scanMatchesTheRule() {
        var random = SeededGenerator(seed: 7)
        // Bytes that make and break delimiters: line breaks, dashes, the boundary's letters, whitespace, others.
        let alphabet: [UInt8] = Array("\n\n\r--- \tbBx=".utf8)
        for round in 0..<5_000 {
            let boundary: [UInt8] = round % 3 == 0 ? Array("b".utf8) : Array("bB".utf8)
            var raw: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<120, using: &random) {
                // Sometimes a whole delimiter line, or a close one, at a random offset.
                switch Int.random(in: 0..<12, using: &random) {
                case 0: raw += [0x0A, 0x2D, 0x2D] + boundary + [0x0D, 0x0A]
                case 1: raw += [0x0A, 0x2D, 0x2D] + boundary + [0x2D, 0x2D]
                default: raw.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
                }
            }
            let lower = raw.isEmpty ? 0 : Int.random(in: 0...min(3, raw.count), using: &random)
            let upper = Int.random(in: lower...raw.count, using: &random)
            let maxParts = round % 5 == 0 ? 2 : .max
            let found = MultipartParser.split(raw, range: lower..<upper, boundary: boundary, maxParts: maxParts)
            let expected = Self.reference(raw, range: lower..<upper, boundary: boundary, maxParts: maxParts)
            #expect(found.parts == expected.parts && found.closed == expected.closed && found.foundDelimiter == expected.foundDelimiter
                && found.truncated == expected.truncated, "round \(round): \(String(decoding: raw[lower..<upper], as: UTF8.self).debugDescription)")
            if found.parts != expected.parts { return }
        }
    }
}
