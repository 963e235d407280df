import Foundation

/// A helpdesk's inbox, generated: the same seed gives the same messages, byte for byte, on every machine.
///
/// About 40% of messages answer an earlier one with In-Reply-To and References, mostly from the thread's
/// customer, sometimes from a colleague on its Cc, a staff member writing from their own address, or
/// someone outside the conversation. Bodies come as plain text (7bit, 8bit, quoted-printable, base64; UTF-8
/// and ISO-8859-1), HTML with a plain alternative (some with an inline image), HTML only, Japanese in
/// Shift_JIS and ISO-2022-JP, and with 1–3 attachments from 2 KB to 2 MB. A quarter of new subjects are
/// encoded words. About 4% are malformed the ways real mail is (see `Malformation`). Lines end in LF,
/// as in a Maildir.
public struct CorpusGenerator: Sendable {
    /// What kind of message was generated, for the corpus's manifest.
    public enum Kind: String, Sendable, CaseIterable {
        case plain, quotedPrintable, eightBit, alternative, related, htmlOnly, attachments, japanese, malformed
    }

    /// The ways a message can be broken, used in turn.
    public enum Malformation: String, Sendable, CaseIterable {
        case unterminatedMultipart, unknownCharset, rawUTF8Headers, rawLatin1Header, hugeHeaderLines
        case multipartWithoutBoundary, brokenBase64, lineWithoutColon, impossibleDateAndAddresses, truncated
    }

    public struct Message: Sendable {
        public var bytes: [UInt8]
        public var kind: Kind
        public var isReply: Bool
    }

    private struct Thread: Sendable {
        var references: [String]
        var subject: String
        var subjectCharset: MailCharset
        var customer: (name: String, email: String)
        var colleague: (name: String, email: String)?
        var lastText: String
        var lastDate: String
        var lastFrom: String
        var ticket: Int
    }

    private var random: SeededRandom
    private var threads: [Thread] = []
    private var clock = 1_709_280_000 // 2024-03-01 08:00 UTC
    private var index = 0
    private var malformedCount = 0

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    /// `count` messages from `seed`.
    public static func messages(count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = CorpusGenerator(seed: seed)
        return (0..<count).map { _ in generator.next().bytes }
    }

