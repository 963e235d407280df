import Foundation
import MIME
import Testing
@testable import MailroomCore

@Suite struct ReplyComposerTests {
    static let t0 = Date(timeIntervalSince1970: 1_772_000_000)

    static let mailbox = Mailbox(
        id: MailboxID(1), email: "Support@Example.org", name: "Example Support", provider: .other, usage: .both,
        incoming: nil, deleteAfterFetch: false, enabled: true, createdAt: t0, updatedAt: t0)

    static func message(
        _ id: Int64, from: Person, cc: [Person] = [], messageID: String?, at minutes: Double, subject: String = "Printer broken"
    ) -> TicketMessage {
        TicketMessage(
            id: id, from: from, to: [Person(name: nil, email: "support@example.org")], cc: cc, subject: subject, messageID: messageID,
            textBody: "body \(id)", htmlBody: nil, attachments: [], receivedAt: t0.addingTimeInterval(minutes * 60), sentAt: nil,
            rawSize: 100, defects: [])
    }

    static let jane = Person(name: "Jane Doe", email: "jane@customer.example")
    static let agentReply = Person(name: "Example Support", email: "support@example.org")

    static func ticket(subject: String = "Printer broken", messages: [TicketMessage]) -> TicketDetail {
        TicketDetail(
            summary: TicketSummary(
                number: TicketNumber(42), subject: subject, requester: jane, status: .open, mailboxID: MailboxID(1),
                messageCount: messages.count, createdAt: t0, lastMessageAt: t0),
            messages: messages)
    }

    static func compose(_ ticket: TicketDetail, text: String = "Fixed.", html: String? = nil) throws -> OutgoingMessage {
        try ReplyComposer.compose(
            ticket: ticket, mailbox: mailbox, agentName: "Alice", text: text, html: html, attachments: [],
            messageID: "mr.1@example.org", date: t0.addingTimeInterval(3600))
    }

