import Foundation
import MIME
import MailroomCore
import Testing

/// An email is a value whose fields are shared between copies until one changes (a box, copied on write): each copy
/// must still behave as its own value, and an email fit to store must come back from `storable` as it is.
@Suite struct IncomingEmailTests {
    static func email() -> IncomingEmail {
        let raw = Array("""
            From: Ann <ann@example.com>\r
            To: support@example.org, Bob <bob@example.net>\r
            Cc: carol@example.net\r
            Subject: Printer on fire\r
            Message-ID: <m1@example.com>\r
            In-Reply-To: <m0@example.com>\r
            Content-Type: multipart/mixed; boundary="b"\r
            \r
            --b\r
            Content-Type: text/html\r
            \r
            <p>It burns</p>\r
            --b\r
            Content-Type: application/pdf; name="manual.pdf"\r
            Content-ID: <c1@example.com>\r
            \r
            %PDF\r
            --b--\r

            """.utf8)
        var email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(timeIntervalSince1970: 1_700_000_000), contentHash: "")
        email.sourceUID = 7
        return email
    }

    @Test func copiesAreIndependentValues() {
        let original = Self.email()
        var copy = original
        copy.subject = "Changed"
        copy.to.append(Person(name: nil, email: "dan@example.net"))
        copy.raw = []
        copy.archived = RawLocation(segment: "s1", offset: 4096, length: 10)
        #expect(original.subject == "Printer on fire")
        #expect(original.to.map(\.email) == ["support@example.org", "bob@example.net"])
        #expect(!original.raw.isEmpty)
        #expect(original.archived == nil)
        #expect(copy.subject == "Changed" && copy.to.count == 3 && copy.raw.isEmpty && copy.archived?.offset == 4096)

        // Through a collection, as the syncer writes the archive's locations into a commit group.
        var group = [original, original]
        group[1].archived = RawLocation(segment: "s2", offset: 0, length: 10)
        #expect(group[0].archived == nil && original.archived == nil)
        #expect(group[1].archived?.segment == "s2")
        // The other fields of the changed copy are the original's.
        #expect(group[1].subject == original.subject && group[1].raw == original.raw && group[1].sourceUID == 7)
    }

    @Test func storableLeavesAFitEmailAsItIs() {
        let email = Self.email()
        let stored = email.storable
        #expect(stored.subject == email.subject && stored.textBody == email.textBody && stored.sanitizedHTML == email.sanitizedHTML)
        #expect(stored.to == email.to && stored.attachments == email.attachments && stored.threadReferences == email.threadReferences)
    }

    /// Every text field `storable` cleans, each tried alone: the check that lets a fit email through untouched must
    /// not let any of them through unfit.
    @Test func storableCleansEveryTextField() {
        let dirty = "a\u{0}b\u{1B}c\u{7F}"
        var edits: [(String, (inout IncomingEmail) -> Void, (IncomingEmail) -> [String])] = [
            ("from.email", { $0.from.email = dirty }, { [$0.from.email] }),
            ("from.name", { $0.from.name = dirty }, { [$0.from.name ?? ""] }),
            ("to", { $0.to[1].name = dirty }, { $0.to.compactMap(\.name) }),
            ("cc", { $0.cc[0].email = dirty }, { $0.cc.map(\.email) }),
            ("subject", { $0.subject = dirty }, { [$0.subject] }),
            ("messageID", { $0.messageID = dirty }, { [$0.messageID ?? ""] }),
            ("threadReferences", { $0.threadReferences.append(dirty) }, { $0.threadReferences }),
            ("textBody", { $0.textBody = dirty }, { [$0.textBody] }),
            ("sanitizedHTML", { $0.sanitizedHTML = dirty }, { [$0.sanitizedHTML ?? ""] }),
            ("defects", { $0.defects.append(dirty) }, { $0.defects }),
            ("dedupeKey", { $0.dedupeKey = dirty }, { [$0.dedupeKey] }),
            ("attachment filename", { $0.attachments[0].filename = dirty }, { $0.attachments.map(\.filename) }),
            ("attachment type", { $0.attachments[0].contentType = dirty }, { $0.attachments.map(\.contentType) }),
            ("attachment content id", { $0.attachments[0].contentID = dirty }, { $0.attachments.compactMap(\.contentID) }),
        ]
        edits.append(("body keeps its breaks", { $0.textBody = "one\r\n\ttwo\u{0}" }, { [$0.textBody == "one\r\n\ttwo" ? "" : "\u{0}"] }))
        for (field, edit, read) in edits {
            var email = Self.email()
            edit(&email)
            let before = read(email)
            let stored = email.storable
            let controls = read(stored).flatMap(\.unicodeScalars).filter { $0.value < 0x20 && !["\t", "\r", "\n"].contains($0) || $0.value == 0x7F }
            #expect(controls.isEmpty, "\(field) kept a control character")
            #expect(read(email) == before, "\(field): storable changed the email it was asked of")
        }
    }

    /// A fetched email's HTML is sanitized when it is read, never kept unsanitized where a page could show it, and a
    /// store that keeps only the raw bytes renders exactly what filing would have stored.
    @Test func htmlRenderedFromRaw() throws {
        let raw = Array("""
            From: Ann <ann@example.com>\r
            Subject: Styled\r
            Message-ID: <h1@example.com>\r
            Content-Type: multipart/alternative; boundary="b"\r
            \r
            --b\r
            Content-Type: text/plain\r
            \r
            Plain words\r
            --b\r
            Content-Type: text/html\r
            \r
            <p onclick="steal()">Bold <b>move</b>\u{1}</p><script>alert(1)</script><a href="javascript:steal()">here</a>\r
            --b--\r

            """.utf8)
        let email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: "")
        #expect(email.rendersHTMLFromRaw)
        let html = try #require(email.sanitizedHTML)
        #expect(html.contains("<b>move</b>"))
        for unsafe in ["<script", "onclick", "javascript:", "alert(1)"] { #expect(!html.contains(unsafe), "\(unsafe) got through") }

        // Made fit to store, it still renders from its raw bytes. A store that kept only those bytes renders the same
        // HTML as the email itself, so the in-memory store and the SQL stores show the same page.
        let stored = email.storable
        #expect(stored.rendersHTMLFromRaw && stored.sanitizedHTML == html)
        #expect(IncomingEmail.renderedHTML(raw: raw) == html)
        #expect(!html.unicodeScalars.contains { $0.value < 0x20 && !["\t", "\r", "\n"].contains($0) }, "a control character got through")
        #expect(IncomingEmail.renderedHTML(raw: Array("Subject: plain\r\n\r\nno HTML here\r\n".utf8)) == nil)

        // Other bytes, or HTML set by hand, end the link to the raw message: the HTML is then kept, sanitized.
        var replaced = email
        replaced.raw = []
        #expect(!replaced.rendersHTMLFromRaw && replaced.sanitizedHTML == html)
        #expect(email.rendersHTMLFromRaw)
        var set = email
        set.sanitizedHTML = "<p>Kept</p>"
        #expect(!set.rendersHTMLFromRaw && set.storable.sanitizedHTML == "<p>Kept</p>")
    }
}