    public mutating func next() -> Message {
        index += 1
        let kind = random.weighted([(Kind.plain, 30), (.quotedPrintable, 8), (.eightBit, 3), (.alternative, 27), (.related, 5),
                                    (.htmlOnly, 3), (.attachments, 16), (.japanese, 4), (.malformed, 4)])
        var thread: Int? = nil
        if !threads.isEmpty && random.chance(0.4) {
            thread = threads.count - 1 - random.int(0...min(299, threads.count - 1))
        }
        let author: (name: String, email: String)
        var isStaff = false
        var subject: String
        var subjectHeader: String
        if let t = thread {
            let roll = random.int(0...99)
            if roll < 45 {
                author = threads[t].customer
            } else if roll < 80 {
                author = random.pick(Vocabulary.agents)
                isStaff = true
            } else if roll < 90, let colleague = threads[t].colleague {
                author = colleague
            } else if roll < 90 {
                author = threads[t].customer
            } else {
                author = person()
            }
            subject = threads[t].subject
            if isStaff && !subject.hasPrefix("[#") { subject = "[#\(threads[t].ticket)] " + subject }
            if subject.unicodeScalars.allSatisfy(\.isASCII) {
                subjectHeader = MailEncoding.fold("Subject", "Re: " + subject)
            } else {
                let charset = threads[t].subjectCharset
                subjectHeader = MailEncoding.header("Subject", words: ["Re:"] + MailEncoding.encodedWords(subject, charset: charset, base64: charset != .latin1))
            }
            subject = "Re: " + subject
        } else {
            author = person()
            (subject, subjectHeader, _) = newSubject()
        }

        let domain = author.email.split(separator: "@").last.map(String.init) ?? "example.com"
        let messageID = "<\(String(format: "%07d", index)).\(random.hex(12))@\(domain)>"
        let date = nextDate()
        var headers = traceHeaders(domain: domain, date: date)
        headers.append("From: " + address(author))
        if isStaff, let t = thread {
            headers.append("To: " + address(threads[t].customer))
        } else {
            headers.append("To: \(Vocabulary.support.name) <\(Vocabulary.support.email)>")
        }
        var cc: [(name: String, email: String)] = []
        if thread == nil && random.chance(0.2) {
            cc = (0..<random.int(1...3)).map { _ in person() }
            headers.append(MailEncoding.fold("Cc", cc.map { "\($0.email)" }.joined(separator: ", ")))
        } else if let t = thread, let colleague = threads[t].colleague, random.chance(0.5) {
            headers.append("Cc: \(colleague.email)")
        }
        headers.append(subjectHeader)
        headers.append("Date: " + date)
        headers.append("Message-ID: " + messageID)
        if let t = thread {
            let references = threads[t].references.suffix(20)
            headers.append("In-Reply-To: " + (references.last ?? ""))
            headers.append(MailEncoding.fold("References", references.joined(separator: " ")))
        }
        headers.append("MIME-Version: 1.0")
        headers.append(random.pick(Vocabulary.mailers))

        let text = bodyText(author: author, quoting: thread.map { threads[$0] })
        var rawPrefix: [UInt8] = []
        let body: [UInt8]
        switch kind {
        case .plain: body = textPart(text)
        case .eightBit: body = textPart(text + "Grüße aus Köln – ça marche ?\n", transfer: .eightBit)
        case .quotedPrintable:
            let latin = text + "\nBetrag: 240 € inkl. MwSt., Lieferung in 3 Werktagen. " + String(repeating: "Überweisung ", count: 8) + "\n"
            if random.chance(0.5), MailCharset.latin1.encode(latin.replacingOccurrences(of: "€", with: "EUR")) != nil {
                body = textPart(latin.replacingOccurrences(of: "€", with: "EUR"), charset: .latin1, transfer: .quotedPrintable)
            } else {
                body = textPart(latin, transfer: .quotedPrintable)
            }
        case .alternative, .related, .htmlOnly:
            let html = htmlPart(text)
            if kind == .htmlOnly {
                body = html
            } else {
                var alternative = multipart("alternative", [textPart(text), html])
                if kind == .related {
                    let logo = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + random.bytes(random.int(3000...16000))
                    let image = Array("Content-Type: image/png; name=\"logo.png\"\nContent-Disposition: inline; filename=\"logo.png\"\nContent-ID: <logo.\(random.hex(8))@helpdesk.example>\nContent-Transfer-Encoding: base64\n\n\(MailEncoding.base64Lines(logo))".utf8)
                    alternative = multipart("related", [alternative, image], parameters: ";\n type=\"multipart/alternative\"")
                }
                body = alternative
            }
        case .attachments:
            let first = random.chance(0.5) ? textPart(text) : multipart("alternative", [textPart(text), htmlPart(text)])
            let count = random.weighted([(1, 70), (2, 20), (3, 10)])
            body = multipart("mixed", [first] + (0..<count).map { _ in random.chance(0.03) ? forwardedMessage() : attachment() })
        case .japanese:
            let japanese = (0..<random.int(3...10)).map { _ in random.pick(Vocabulary.japaneseSentences) }.joined(separator: "\n") + "\n"
            if random.chance(0.6), let sjis = MailCharset.shiftJIS.encode(japanese) {
                body = Array("Content-Type: text/plain; charset=\"Shift_JIS\"\nContent-Transfer-Encoding: base64\n\n\(MailEncoding.base64Lines(sjis))".utf8)
            } else {
                let jis = MailCharset.iso2022JP.encode(japanese) ?? Array(japanese.utf8)
                body = Array("Content-Type: text/plain; charset=\"ISO-2022-JP\"\nContent-Transfer-Encoding: 7bit\n\n".utf8) + jis
            }
        case .malformed:
            let malformation = Malformation.allCases[malformedCount % Malformation.allCases.count]
            malformedCount += 1
            (body, rawPrefix) = malformed(malformation, text: text, headers: &headers)
        }

        var bytes = rawPrefix + Array((headers.joined(separator: "\n") + "\n").utf8) + body
        if bytes.last != 0x0A { bytes.append(0x0A) }

        if let t = thread {
            threads[t].references.append(messageID)
            threads[t].lastText = text
            threads[t].lastDate = date
            threads[t].lastFrom = author.name
        } else {
            let charset: MailCharset = subjectHeader.contains("ISO-8859-1") ? .latin1 : subjectHeader.contains("Shift_JIS") ? .shiftJIS : .utf8
            threads.append(Thread(references: [messageID], subject: subject, subjectCharset: charset, customer: author,
                                  colleague: cc.first, lastText: text, lastDate: date, lastFrom: author.name, ticket: 10_000 + index))
        }
        return Message(bytes: bytes, kind: kind, isReply: thread != nil)
    }

    // MARK: - People, subjects, dates

    private mutating func person() -> (name: String, email: String) {
        (random.pick(Vocabulary.people), "customer\(random.int(1...6000))@\(random.pick(Vocabulary.domains))")
    }