    @Test func basicReply() throws {
        let t = Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: "m1@customer.example", at: 0)])
        let reply = try Self.compose(t, html: "<p>Fixed.</p>")
        #expect(reply.from == MailAddress(name: "Example Support", email: "Support@Example.org"))
        #expect(reply.to == [MailAddress(name: "Jane Doe", email: "jane@customer.example")])
        #expect(reply.cc == [])
        #expect(reply.subject == "Re: [#42] Printer broken")
        #expect(reply.inReplyTo == "m1@customer.example")
        #expect(reply.references == ["m1@customer.example"])
        #expect(reply.messageID == "mr.1@example.org")
        #expect(reply.textBody == "Fixed.")
        #expect(reply.htmlBody == "<p>Fixed.</p>")
        #expect(reply.date == Self.t0.addingTimeInterval(3600))
    }

    @Test(arguments: [
        ("Printer broken", "Re: [#42] Printer broken"),
        ("Re: Printer broken", "Re: [#42] Printer broken"),
        ("RE: re: Re: Printer broken", "Re: [#42] Printer broken"),
        ("Re: [#42] Printer broken", "Re: [#42] Printer broken"),
        ("[#42] Re: Printer broken", "Re: [#42] Printer broken"),
        ("AW: Re[2]: Drucker kaputt", "Re: [#42] Drucker kaputt"),
        ("Printer [#42] broken", "Re: Printer [#42] broken"),
        ("See [#7] again", "Re: [#42] See [#7] again"),
        ("Reading list", "Re: [#42] Reading list"),
        ("Re:", "Re: [#42]"),
        ("", "Re: [#42]"),
        ("Sv: Skrivaren", "Re: [#42] Skrivaren"),
    ])
    func subjects(_ input: String, _ expected: String) {
        #expect(ReplyComposer.replySubject(input, number: TicketNumber(42)) == expected)
    }

    @Test func ticketTokenIsAddedOnlyOnce() {
        let once = ReplyComposer.replySubject("Printer broken", number: TicketNumber(42))
        let twice = ReplyComposer.replySubject(once, number: TicketNumber(42))
        #expect(once == twice)
        #expect(Threading.ticketNumber(inSubject: once) == TicketNumber(42))
    }

    @Test func threadsOnLatestIncomingMessageWithID() throws {
        let t = Self.ticket(messages: [
            Self.message(1, from: Self.jane, messageID: "m1@customer.example", at: 0),
            Self.message(2, from: Self.agentReply, messageID: "r1@example.org", at: 10),
            Self.message(3, from: Self.jane, messageID: "m2@customer.example", at: 20),
            Self.message(4, from: Self.jane, messageID: nil, at: 30),  // no Message-ID: cannot be answered by id
            Self.message(5, from: Self.agentReply, messageID: "r2@example.org", at: 40),
        ])
        let reply = try Self.compose(t)
        #expect(reply.inReplyTo == "m2@customer.example")
        #expect(reply.references == ["m1@customer.example", "r1@example.org", "m2@customer.example"])
    }

    @Test func outgoingMessagesAreNeverAnswered() throws {
        var ours = Self.message(2, from: Person(name: "Sales", email: "sales@example.org"), messageID: "ours@example.org", at: 10)
        ours.direction = .outgoing
        let t = Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: "m1@customer.example", at: 0), ours])
        let reply = try Self.compose(t)
        #expect(reply.inReplyTo == "m1@customer.example")
        #expect(reply.cc == [])
    }

    @Test func messagesAreOrderedByTimeNotStorage() throws {
        let t = Self.ticket(messages: [
            Self.message(2, from: Self.jane, messageID: "late@customer.example", at: 20),
            Self.message(1, from: Self.jane, messageID: "early@customer.example", at: 0),
        ])
        let reply = try Self.compose(t)
        #expect(reply.inReplyTo == "late@customer.example")
        #expect(reply.references == ["early@customer.example", "late@customer.example"])
    }

    @Test func referencesAreDeduplicatedAndCapped() throws {
        var messages = (0..<30).map { Self.message(Int64($0), from: Self.jane, messageID: "m\($0)@customer.example", at: Double($0)) }
        messages.append(Self.message(99, from: Self.jane, messageID: "m3@customer.example", at: 100))  // a refetched duplicate id
        let reply = try Self.compose(Self.ticket(messages: messages))
        #expect(reply.inReplyTo == "m3@customer.example")
        #expect(reply.references.count == ReplyComposer.maxReferences)
        #expect(reply.references.first == "m0@customer.example", "the thread's root is kept")
        #expect(reply.references.last == "m3@customer.example")
        #expect(Set(reply.references).count == reply.references.count)
    }

    @Test func unusableStoredIDsAreSkipped() throws {
        let t = Self.ticket(messages: [
            Self.message(1, from: Self.jane, messageID: "good@customer.example", at: 0),
            Self.message(2, from: Self.jane, messageID: "bad id with spaces", at: 10),
        ])
        let reply = try Self.compose(t)
        #expect(reply.inReplyTo == "good@customer.example")
        #expect(reply.references == ["good@customer.example"])
    }

    @Test func noIncomingIDMeansNoThreadingHeaders() throws {
        let reply = try Self.compose(Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: nil, at: 0)]))
        #expect(reply.inReplyTo == nil)
        #expect(reply.references == [])
        #expect(reply.subject == "Re: [#42] Printer broken", "the subject token still threads it")
    }

    @Test func ccKeepsOthersFromTheLatestCustomerEmail() throws {
        let colleague = Person(name: "Max Mustermann", email: "max@customer.example")
        let t = Self.ticket(messages: [
            Self.message(1, from: Self.jane, cc: [Person(name: "Old", email: "old@customer.example")], messageID: "m1@x", at: 0),
            Self.message(2, from: colleague, cc: [
                Person(name: "Jane again", email: "JANE@customer.example"),
                Person(name: "Support", email: "SUPPORT@example.org"),
                Person(name: "", email: "boss@customer.example"),
                Person(name: "Boss twice", email: "Boss@Customer.example"),
                Person(name: "Broken", email: "unknown-sender@invalid"),
                Person(name: "Garbage", email: "not an address"),
            ], messageID: "m2@x", at: 10),
        ])
        let reply = try Self.compose(t)
        #expect(reply.to == [MailAddress(name: "Jane Doe", email: "jane@customer.example")])
        // Max sent an email of this ticket, so he is part of it; boss@ first appears on the latest email: only
        // suggested, copied when the agent chooses.
        #expect(reply.cc == [MailAddress(name: "Max Mustermann", email: "max@customer.example")])
        let recipients = ReplyComposer.recipients(ticket: t, mailbox: Self.mailbox)
        #expect(recipients.suggested == [MailAddress(name: nil, email: "boss@customer.example")])
        let chosen = try ReplyComposer.compose(
            ticket: t, mailbox: Self.mailbox, agentName: nil, text: "x", html: nil, attachments: [], messageID: "a@b", date: Self.t0,
            alsoCc: ["BOSS@customer.example", "stranger@evil.example"])
        #expect(chosen.cc == [
            MailAddress(name: "Max Mustermann", email: "max@customer.example"),
            MailAddress(name: nil, email: "boss@customer.example"),
        ], "only suggested addresses can be chosen; anything else is ignored")
    }

    @Test func ccOfTheOpeningEmailIsPartOfTheConversation() throws {
        let t = Self.ticket(messages: [
            Self.message(1, from: Self.jane, cc: [Person(name: "Colleague", email: "colleague@customer.example")], messageID: "m1@x", at: 0),
        ])
        #expect(try Self.compose(t).cc == [MailAddress(name: "Colleague", email: "colleague@customer.example")])
        #expect(ReplyComposer.recipients(ticket: t, mailbox: Self.mailbox).suggested == [])
    }

    @Test func fromFallsBackToAgentNameOnlyWithoutMailboxName() throws {
        var mailbox = Self.mailbox
        mailbox.name = "  "
        let t = Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: nil, at: 0)])
        let reply = try ReplyComposer.compose(
            ticket: t, mailbox: mailbox, agentName: "Alice", text: "x", html: nil, attachments: [], messageID: "a@b", date: Self.t0)
        #expect(reply.from == MailAddress(name: "Alice", email: "Support@Example.org"))
    }

    @Test func emptyReplyAndUnmailableRequesterAreRefused() {
        let t = Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: nil, at: 0)])
        #expect(throws: ReplyComposerError.emptyReply) { try Self.compose(t, text: "  \n", html: " ") }
        var broken = t
        broken.summary.requester = Person(name: "Mailroom", email: "unknown-sender@invalid")
        #expect(throws: ReplyComposerError.noRecipient("unknown-sender@invalid")) { try Self.compose(broken) }
    }

    @Test func attachmentsAloneAreAReply() throws {
        let t = Self.ticket(messages: [Self.message(1, from: Self.jane, messageID: nil, at: 0)])
        let file = OutgoingAttachment(filename: "fix.pdf", contentType: "application/pdf", bytes: [1, 2, 3])
        let reply = try ReplyComposer.compose(
            ticket: t, mailbox: Self.mailbox, agentName: nil, text: "", html: nil, attachments: [file], messageID: "a@b", date: Self.t0)
        #expect(reply.attachments == [file])
    }

    @Test func hostileStoredNamesAndSubjectCannotBreakTheReply() throws {
        var t = Self.ticket(
            subject: "Help\r\nBcc: victim@example.com",
            messages: [Self.message(1, from: Self.jane, cc: [Person(name: "Evil\r\nBcc: x@y.example", email: "cc@customer.example")], messageID: "m@x", at: 0)])
        t.summary.requester.name = "Jane\nDoe"
        let reply = try Self.compose(t)
        #expect(reply.subject == "Re: [#42] Help  Bcc: victim@example.com")
        #expect(reply.to.first?.name == "Jane Doe")
        #expect(reply.cc.first?.name == "Evil  Bcc: x@y.example")
        let built = try MessageBuilder.build(reply)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.header("Bcc") == nil)
        #expect(parsed.subject == reply.subject)
    }

    @Test func composedReplyBuildsAndThreads() throws {
        let t = Self.ticket(subject: "Drucker kaputt – Größe", messages: [
            Self.message(1, from: Person(name: "Jürgen Größe", email: "juergen@kunde.example"), messageID: "m1@kunde.example", at: 0)
        ])
        var withRequester = t
        withRequester.summary.requester = Person(name: "Jürgen Größe", email: "juergen@kunde.example")
        let id = ReplyComposer.messageID(domainOf: Self.mailbox.email)
        let reply = try ReplyComposer.compose(
            ticket: withRequester, mailbox: Self.mailbox, agentName: "Alice", text: "Erledigt – viele Grüße", html: nil, attachments: [],
            messageID: id, date: Self.t0)
        let built = try MessageBuilder.build(reply)
        #expect(!built.needsSMTPUTF8)
        let parsed = MessageParser.parse(built.bytes)
        #expect(parsed.subject == "Re: [#42] Drucker kaputt – Größe")
        #expect(parsed.messageID == id)
        #expect(parsed.inReplyTo == ["m1@kunde.example"])
        #expect(parsed.references == ["m1@kunde.example"])
        #expect(parsed.to.first?.name == "Jürgen Größe")
        #expect(Threading.ticketNumber(inSubject: parsed.subject ?? "") == TicketNumber(42))
    }

    @Test func messageIDsUseTheSupportDomain() {
        var rng = FixedGenerator(values: [0x0123_4567_89AB_CDEF, 0x1])
        #expect(ReplyComposer.messageID(domainOf: "Support@Example.ORG", random: &rng) == "mr.0123456789abcdef0000000000000001@example.org")
        let a = ReplyComposer.messageID(domainOf: "support@example.org")
        let b = ReplyComposer.messageID(domainOf: "support@example.org")
        #expect(a != b)
        #expect(a.hasSuffix("@example.org"))
        #expect(MessageBuilder.isValidMessageID(a))
        #expect(ReplyComposer.messageID(domainOf: "support@bücher.example").hasSuffix("@mailroom.invalid"))
        #expect(ReplyComposer.messageID(domainOf: "no-at-sign").hasSuffix("@mailroom.invalid"))
    }
}

struct FixedGenerator: RandomNumberGenerator {
    var values: [UInt64]
    var index = 0
    mutating func next() -> UInt64 {
        defer { index += 1 }
        return values[index % values.count]
    }
}
