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

    /// An attachment's size is counted from clean base64 without decoding it: the count must be exactly what
    /// decoding gives, and anything that is not clean must be left to the decoder (which names the defect).
    @Test func cleanBase64IsCountedExactly() {
        var rng = XorShift(seed: 29)
        for len in 0..<400 {
            let data = (0..<len).map { _ in rng.byte() }
            for options: Data.Base64EncodingOptions in [[], .lineLength64Characters, .lineLength76Characters, [.lineLength76Characters, .endLineWithLineFeed]] {
                var encoded = Array(Data(data).base64EncodedString(options: options).utf8)
                if len % 3 == 0 { encoded += Array("\r\n".utf8) }
                #expect(Base64Decoder.cleanDecodedCount(encoded, range: 0..<encoded.count) == len)
                #expect(Base64Decoder.decode(encoded).defect == nil)
            }
        }
        let urlSafe = Array("SGk-_w==".utf8)
        #expect(Base64Decoder.cleanDecodedCount(urlSafe, range: 0..<urlSafe.count) == Base64Decoder.decode(urlSafe).data.count)
        // Stray characters, missing, early or surplus padding: left to the decoder, which names what it finds.
        for text in ["SGk", "SGk=SGk=", "S", "SGV*sbG8=", "SG=k", "SGk===", "SGk=\r\n=", "SGk=x", "====", "SGVsbG8gV29ybGQ"] {
            let input = bytes(text)
            #expect(Base64Decoder.cleanDecodedCount(input, range: 0..<input.count) == nil, "\(text) counted as clean")
        }
        for text in ["", " \r\n", "SGk=\r\n", "SG==  ", "SGVsbG8gV29ybGQ=\n"] {
            let input = bytes(text)
            #expect(Base64Decoder.cleanDecodedCount(input, range: 0..<input.count) == Base64Decoder.decode(input).data.count, "\(text)")
            #expect(Base64Decoder.decode(input).defect == nil, "\(text)")
        }
        // Random bytes from base64's neighbourhood: whenever the count claims clean, decoding agrees.
        let pool = Array("AZaz09+/-_= \t\r\n=*!.".utf8)
        for _ in 0..<5_000 {
            let input = (0..<Int(rng.byte() % 24)).map { _ in pool[Int(rng.byte()) % pool.count] }
            guard let counted = Base64Decoder.cleanDecodedCount(input, range: 0..<input.count) else { continue }
            let decoded = Base64Decoder.decode(input)
            #expect(decoded.defect == nil && decoded.data.count == counted, "\(String(decoding: input, as: UTF8.self))")
        }
    }

    /// The count reads thirty-two bytes at a time with AVX2, then sixteen, then one: it must classify every byte value
    /// as the byte-at-a-time rule does, in any position of a block and of the range, with and without the AVX2 kernel
    /// (a CPU without AVX2 runs only the sixteen-byte loop), and across the kernel's 8,160-byte counting chunks.
    @Test func cleanBase64CountMatchesTheRuleForEveryByte() {
        func reference(_ input: ArraySlice<UInt8>) -> Int? {
            var alphabet = 0, padding = 0, afterPadding = false
            for byte in input {
                if byte == 0x3D { padding += 1; afterPadding = true; continue }
                if byte == 0x20 || byte &- 0x09 < 5 { continue }
                guard Base64Decoder.table[Int(byte)] < 64, !afterPadding else { return nil }
                alphabet += 1
            }
            guard padding <= 2, (alphabet + padding) % 4 == 0 else { return nil }
            return (alphabet + padding) / 4 * 3 - padding
        }
        var rng = XorShift(seed: 31)
        let clean = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_".utf8)
        for round in 0..<20_000 {
            // Mostly up to 511 bytes; every fiftieth round longer than two of the kernel's counting chunks.
            let length = round % 50 == 7 ? 16_000 + rng.int(4_000) : Int(rng.byte()) + (round % 3 == 0 ? 256 : 0)
            var input = (0..<length).map { _ in clean[Int(rng.byte()) % clean.count] }
            if round % 10 == 1 {
                // Lines, as encoders write them: whitespace counted in every lane, many times over.
                for end in stride(from: 76, to: input.count - 1, by: 78) { input[end] = 0x0D; input[end + 1] = 0x0A }
            }
            if !input.isEmpty, round % 4 != 0 {
                // One byte of any value, anywhere: a stray, whitespace, `=` or another alphabet character.
                input[rng.int(input.count)] = UInt8(truncatingIfNeeded: round)
            }
            if round % 5 == 0 { input += Array("=\r\n".utf8) }
            let from = input.isEmpty ? 0 : Int(rng.byte()) % (input.count / 2 + 1)
            let expected = reference(input[from...])
            #expect(Base64Decoder.cleanDecodedCount(input, range: from..<input.count) == expected, "round \(round)")
            #expect(Base64Decoder.cleanDecodedCount(input, range: from..<input.count, wide: false) == expected, "round \(round), narrow")
        }
        // Whitespace and padding counted across many of the kernel's 8,160-byte chunks: a wrong cap shows here.
        let blanks = Array(repeating: UInt8(ascii: " "), count: 9_001) + Array("QUJD".utf8)
        let payload = (0..<15_001).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let wrapped = Array(Data(payload).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]).utf8)
        #expect(Array(wrapped.suffix(2)) == Array("==".utf8), "the payload's length leaves two padding characters")
        for wide in [true, false] {
            #expect(Base64Decoder.cleanDecodedCount(blanks, range: 0..<blanks.count, wide: wide) == 3)
            #expect(Base64Decoder.cleanDecodedCount(wrapped, range: 0..<wrapped.count, wide: wide) == payload.count)
            let stray = wrapped.count - 7_000
            var broken = wrapped
            broken[stray] = UInt8(ascii: "*")
            #expect(Base64Decoder.cleanDecodedCount(broken, range: 0..<broken.count, wide: wide) == nil)
        }
    }

    /// Multipart delimiters are found by a scan for a line feed and two dashes, thirty-two positions at a time with
    /// AVX2 and sixteen without: both must find the first such line, as a byte-at-a-time search does, wherever it
    /// falls in a block, near the range's end, or not at all.
    @Test func dashedLinesAreFoundAsByteByByte() {
        func reference(_ bytes: [UInt8], from: Int, end: Int) -> Int? {
            var i = from
            while end - i >= 3 {
                if bytes[i] == 0x0A, bytes[i + 1] == 0x2D, bytes[i + 2] == 0x2D { return i + 1 }
                i += 1
            }
            return nil
        }
        var rng = XorShift(seed: 37)
        let pool = Array("ab-\n\r=".utf8)
        for round in 0..<20_000 {
            let length = rng.int(round % 20 == 3 ? 5_000 : 300)
            // Sparse line feeds and dashes, so hits come late or not at all as often as early.
            var input = (0..<length).map { _ in rng.int(8) == 0 ? pool[rng.int(pool.count)] : UInt8(ascii: "x") }
            if length > 3, round % 3 == 0 {
                let at = rng.int(length - 2)
                input[at] = 0x0A; input[at + 1] = 0x2D; input[at + 2] = 0x2D
            }
            let from = rng.int(length / 2 + 1), end = from + rng.int(length - from + 1)
            let expected = reference(input, from: from, end: end)
            input.withUnsafeBytes { buffer in
                #expect(MultipartParser.nextDashedLine(buffer, from: from, end: end) == expected, "round \(round)")
                #expect(MultipartParser.nextDashedLine(buffer, from: from, end: end, wide: false) == expected, "round \(round), narrow")
            }
        }
    }

    /// Attachments are decoded when asked for, from the message itself: what comes out is what went in, and a
    /// defective one is still reported while parsing.
    @Test func attachmentsDecodeOnDemand() {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let clean = Data(payload).base64EncodedString(options: .lineLength76Characters)
        let raw = crlf("""
        Subject: files
        Content-Type: multipart/mixed; boundary="b"

        --b
        Content-Type: text/plain

        body
        --b
        Content-Type: application/octet-stream; name=clean.bin
        Content-Transfer-Encoding: base64

        \(clean)
        --b
        Content-Type: application/octet-stream; name=broken.bin
        Content-Transfer-Encoding: base64

        SGV*sbG8=
        --b
        Content-Type: text/csv; name=plain.csv

        a,b
        1,2
        --b
        Content-Type: application/octet-stream; name=qp.bin
        Content-Transfer-Encoding: quoted-printable

        caf=C3=A9
        --b--
        """)
        let m = MessageParser.parse(raw)
        #expect(m.attachments.map(\.size) == [1000, 5, 8, 5])
        #expect(m.attachments.map { $0.data.count } == m.attachments.map(\.size))
        #expect(m.attachments[0].data == payload)
        #expect(m.attachments[1].data == bytes("Hello"))
        #expect(m.attachments[2].data == bytes("a,b\r\n1,2"))
        #expect(m.attachments[3].data == bytes("café"))
        #expect(m.defects.contains { $0.contains("invalid base64") })
        #expect(m.defects.count == 1)
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

    @Test("Quoted-printable over seeded soups of escapes, soft breaks, blanks, line ends and plain runs, whole and in sub-ranges: blanks before a line end go, nothing grows, and runs copied whole decode as byte by byte")
    func quotedPrintableSoups() {
        var random = SeededGenerator(seed: 2045)
        let pieces = ["=3D", "=20", "=\r\n", "=\n", "= \t\r\n", "=", "=Z1", "=4", " ", "\t", "\r\n", "\n", "\r", "a", "b", "=c3=a9", "==41",
                      "plain words, longer than a block ", "0123456789abcdef", "trailing blanks   \t ", "caf\u{E9} \u{1F600} "]
        for _ in 0..<3_000 {
            let text = (0..<Int.random(in: 0...24, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let input = Array(text.utf8)
            let whole = QuotedPrintable.decode(input)
            let narrow = QuotedPrintable.decode(input, wide: false)
            #expect(whole.data == narrow.data && whole.defect == narrow.defect, "\(text.debugDescription)")
            #expect(whole.data.count <= input.count)
            // Before each hard line end, no blank survives but an encoded one.
            var previous: UInt8 = 0
            for byte in whole.data {
                if byte == 0x0D || byte == 0x0A, previous == 0x20 || previous == 0x09 { #expect(text.contains("=20"), "\(text.debugDescription)") }
                previous = byte
            }
            // A sub-range reads as that slice alone.
            let lower = Int.random(in: 0...input.count, using: &random), upper = Int.random(in: lower...input.count, using: &random)
            let part = QuotedPrintable.decode(input, range: lower..<upper)
            let alone = QuotedPrintable.decode(Array(input[lower..<upper]))
            #expect(part.data == alone.data && part.defect == alone.defect, "\(text.debugDescription) \(lower)..<\(upper)")
        }
        #expect(QuotedPrintable.decode(bytes("abc"), range: 1..<10).data == bytes("bc"), "a range past the end is clamped")
    }

    @Test("CRs and CRLFs become LF, runs between them copied whole, at every position of seeded texts")
    func newlinesNormalised() {
        var random = SeededGenerator(seed: 13)
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                if bytes[i] == 0x0D {
                    out.append(0x0A)
                    if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                } else {
                    out.append(bytes[i])
                }
                i += 1
            }
            return out
        }
        for length in 0..<200 {
            for _ in 0..<20 {
                let input = (0..<length).map { _ in [0x0D, 0x0A, 0x61, 0x62, 0xC3][Int.random(in: 0..<5, using: &random)] as UInt8 }
                #expect(normalizeNewlines(input) == reference(input), "\(input)")
            }
        }
        #expect(normalizeNewlines("a\r\nb\rc\n") == "a\nb\nc\n")
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
