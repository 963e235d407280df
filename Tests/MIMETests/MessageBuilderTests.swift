import Foundation
import Testing
@testable import MIME

@Suite struct MessageBuilderTests {
    static let date = Date(timeIntervalSince1970: 1_772_528_707)  // 2026-03-03 09:05:07 UTC

    static func message(
        fromName: String? = "Support Team", subject: String = "Re: [#42] Printer broken", text: String = "Hello,\nit works now.\n",
        html: String? = nil, attachments: [OutgoingAttachment] = [], toName: String? = "Jane Doe", to: String = "jane@example.com"
    ) -> OutgoingMessage {
        OutgoingMessage(
            from: MailAddress(name: fromName, email: "support@example.org"),
            to: [MailAddress(name: toName, email: to)],
            cc: [MailAddress(name: "Bob", email: "bob@example.net")],
            replyTo: MailAddress(name: nil, email: "support@example.org"),
            subject: subject, messageID: "abc.123@example.org", inReplyTo: "orig-2@mail.example.com",
            references: ["orig-1@mail.example.com", "orig-2@mail.example.com"], date: date,
            textBody: text, htmlBody: html, attachments: attachments, extraHeaders: [("Auto-Submitted", "no")])
    }

    static func build(_ m: OutgoingMessage, seed: UInt64 = 1) throws -> BuiltMessage {
        var rng = SeededGenerator(seed: seed)
        return try MessageBuilder.build(m, using: &rng)
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
                result.append(bytes[start..<i])
                start = i + 2
                i += 2
            } else {
                i += 1
            }
        }
        if start < bytes.count { result.append(bytes[start...]) }
        return result
    }

    /// The header section's lines (up to the first empty line).
    static func headerLines(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        for line in lines(bytes) {
            if line.isEmpty { break }
            out.append(String(decoding: line, as: UTF8.self))
        }
        return out
    }

    /// Every line ends in CRLF: no bare CR or LF anywhere.
    static func expectCRLFOnly(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        var ok = true
        for (i, c) in bytes.enumerated() {
            if c == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { ok = false; break }
            if c == 0x0D && (i + 1 >= bytes.count || bytes[i + 1] != 0x0A) { ok = false; break }
        }
        #expect(ok, "bare CR or LF", sourceLocation: sourceLocation)
        #expect(bytes.suffix(2) == [0x0D, 0x0A], sourceLocation: sourceLocation)
    }

    static func normalizedText(_ s: String) -> String {
        s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    // MARK: Round trips

    static let roundTripCases: [(name: String, subject: String, text: String, html: String?, filename: String)] = [
        ("ASCII", "Re: [#42] Printer broken", "Hello Jane,\n\nthe printer works again.\n\nBest,\nSupport\n", "<p>Hello <b>Jane</b></p>", "report.pdf"),
        ("German", "Re: [#7] Größenänderung für Übergrößen – dringend", "Grüße aus Köln!\nDie Änderung ist übernommen: Maß, Fuß, Straße.\n", "<p>Grüße aus <i>Köln</i></p>", "Übersicht März.pdf"),
        ("Japanese", "Re: [#8] プリンターが壊れました。至急対応をお願いします。ありがとうございます。", "こんにちは。\nプリンターは修理されました。\n", "<p>こんにちは</p>", "請求書_2026年3月.pdf"),
        ("Emoji", "Re: [#9] 👩‍👩‍👧‍👦 family plan 🎉🎉🎉 and 🇩🇪 flags 👍🏽", "Thanks 🙏🏽!\nDone ✅\n", "<p>🎉</p>", "party 🎉.png"),
        ("RTL", "Re: [#10] مرحبا بالعالم — שלום עולם", "مرحبا\nשלום\n", "<p dir=\"rtl\">مرحبا</p>", "מסמך.docx"),
    ]

    @Test(arguments: 0..<5)
    func roundTripThroughParser(_ index: Int) throws {
        let c = Self.roundTripCases[index]
        let attachmentBytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        let m = Self.message(
            fromName: c.name == "ASCII" ? "Support Team" : "Støtte \(c.name) サポート", subject: c.subject, text: c.text, html: c.html,
            attachments: [
                OutgoingAttachment(filename: c.filename, contentType: "application/pdf", bytes: attachmentBytes),
                OutgoingAttachment(filename: "empty.txt", contentType: "text/plain", bytes: []),
            ],
            toName: c.name == "ASCII" ? "Doe, Jane \"JD\"" : "\(c.name) 顧客 Müller")
        let built = try Self.build(m)
        #expect(!built.needsSMTPUTF8)
        #expect(built.bytes.allSatisfy { $0 < 0x80 }, "7-bit clean without SMTPUTF8")
        Self.expectCRLFOnly(built.bytes)

        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        #expect(parsed.subject == c.subject)
        #expect(parsed.from == [m.from])
        #expect(parsed.to == m.to)
        #expect(parsed.cc == m.cc)
        #expect(parsed.replyTo == [MailAddress(name: nil, email: "support@example.org")])
        #expect(parsed.messageID == "abc.123@example.org")
        #expect(parsed.inReplyTo == ["orig-2@mail.example.com"])
        #expect(parsed.references == ["orig-1@mail.example.com", "orig-2@mail.example.com"])
        #expect(parsed.date == Self.date)
        #expect(parsed.textBody == c.text)
        #expect(parsed.htmlBody == c.html)
        #expect(parsed.header("Auto-Submitted") == "no")
        #expect(parsed.header("MIME-Version") == "1.0")
        #expect(parsed.attachments.count == 2)
        #expect(parsed.attachments.first?.filename == c.filename)
        #expect(parsed.attachments.first?.contentType == "application/pdf")
        #expect(parsed.attachments.first?.data == attachmentBytes)
        #expect(parsed.attachments.first?.isInline == false)
        #expect(parsed.attachments.last?.filename == "empty.txt")
        #expect(parsed.attachments.last?.data == [])
        #expect(built.recipients == ["jane@example.com", "bob@example.net"])
    }

    @Test func singlePartPlainASCIIIsSevenBit() throws {
        let built = try Self.build(Self.message(text: "Hello\r\nWorld\rOld Mac line\n"))
        let s = String(decoding: built.bytes, as: UTF8.self)
        #expect(s.contains("Content-Type: text/plain; charset=utf-8\r\n"))
        #expect(s.contains("Content-Transfer-Encoding: 7bit\r\n"))
        #expect(!s.contains("multipart"))
        Self.expectCRLFOnly(built.bytes)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.textBody == "Hello\nWorld\nOld Mac line\n")
        #expect(parsed.htmlBody == nil)
        #expect(parsed.attachments.isEmpty)
    }

    @Test func singlePartWithoutFinalNewlineStillEndsWithCRLF() throws {
        let built = try Self.build(Self.message(text: "No newline at the end"))
        Self.expectCRLFOnly(built.bytes)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.textBody == "No newline at the end\n")
    }

    @Test func alternativeWithoutAttachments() throws {
        let built = try Self.build(Self.message(text: "plain", html: "<p>rich</p>"))
        let s = String(decoding: built.bytes, as: UTF8.self)
        #expect(s.contains("Content-Type: multipart/alternative;"))
        #expect(!s.contains("multipart/mixed"))
        let plainAt = try #require(s.range(of: "text/plain"))
        let htmlAt = try #require(s.range(of: "text/html"))
        #expect(plainAt.lowerBound < htmlAt.lowerBound, "text first, then html")
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.textBody == "plain")
        #expect(parsed.htmlBody == "<p>rich</p>")
        #expect(parsed.defects.isEmpty)
    }

    @Test func nonASCIIAddressNeedsSMTPUTF8() throws {
        var m = Self.message(to: "jürgen@bücher.example")
        m.cc = [MailAddress(name: nil, email: "用户@例子.广告")]
        let built = try Self.build(m)
        #expect(built.needsSMTPUTF8)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.to.first?.email == "jürgen@bücher.example")
        #expect(parsed.cc.first?.email == "用户@例子.广告")
        #expect(parsed.subject == m.subject)
    }

    @Test func namesAndSubjectLookingLikeEncodedWordsSurvive() throws {
        let m = Self.message(fromName: "=?utf-8?q?evil?=", subject: "About =?UTF-8?B?SGk=?= tokens", toName: "a=?b?c")
        let parsed = MessageParser.parse(try Self.build(m).bytes)
        #expect(parsed.subject == "About =?UTF-8?B?SGk=?= tokens")
        #expect(parsed.from.first?.name == "=?utf-8?q?evil?=")
        #expect(parsed.to.first?.name == "a=?b?c")
    }

    @Test func quotedLocalPartAndSpecialsInNames() throws {
        let m = Self.message(toName: "O'Brien (Ops) <team> @ \\ \"quoted\"", to: "\"john doe\"@example.com")
        let parsed = MessageParser.parse(try Self.build(m).bytes)
        #expect(parsed.to == [MailAddress(name: "O'Brien (Ops) <team> @ \\ \"quoted\"", email: "\"john doe\"@example.com")])
    }

    @Test func subjectWithMultipleSpacesAndTabsRoundTrips() throws {
        let subject = "Re:  two  spaces\tand a tab"
        let parsed = MessageParser.parse(try Self.build(Self.message(subject: subject)).bytes)
        #expect(parsed.subject == subject)
    }

    // MARK: Line lengths and folding

    @Test func longHeadersAreFoldedAndNoLineExceeds998() throws {
        var m = Self.message(
            subject: String(repeating: "Very long subject words ", count: 30) + String(repeating: "ü", count: 300) + String(repeating: "x", count: 2000),
            html: "<p>" + String(repeating: "a", count: 5000) + "</p>",
            attachments: [OutgoingAttachment(
                filename: String(repeating: "Überlanger Dateiname ", count: 20) + ".pdf", contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                bytes: Array(repeating: 7, count: 10_000))])
        m.textBody = String(repeating: "word ", count: 2000) + "\n" + String(repeating: "z", count: 3000)
        m.references = (0..<40).map { "reference-number-\($0)-with-a-long-id@mail.example.com" }
        m.to = (0..<25).map { MailAddress(name: "Ünïcödé Person Number \($0) with a long name", email: "person\($0)@example.com") }
        m.extraHeaders = [("X-Long", String(repeating: "value ", count: 100))]
        let built = try Self.build(m)
        let allLines = Self.lines(built.bytes)
        #expect(allLines.allSatisfy { $0.count <= 998 })
        let headers = Self.headerLines(built.bytes)
        let long = headers.filter { $0.utf8.count > 78 }
        #expect(long.isEmpty, "header lines over 78: \(long)")
        #expect(headers.contains { $0.hasPrefix(" ") }, "folded continuation lines")
        // Every body line fits too: QP and base64 keep to 76.
        let over = allLines.filter { $0.count > 78 }.map { String(decoding: $0, as: UTF8.self) }
        #expect(over.isEmpty, "\(over)")

        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.subject == m.subject)
        #expect(parsed.references == m.references)
        #expect(parsed.to == m.to)
        #expect(parsed.textBody == m.textBody)
        #expect(parsed.htmlBody == m.htmlBody)
        #expect(parsed.attachments.first?.filename == m.attachments[0].filename)
        #expect(parsed.header("X-Long") == String(repeating: "value ", count: 100).trimmingCharacters(in: .whitespaces))
    }

    @Test func encodedWordsAreAtMost75AndKeepGraphemesWhole() throws {
        let subjects = [
            String(repeating: "👩‍👩‍👧‍👦", count: 20),
            String(repeating: "日本語のテキスト", count: 20),
            String(repeating: "e\u{301}", count: 100),  // e + combining acute
            "a" + String(repeating: "\u{301}", count: 60),  // one absurd grapheme
            String(repeating: "Grüße ", count: 40),
        ]
        for subject in subjects {
            let words = HeaderEncoding.encodedWords(subject, firstLimit: 69)
            #expect(words.allSatisfy { $0.utf8.count <= 75 })
            #expect(words.first.map { $0.utf8.count <= 69 } ?? false)
            if subject.count > 1 {
                // Each word decodes to whole graphemes on its own (for the absurd one: whole scalars).
                for w in words {
                    let decoded = EncodedWord.decode(Array(w.utf8))
                    #expect(!decoded.contains("\u{FFFD}"), "split UTF-8 sequence in \(w)")
                    if subject.hasPrefix("a\u{301}") == false {
                        #expect(subject.contains(decoded))
                        #expect(decoded.count * (subject.count / max(decoded.count, 1)) <= subject.count)
                    }
                }
            }
            let parsed = MessageParser.parse(try Self.build(Self.message(subject: subject)).bytes)
            #expect(parsed.subject == subject.trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func familyEmojiIsNeverSplitAcrossWords() {
        let family = "👩‍👩‍👧‍👦"
        let words = HeaderEncoding.encodedWords(String(repeating: family, count: 10), firstLimit: 75)
        for w in words {
            let decoded = EncodedWord.decode(Array(w.utf8))
            #expect(decoded.count >= 1)
            #expect(decoded.allSatisfy { String($0) == family })
        }
    }

    @Test func dateIsRFC5322() throws {
        #expect(HeaderEncoding.rfc5322Date(Self.date) == "Tue, 03 Mar 2026 09:05:07 +0000")
        #expect(HeaderEncoding.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        let headers = Self.headerLines(try Self.build(Self.message()).bytes)
        #expect(headers.contains("Date: Tue, 03 Mar 2026 09:05:07 +0000"))
        #expect(headers.contains("Message-ID: <abc.123@example.org>"))
        #expect(headers.contains("In-Reply-To: <orig-2@mail.example.com>"))
        #expect(headers.contains("References: <orig-1@mail.example.com> <orig-2@mail.example.com>"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("From: Support Team <support@example.org>"))
    }

    @Test func duplicateReferencesAreWrittenOnce() throws {
        var m = Self.message()
        m.references = ["a@x", "b@x", "a@x"]
        let headers = Self.headerLines(try Self.build(m).bytes)
        #expect(headers.contains("References: <a@x> <b@x>"))
    }

    // MARK: Injection

    static let injections = ["x\r\nBcc: victim@example.com", "x\nBcc: victim@example.com", "x\rBcc: v@example.com", "x\u{0}y"]

    @Test(arguments: injections)
    func injectionInEveryFieldIsRefused(_ evil: String) throws {
        typealias Mutation = (String, (inout OutgoingMessage) -> Void)
        let mutations: [Mutation] = [
            ("from.name", { $0.from.name = evil }),
            ("from", { $0.from.email = "a@b.example" + evil }),
            ("to[0].name", { $0.to[0].name = evil }),
            ("to[0]", { $0.to[0].email = evil + "@example.com" }),
            ("cc[0].name", { $0.cc[0].name = evil }),
            ("cc[0]", { $0.cc[0].email = "bob@example.net" + evil }),
            ("replyTo.name", { $0.replyTo = MailAddress(name: evil, email: "r@example.com") }),
            ("replyTo", { $0.replyTo = MailAddress(name: nil, email: evil) }),
            ("subject", { $0.subject = evil }),
            ("messageID", { $0.messageID = "id@x" + evil }),
            ("inReplyTo", { $0.inReplyTo = evil + "@x" }),
            ("references[1]", { $0.references[1] = evil }),
            ("extraHeaders[0].name", { $0.extraHeaders[0].name = evil }),
            ("extraHeaders[0].value", { $0.extraHeaders[0].value = evil }),
            ("attachments[0].filename", { $0.attachments[0].filename = "a.pdf" + evil }),
            ("attachments[0].contentType", { $0.attachments[0].contentType = "text/plain" + evil }),
        ]
        for (field, mutate) in mutations {
            var m = Self.message(attachments: [OutgoingAttachment(filename: "a.pdf", contentType: "application/pdf", bytes: [1])])
            mutate(&m)
            #expect(throws: MessageBuildError.forbiddenCharacter(field: field)) { try MessageBuilder.build(m) }
        }
    }

    @Test func bodiesMayContainHeaderLookingLinesSafely() throws {
        let m = Self.message(text: "Hi\r\n\r\nBcc: victim@example.com\r\nFrom: evil@example.com\r\n.\r\nFrom here on\r\n")
        let built = try Self.build(m)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.textBody == "Hi\n\nBcc: victim@example.com\nFrom: evil@example.com\n.\nFrom here on\n")
        #expect(parsed.from == [m.from])
        #expect(parsed.header("Bcc") == nil)
    }

    @Test(arguments: ["", "plain", "a@b@c", "a b@example.com", "<a@example.com>", "Name <a@example.com>", "a@example.com, b@example.com",
                      "a@", "@example.com", ".a@example.com", "a..b@example.com", "a@example..com", "a@example.com.", "\"unterminated@example.com",
                      String(repeating: "a", count: 250) + "@example.com", "a(comment)@example.com", "a@[1.2.3.4"])
    func badAddressesAreRefused(_ address: String) {
        var m = Self.message()
        m.to[0].email = address
        #expect(throws: MessageBuildError.invalidAddress(field: "to[0]", address: address)) { try MessageBuilder.build(m) }
    }

    @Test(arguments: ["a@example.com", "first.last+tag@sub.example.co.uk", "\"john doe\"@example.com", "user@[192.0.2.1]", "o'neil@example.com", "jürgen@bücher.example"])
    func goodAddressesAreAccepted(_ address: String) throws {
        #expect(MessageBuilder.isValidAddress(address))
        var m = Self.message()
        m.to[0].email = address
        let parsed = MessageParser.parse(try Self.build(m).bytes)
        #expect(parsed.to.first?.email == address)
    }

    @Test func otherStructuralErrors() {
        var m = Self.message()
        m.to = []
        m.cc = []
        #expect(throws: MessageBuildError.noRecipients) { try MessageBuilder.build(m) }

        m = Self.message()
        m.messageID = "no-at-sign"
        #expect(throws: MessageBuildError.invalidMessageID(field: "messageID", id: "no-at-sign")) { try MessageBuilder.build(m) }
        m.messageID = "<a@b>"
        #expect(throws: MessageBuildError.invalidMessageID(field: "messageID", id: "<a@b>")) { try MessageBuilder.build(m) }
        m = Self.message()
        m.references = ["ok@x", "has space@x"]
        #expect(throws: MessageBuildError.invalidMessageID(field: "references[1]", id: "has space@x")) { try MessageBuilder.build(m) }
        m = Self.message()
        m.inReplyTo = "ünïcode@x"
        #expect(throws: MessageBuildError.invalidMessageID(field: "inReplyTo", id: "ünïcode@x")) { try MessageBuilder.build(m) }

        m = Self.message()
        m.extraHeaders = [("Bad Name", "v")]
        #expect(throws: MessageBuildError.invalidHeaderName(field: "extraHeaders[0].name", name: "Bad Name")) { try MessageBuilder.build(m) }
        m.extraHeaders = [("X-A:B", "v")]
        #expect(throws: MessageBuildError.invalidHeaderName(field: "extraHeaders[0].name", name: "X-A:B")) { try MessageBuilder.build(m) }
        for name in ["bcc", "Content-Type", "FROM", "Message-ID"] {
            m.extraHeaders = [("Auto-Submitted", "auto-replied"), (name, "x")]
            #expect(throws: MessageBuildError.reservedHeader(field: "extraHeaders[1].name", name: name)) { try MessageBuilder.build(m) }
        }

        m = Self.message(attachments: [OutgoingAttachment(filename: "a", contentType: "text/plain; charset=\"x\"", bytes: [])])
        #expect(throws: MessageBuildError.invalidContentType(field: "attachments[0].contentType", contentType: "text/plain; charset=\"x\"")) {
            try MessageBuilder.build(m)
        }
    }

    @Test func errorsDescribeTheField() {
        #expect(MessageBuildError.forbiddenCharacter(field: "subject").description.contains("subject"))
        #expect(MessageBuildError.invalidAddress(field: "to[2]", address: "x").description.contains("to[2]"))
    }

    // MARK: Boundaries

    @Test func boundaryNeverAppearsInContent() throws {
        // Text that contains what the first boundaries of this seed would be, and other look-alikes.
        var probe = Self.message(text: "x", html: "<p>y</p>", attachments: [OutgoingAttachment(filename: "a.bin", contentType: "", bytes: [1, 2, 3])])
        let firstBuild = String(decoding: try Self.build(probe, seed: 99).bytes, as: UTF8.self)
        let boundaries = firstBuild.components(separatedBy: "boundary=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
        #expect(boundaries.count == 2)
        #expect(Set(boundaries).count == 2, "nested multiparts use different boundaries")
        let hostile = boundaries.map { "--\($0)\n--\($0)--\n" }.joined()
        probe.textBody = "before\n" + hostile + "after\n"
        probe.htmlBody = "<pre>" + hostile + "</pre>"
        probe.attachments[0].bytes = Array(hostile.utf8)
        let built = try Self.build(probe, seed: 99)
        let text = String(decoding: built.bytes, as: UTF8.self)
        let newBoundaries = text.components(separatedBy: "boundary=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
        for b in newBoundaries {
            #expect(!probe.textBody.contains(b))
            #expect(!(probe.htmlBody ?? "").contains(b))
        }
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.textBody == probe.textBody)
        #expect(parsed.htmlBody.map(Self.normalizedText) == probe.htmlBody)
        #expect(parsed.attachments.first?.data == probe.attachments[0].bytes)
        #expect(parsed.attachments.first?.contentType == "application/octet-stream")
        #expect(parsed.defects.isEmpty)
    }

    @Test func boundariesAreRandom() throws {
        let m = Self.message(html: "<p>x</p>")
        let a = String(decoding: try MessageBuilder.build(m).bytes, as: UTF8.self)
        let b = String(decoding: try MessageBuilder.build(m).bytes, as: UTF8.self)
        #expect(a != b)
    }

    // MARK: Transfer encodings

    @Test func quotedPrintableEncoding() {
        func qp(_ s: String) -> String { String(decoding: QuotedPrintableEncoder.encode(Array(s.utf8)), as: UTF8.self) }
        #expect(qp("a=b") == "a=3Db")
        #expect(qp("Grüße") == "Gr=C3=BC=C3=9Fe")
        #expect(qp("trailing space \r\nnext\t") == "trailing space=20\r\nnext=09")
        #expect(qp("From me\r\n.\r\n") == "=46rom me\r\n=2E\r\n")
        let long = qp(String(repeating: "abcdefghij", count: 20))
        let lines = long.components(separatedBy: "\r\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        #expect(!qp(String(repeating: "=_ ", count: 100)).contains("=_"))

        // Random bytes (as a text line set) decode back exactly.
        var rng = XorShift(seed: 7)
        for _ in 0..<50 {
            var input = [UInt8]()
            for _ in 0..<rng.int(400) {
                let b = rng.byte()
                if b == 0x0D || b == 0x0A { input += [0x0D, 0x0A] } else { input.append(b) }
            }
            let encoded = QuotedPrintableEncoder.encode(input)
            #expect(encoded.allSatisfy { $0 < 0x80 })
            #expect(Self.lines(encoded).allSatisfy { $0.count <= 76 })
            #expect(QuotedPrintable.decode(encoded).data == input)
        }
    }

    @Test func base64Encoding() throws {
        #expect(Base64Encoder.encode(Array("".utf8)) == [])
        #expect(String(decoding: Base64Encoder.encode(Array("f".utf8)), as: UTF8.self) == "Zg==\r\n")
        #expect(String(decoding: Base64Encoder.encode(Array("fo".utf8)), as: UTF8.self) == "Zm8=\r\n")
        #expect(String(decoding: Base64Encoder.encode(Array("foo".utf8)), as: UTF8.self) == "Zm9v\r\n")
        #expect(String(decoding: Base64Encoder.encode(Array("foobar".utf8), lineLength: nil), as: UTF8.self) == "Zm9vYmFy")
        var rng = XorShift(seed: 3)
        for n in [1, 2, 3, 56, 57, 58, 114, 1000] {
            let input = (0..<n).map { _ in rng.byte() }
            let encoded = Base64Encoder.encode(input)
            let lines = Self.lines(encoded)
            #expect(lines.dropLast().allSatisfy { $0.count == 76 })
            #expect(lines.allSatisfy { $0.count <= 76 })
            #expect(Base64Decoder.decode(encoded).data == input)
            #expect(Data(input).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]) + "\r\n"
                == String(decoding: encoded, as: UTF8.self))
        }
    }

    @Test func nonASCIIOrLongLinesUseQuotedPrintable() throws {
        let long = try Self.build(Self.message(text: String(repeating: "x", count: 100)))
        #expect(String(decoding: long.bytes, as: UTF8.self).contains("Content-Transfer-Encoding: quoted-printable"))
        let umlaut = try Self.build(Self.message(text: "ä"))
        #expect(String(decoding: umlaut.bytes, as: UTF8.self).contains("Content-Transfer-Encoding: quoted-printable"))
        let plain = try Self.build(Self.message(text: "plain short lines\nonly\n"))
        #expect(String(decoding: plain.bytes, as: UTF8.self).contains("Content-Transfer-Encoding: 7bit"))
    }

    @Test func filenameParameters() throws {
        let ascii = MessageBuilder.filenameParameters("report.pdf")
        #expect(ascii.fallback == "\"report.pdf\"")
        #expect(ascii.extended.isEmpty)
        let german = MessageBuilder.filenameParameters("Übersicht März.pdf")
        #expect(german.fallback == "\"Ubersicht Marz.pdf\"")
        #expect(german.extended == ["filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.pdf"])
        let japanese = MessageBuilder.filenameParameters("請求書_2026年3月_最終版_確認済み.pdf")
        #expect(japanese.fallback.hasSuffix(".pdf\""))
        #expect(japanese.fallback.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(japanese.extended.count > 1)
        #expect(japanese.extended[0].hasPrefix("filename*0*=UTF-8''"))
        #expect(japanese.extended[1].hasPrefix("filename*1*="))
        for section in japanese.extended {
            // Each section decodes to whole characters on its own.
            let value = section.split(separator: "=", maxSplits: 1)[1].replacingOccurrences(of: "UTF-8''", with: "")
            #expect(value.removingPercentEncoding != nil, "\(section)")
        }
        let zalgo = MessageBuilder.filenameParameters("a" + String(repeating: "\u{301}", count: 500) + ".txt")
        #expect(zalgo.extended.allSatisfy { $0.utf8.count < 78 })
        let quotes = MessageBuilder.filenameParameters("say \"hi\"\\.txt")
        #expect(quotes.fallback == "\"say \\\"hi\\\"\\\\.txt\"")
        let parsed = MessageParser.parse(try Self.build(Self.message(attachments: [OutgoingAttachment(filename: "say \"hi\"\\.txt", contentType: "text/plain", bytes: [65])])).bytes)
        #expect(parsed.attachments.first?.filename == "say \"hi\"\\.txt")
    }

    @Test func tenMegabyteAttachmentBuilds() throws {
        var rng = XorShift(seed: 10)
        let size = 10 * 1024 * 1024
        var data = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 8) {
            let v = rng.next()
            for k in 0..<8 where i + k < size { data[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        }
        let m = Self.message(html: "<p>see attached</p>", attachments: [OutgoingAttachment(filename: "big.bin", contentType: "application/octet-stream", bytes: data)])
        let built = try Self.build(m)
        #expect(built.bytes.count > size * 4 / 3)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.attachments.count == 1)
        #expect(parsed.attachments.first?.data == data)
    }
}

/// SplitMix64: a seeded generator so boundaries are reproducible in tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1330_11EB
        return z ^ (z >> 31)
    }
}