    private mutating func address(_ who: (name: String, email: String)) -> String {
        MailEncoding.address(name: who.name, email: who.email, base64: random.chance(0.5))
    }

    private mutating func newSubject() -> (String, String, MailCharset) {
        let number = String(random.int(10_000...99_999))
        let roll = random.int(0...99)
        func fill(_ s: String) -> String { s.replacingOccurrences(of: "{n}", with: number) }
        if roll < 75 {
            let s = fill(random.pick(Vocabulary.asciiSubjects))
            return (s, MailEncoding.fold("Subject", s), .utf8)
        }
        let (list, charset, base64): ([String], MailCharset, Bool) = roll < 85 ? (Vocabulary.unicodeSubjects, .utf8, true)
            : roll < 90 ? (Vocabulary.unicodeSubjects, .utf8, false)
            : roll < 96 ? (Vocabulary.latin1Subjects, .latin1, false)
            : (Vocabulary.japaneseSubjects, .shiftJIS, true)
        let s = fill(random.pick(list))
        return (s, MailEncoding.header("Subject", words: MailEncoding.encodedWords(s, charset: charset, base64: base64)), charset)
    }

    private mutating func nextDate() -> String {
        clock += random.int(20...400)
        return MailEncoding.date(seconds: clock, offsetMinutes: random.pick([0, 60, 120, -300, -480, 540, 330]))
    }

    private mutating func traceHeaders(domain: String, date: String) -> [String] {
        var headers = ["Return-Path: <bounces+\(random.int(1...99_999))@\(domain)>"]
        for hop in 0..<random.int(2...4) {
            headers.append("Received: from mx\(hop).\(domain) (mx\(hop).\(domain) [198.51.100.\(random.int(1...254))])\n\tby mx.helpdesk.example (Postfix) with ESMTPS id \(random.hex(10).uppercased())\n\tfor <support@helpdesk.example>; \(date)")
        }
        headers.append("Authentication-Results: mx.helpdesk.example;\n\tdkim=pass header.d=\(domain);\n\tspf=pass smtp.mailfrom=\(domain); dmarc=pass")
        let signature = Data(random.bytes(256)).base64EncodedString()
        var folded: [String] = []
        var rest = Substring(signature)
        while !rest.isEmpty {
            folded.append(String(rest.prefix(70)))
            rest = rest.dropFirst(70)
        }
        headers.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=\(domain); s=s1;\n\th=from:to:subject:date:message-id;\n\tbh=\(Data(random.bytes(32)).base64EncodedString());\n\tb=\(folded.joined(separator: "\n\t "))")
        return headers
    }

    // MARK: - Bodies

    private mutating func sentence(accents: Bool) -> String {
        var words = (0..<random.int(6...18)).map { _ in random.pick(Vocabulary.words) }
        if accents && random.chance(0.5) { words[random.int(0...(words.count - 1))] = random.pick(Vocabulary.accented) }
        let s = words.joined(separator: " ")
        return s.prefix(1).uppercased() + s.dropFirst() + random.pick([".", ".", ".", "?", "!"])
    }

