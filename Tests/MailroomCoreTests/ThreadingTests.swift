import Foundation
import MIME
import MailroomCore
import Testing

@Suite("Threading and incoming email")
struct ThreadingTests {
    @Test("The ticket token is found wherever it sits in the subject", arguments: [
        ("Re: [#42] Printer broken", Int64?.some(42)), ("[#7]", 7), ("Fwd: RE: [#1234567] x", 1234567),
        ("Invoice #42", nil), ("[#] nothing", nil), ("[#12a] no", nil), ("[#1] and [#2]", 1), ("", nil),
        ("[#1234567890123456789] too long", nil), ("[#x] then [#9]", 9), ("Réponse : [#88] Größe", 88), ("[#5", nil), ("[#[#3]", 3),
    ])
    func ticketToken(subject: String, expected: Int64?) {
        #expect(Threading.ticketNumber(inSubject: subject)?.rawValue == expected)
    }

    @Test("Tagging a subject adds the token once")
    func tagging() {
        #expect(Threading.subject("Help", taggedWith: TicketNumber(5)) == "[#5] Help")
        #expect(Threading.subject("Re: [#5] Help", taggedWith: TicketNumber(5)) == "Re: [#5] Help")
    }

    @Test("An email without sender, subject or Message-ID still becomes a fileable email keyed by its content")
    func emptyEmail() {
        let raw = Array("X-Nothing: here\n\n".utf8)
        let email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: "abc")
        #expect(email.subject == "(no subject)")
        #expect(email.from.email == "unknown-sender@invalid")
        #expect(email.dedupeKey == "sha256:abc")
    }

    @Test("Thread references put In-Reply-To first, then References newest first, without repeats")
    func referencesOrder() {
        let raw = Array("From: a@example.com\nMessage-ID: <c@x>\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>\nSubject: s\n\nbody\n".utf8)
        let email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: "h")
        #expect(email.threadReferences == ["b@x", "a@x"])
        #expect(email.dedupeKey == "mid:c@x")
    }
}

@Suite("Mailbox drafts: bad input gets a clear error")
struct MailboxDraftTests {
    @Test("Every problem is reported at once, per field")
    func allProblems() {
        let draft = MailboxDraft(email: "nope", name: " ", usage: .incoming, imapHost: "bad host!", imapPort: 0)
        #expect(throws: ValidationError.self) { try draft.validated() }
        do {
            _ = try draft.validated()
        } catch {
            #expect(Set(error.problems.map(\.field)) == ["email", "name", "imap_host", "imap_port"])
        }
    }

    @Test("Microsoft and Gmail are pre-filled; the username defaults to the address")
    func prefill() throws {
        let ms = try MailboxDraft(email: "help@contoso.com", name: "Help", provider: .microsoft).validated()
        #expect(ms.incoming == IncomingServer(host: "outlook.office365.com", port: 993, security: .tls, username: "help@contoso.com"))
        let gmail = try MailboxDraft(email: "help@gmail.com", name: "Help", provider: .google).validated()
        #expect(gmail.incoming?.host == "imap.gmail.com")
    }

    @Test("Without a port, the port follows the security: 993 for SSL/TLS, 143 for STARTTLS and none")
    func defaultPorts() throws {
        #expect(try MailboxDraft(email: "a@example.com", name: "A", imapHost: "imap.example.com").validated().incoming?.port == 993)
        #expect(try MailboxDraft(email: "a@example.com", name: "A", imapHost: "imap.example.com", imapSecurity: .starttls).validated().incoming?.port == 143)
    }

    @Test("Outgoing only fetches nothing and cannot delete after fetching")
    func outgoingOnly() {
        #expect(throws: ValidationError.self) {
            try MailboxDraft(email: "a@example.com", name: "A", usage: .outgoing, deleteAfterFetch: true).validated()
        }
    }

    @Test("Header injection through the folder or username is refused")
    func injection() {
        #expect(throws: ValidationError.self) {
            try MailboxDraft(email: "a@example.com", name: "A", imapHost: "imap.example.com", folder: "INBOX\r\nA1 DELETE INBOX").validated()
        }
    }
}
