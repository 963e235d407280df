import Foundation
import MIME
import Testing
@testable import MailCorpus

@Suite("The corpus generator")
struct CorpusGeneratorTests {
    static let sample = CorpusGenerator.messages(count: 1000, seed: 42)
    static let parsed = sample.map { MessageParser.parse($0) }

    @Test("the same seed gives the same bytes; another seed gives other mail")
    func deterministic() {
        #expect(CorpusGenerator.messages(count: 200, seed: 42) == Array(Self.sample.prefix(200)))
        let other = CorpusGenerator.messages(count: 200, seed: 7)
        #expect(other != Array(Self.sample.prefix(200)))
    }

    @Test("every message has a unique Message-ID; replies answer an earlier message and carry its References")
    func threading() {
        var seen = Set<String>()
        var replies = 0
        for message in Self.parsed {
            guard let id = message.messageID else { continue }
            #expect(!seen.contains(id), "Message-ID \(id) appears twice")
            // The malformation with 150 References replaces a reply's own headers; the rest cap theirs at 20.
            if let parent = message.inReplyTo.first, message.references.count <= 20 {
                #expect(seen.contains(parent), "\(id) answers \(parent), which came later or never")
                #expect(message.references.last == parent)
                #expect(message.subject?.hasPrefix("Re: ") == true)
                replies += 1
            }
            seen.insert(id)
        }
        #expect(seen.count >= 990)
        #expect((300...500).contains(replies), "\(replies) replies in 1,000 messages")
    }

    @Test("replies come mostly from the thread's customer, and also from staff and strangers")
    func replyAuthors() {
        var byID: [String: ParsedMessage] = [:]
        for message in Self.parsed { if let id = message.messageID { byID[id] = message } }
        var customer = 0, staff = 0
        for message in Self.parsed {
            guard let parent = message.inReplyTo.first, let root = message.references.first, let first = byID[root],
                  let sender = message.from.first?.email, byID[parent] != nil else { continue }
            if sender == first.from.first?.email { customer += 1 }
            if sender.hasSuffix("@helpdesk.example") { staff += 1 }
        }
        #expect(customer > staff)
        #expect(staff > 50)
    }

    @Test("the mix holds: HTML, attachments from 2 KB to 2 MB, encoded subjects, Japanese, and about 4% malformed")
    func mix() throws {
        let html = Self.parsed.filter { $0.htmlBody != nil }.count
        #expect(html > 250)
        let attachments = Self.parsed.flatMap(\.attachments)
        #expect(attachments.count > 150)
        #expect(attachments.contains { $0.size > 400_000 })
        #expect(attachments.contains { $0.filename?.unicodeScalars.contains { !$0.isASCII } == true })
        let raw = Self.sample.map { String(decoding: $0, as: UTF8.self) }
        #expect(raw.filter { $0.contains("=?UTF-8?B?") }.count > 50)
        #expect(raw.filter { $0.contains("=?ISO-8859-1?Q?") }.count > 10)
        #expect(raw.filter { $0.contains("charset=\"Shift_JIS\"") }.count > 5)
        #expect(raw.filter { $0.contains("charset=\"ISO-2022-JP\"") }.count > 3)
        let japanese = Self.parsed.compactMap(\.textBody).filter { $0.contains("お願いいたします") }
        #expect(japanese.count > 10, "Japanese bodies decode back to their text")
        let defective = Self.parsed.filter { !$0.defects.isEmpty }.count
        #expect((10...120).contains(defective), "\(defective) messages with defects")
        let total = Self.sample.reduce(0) { $0 + $1.count }
        #expect((20_000_000...80_000_000).contains(total), "\(total) bytes for 1,000 messages")
    }

    @Test("encoded-word subjects decode back to the text that was encoded")
    func encodedSubjects() {
        let subjects = Self.parsed.compactMap(\.subject)
        #expect(subjects.contains { $0.contains("Rückerstattung") })
        #expect(subjects.contains { $0.contains("ログインできません") })
        #expect(subjects.contains { $0.contains("Не приходит") })
    }

    @Test("dates are RFC 5322 and computed without a calendar library")
    func dates() {
        #expect(MailEncoding.date(seconds: 0, offsetMinutes: 0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailEncoding.date(seconds: 1_709_280_000, offsetMinutes: 330) == "Fri, 01 Mar 2024 13:30:00 +0530")
        #expect(MailEncoding.date(seconds: 1_709_280_000, offsetMinutes: -480) == "Fri, 01 Mar 2024 00:00:00 -0800")
    }

    @Test("quoted-printable keeps lines under 77 characters and decodes back")
    func quotedPrintable() {
        let text = "Grüße " + String(repeating: "Überweisung = fällig ", count: 10) + "\nnext line \n"
        let encoded = MailEncoding.quotedPrintable(Array(text.utf8))
        #expect(encoded.split(separator: "\n").allSatisfy { $0.count <= 76 })
        #expect(encoded.contains("=3D"))
        #expect(encoded.contains("=20\n"), "a space before a line break is encoded")
    }

    @Test("a corpus folder is written once and reused while its manifest matches")
    func folder() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let folder = CorpusFolder(url: url)
        let manifest = try folder.write(count: 50, seed: 42)
        #expect(manifest.count == 50)
        #expect(try folder.files().count == 50)
        #expect(try Data(contentsOf: folder.files()[0]) == Data(Self.sample[0]))
        #expect(try folder.write(count: 50, seed: 42) == manifest)
        #expect(try folder.write(count: 20, seed: 42).count == 20)
        #expect(try folder.files().count == 20)
    }
}