    private mutating func paragraph(accents: Bool) -> String {
        let text = (0..<random.int(2...6)).map { _ in sentence(accents: accents) }.joined(separator: " ")
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > 72 {
                lines.append(line)
                line = String(word)
            } else {
                line = line.isEmpty ? String(word) : line + " " + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    private mutating func bodyText(author: (name: String, email: String), quoting thread: Thread?) -> String {
        let accents = random.chance(0.35)
        var paragraphs = [random.pick(Vocabulary.greetings) + ","]
        paragraphs += (0..<random.pick([1, 2, 2, 3, 3, 4, 6])).map { _ in paragraph(accents: accents) }
        paragraphs.append(random.pick(Vocabulary.closings) + "\n" + author.name
                          + random.pick(["", "\nPhone +1 555 0\(random.int(100...999))", "\nNorthwind Traders | Purchasing"]))
        if random.chance(0.3) {
            paragraphs.append("-- \nThis message may contain confidential information. If you received it\nin error, please tell the sender and delete it.")
        }
        var text = paragraphs.joined(separator: "\n\n") + "\n"
        if let thread {
            let quoted = thread.lastText.split(separator: "\n", omittingEmptySubsequences: false).prefix(40)
                .map { $0.isEmpty ? ">" : "> " + $0 }.joined(separator: "\n")
            text += "\nOn \(thread.lastDate), \(thread.lastFrom) wrote:\n\(quoted)\n"
        }
        return text
    }

    private enum Transfer: String { case sevenBit = "7bit", eightBit = "8bit", quotedPrintable = "quoted-printable", base64 }

    private mutating func textPart(_ text: String, charset: MailCharset = .utf8, subtype: String = "plain", transfer: Transfer? = nil) -> [UInt8] {
        let bytes = charset.encode(text) ?? Array(text.utf8)
        let label = charset.encode(text) == nil ? "utf-8" : charset.label.lowercased()
        let ascii = bytes.allSatisfy { $0 < 0x80 }
        let chosen = transfer ?? (ascii ? .sevenBit : random.pick([.quotedPrintable, .quotedPrintable, .base64, .eightBit]))
        let head = "Content-Type: text/\(subtype); charset=\"\(label)\"\nContent-Transfer-Encoding: \(chosen.rawValue)\n\n"
        switch chosen {
        case .quotedPrintable: return Array((head + MailEncoding.quotedPrintable(bytes)).utf8)
        case .base64: return Array((head + MailEncoding.base64Lines(bytes)).utf8)
        case .sevenBit, .eightBit: return Array(head.utf8) + bytes
        }
    }

    private mutating func htmlPart(_ text: String) -> [UInt8] {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        let blocks = escaped.components(separatedBy: "\n\n").map { block -> String in
            let inner = block.replacingOccurrences(of: "\n", with: "<br>\n")
            return block.hasPrefix("&gt;") || block.contains("\n&gt;")
                ? "<blockquote style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">\(inner)</blockquote>"
                : "<p style=\"margin:0;font-family:Calibri,Arial,sans-serif;font-size:11pt\">\(inner)</p>"
        }
        let html = "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n<style>p{margin:0} a{color:#0563C1}</style>\n</head>\n<body>\n<div class=\"WordSection1\">\n\(blocks.joined(separator: "\n"))\n</div>\n</body>\n</html>\n"
        let ascii = html.unicodeScalars.allSatisfy(\.isASCII)
        return textPart(html, subtype: "html", transfer: random.pick(ascii ? [.quotedPrintable, .base64, .sevenBit] : [.quotedPrintable, .base64, .eightBit]))
    }

    private mutating func attachment() -> [UInt8] {
        let (type, ext, magic): (String, String, [UInt8]?) = random.weighted([
            (("application/pdf", "pdf", Array("%PDF-1.7\n%\u{E2}\u{E3}".utf8)), 35), (("image/png", "png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), 20),
            (("image/jpeg", "jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46]), 15),
            (("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", [0x50, 0x4B, 0x03, 0x04]), 10),
            (("application/zip", "zip", [0x50, 0x4B, 0x03, 0x04]), 5), (("text/csv", "csv", nil), 8), (("text/plain", "log", nil), 7),
        ])
        let roll = random.int(0...99)
        let size = roll < 70 ? random.int(2_048...61_440) : roll < 97 ? random.int(61_440...409_600) : random.int(409_600...2_097_152)
        var data: [UInt8]
        if let magic {
            data = magic + random.bytes(size - magic.count)
        } else {
            var lines: [String] = []
            var total = 0
            while total < size {
                let line = "\(lines.count),\(random.pick(Vocabulary.words)),\(random.pick(Vocabulary.words)),\(random.int(0...9999)).\(random.int(10...99))"
                total += line.utf8.count + 1
                lines.append(line)
            }
            data = Array((lines.joined(separator: "\n") + "\n").utf8)
        }
        let name = "\(random.pick(Vocabulary.attachmentNames))_\(random.int(1...999)).\(ext)"
        let head: String
        if name.unicodeScalars.allSatisfy(\.isASCII) {
            head = "Content-Type: \(type); name=\"\(name)\"\nContent-Disposition: attachment; filename=\"\(name)\""
        } else {
            let percent = name.utf8.map { byte -> String in
                (byte < 0x80 && (UnicodeScalar(byte).properties.isAlphabetic || (0x30...0x39).contains(byte) || byte == 0x2E || byte == 0x5F || byte == 0x2D))
                    ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
            }.joined()
            head = "Content-Type: \(type);\n name=\"\(MailEncoding.encodedWords(name, charset: .utf8, base64: true).joined(separator: " "))\"\nContent-Disposition: attachment;\n filename*=UTF-8''\(percent)"
        }
        data = Array(data.prefix(size))
        return Array((head + "\nContent-Transfer-Encoding: base64\n\n" + MailEncoding.base64Lines(data)).utf8)
    }

    private mutating func forwardedMessage() -> [UInt8] {
        let who = person()
        let inner = "From: \(address(who))\nTo: support@helpdesk.example\nSubject: Fwd: \(random.pick(Vocabulary.asciiSubjects).replacingOccurrences(of: "{n}", with: String(random.int(1...9999))))\nDate: \(nextDate())\nMessage-ID: <fwd.\(random.hex(16))@\(who.email.split(separator: "@").last ?? "example.com")>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\(paragraph(accents: true))\n"
        return Array(("Content-Type: message/rfc822\nContent-Disposition: attachment\n\n" + inner).utf8)
    }

    private mutating func multipart(_ subtype: String, _ parts: [[UInt8]], parameters: String = "", close: Bool = true) -> [UInt8] {
        let boundary = "=_mr_\(random.hex(10))_\(random.hex(8))"
        var out = Array("Content-Type: multipart/\(subtype);\n boundary=\"\(boundary)\"\(parameters)\n\nThis is a multi-part message in MIME format.\n\n".utf8)
        for part in parts {
            out += Array("--\(boundary)\n".utf8) + part
            if part.last != 0x0A { out.append(0x0A) }
        }
        if close { out += Array("--\(boundary)--\n".utf8) }
        return out
    }

    // MARK: - Broken mail

    private mutating func malformed(_ kind: Malformation, text: String, headers: inout [String]) -> (body: [UInt8], prefix: [UInt8]) {
        func replace(_ name: String, with line: String) {
            if let at = headers.firstIndex(where: { $0.hasPrefix(name + ":") }) { headers[at] = line }
        }
        switch kind {
        case .unterminatedMultipart:
            return (multipart("mixed", [textPart(text), attachment()], close: false), [])
        case .unknownCharset:
            headers.append("X-Original-Subject: =?x-no-such-charset?B?\(Data("Données".utf8).base64EncodedString())?=")
            let label = random.pick(["utf-8x", "unknown-8bit", "x-bogus", "latin-99", "windows-9999"])
            return (Array("Content-Type: text/plain; charset=\"\(label)\"\nContent-Transfer-Encoding: 8bit\n\n\(text)Grüße – déjà vu\n".utf8), [])
        case .rawUTF8Headers:
            replace("Subject", with: "Subject: Rückfrage zu Ihrer Bestellung – 注文番号 \(random.int(1...99_999))")
            replace("From", with: "From: Jörg Schäfer <joerg@kunde.example.de>")
            return (textPart(text, transfer: .eightBit), [])
        case .rawLatin1Header:
            return (textPart(text), [0x58, 0x2D, 0x4E, 0x6F, 0x74, 0x65, 0x3A, 0x20] + (MailCharset.latin1.encode("Réclamation envoyée à François") ?? []) + [0x0A])
        case .hugeHeaderLines:
            headers.append("References: " + (0..<150).map { "<\(random.hex(16)).\($0)@\(random.pick(Vocabulary.domains))>" }.joined(separator: " "))
            headers.append("X-Trace: " + Data(random.bytes(9000)).base64EncodedString())
            replace("Subject", with: "Subject: " + (0..<12).map { _ in sentence(accents: false) }.joined(separator: " "))
            return (textPart(text), [])
        case .multipartWithoutBoundary:
            let b = "NOBOUNDARY\(random.int(1...999_999))"
            return (Array("Content-Type: multipart/alternative\n\n--\(b)\n".utf8) + textPart(text) + Array("\n--\(b)\n".utf8) + htmlPart(text) + Array("\n--\(b)--\n".utf8), [])
        case .brokenBase64:
            var data = MailEncoding.base64Lines(random.bytes(random.int(2000...40_000)))
            let middle = data.index(data.startIndex, offsetBy: data.count / 2)
            data.insert(contentsOf: "!!@@##not base64##\n", at: middle)
            data.removeLast(3)
            let part = Array("Content-Type: application/pdf; name=\"broken.pdf\"\nContent-Disposition: attachment; filename=\"broken.pdf\"\nContent-Transfer-Encoding: base64\n\n\(data)\n".utf8)
            return (multipart("mixed", [textPart(text), part]), [])
        case .lineWithoutColon:
            headers.insert("This line is not a header at all", at: headers.count / 2)
            headers.append("Content-Type: text/html")
            return (textPart(text), [])
        case .impossibleDateAndAddresses:
            replace("Date", with: "Date: Mon, 32 Foo 2024 25:61:00 +9999")
            replace("From", with: "From: undisclosed <@>")
            replace("To", with: "To: a@b@c, <>, \"unterminated")
            return (textPart(text), [])
        case .truncated:
            let whole = multipart("mixed", [textPart(text), attachment()])
            return (Array(whole.prefix(whole.count * 2 / 3)), [])
        }
    }
}
