import Foundation
import MIME
import MailroomCore
import Testing

@Suite("A group of emails is filed as if each were filed alone, in order")
struct FilingPlanTests {
    static let box = MailboxID(rawValue: 1)
    static let ann = "ann@customer.example"

    static func email(_ id: String, from: String = ann, subject: String = "Printer broken", answering: String? = nil, hash: String = "h1",
                      at seconds: TimeInterval = 1_000) -> IncomingEmail {
        var headers = "From: \(from)\r\nTo: support@helpdesk.example\r\nSubject: \(subject)\r\nMessage-ID: <\(id)>\r\n"
        if let answering { headers += "In-Reply-To: <\(answering)>\r\nReferences: <\(answering)>\r\n" }
        let raw = Array((headers + "\r\nHello\r\n").utf8)
        return IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(timeIntervalSince1970: seconds), contentHash: hash).storable
    }

    static func plan(_ emails: [IncomingEmail], _ facts: FilingFacts = FilingFacts(supportAddress: "support@helpdesk.example")) -> FilingPlan {
        FilingPlan(emails, mailbox: box, facts: facts)
    }

    static func stored(_ ticket: Int64, people: Set<String> = [ann], holding id: String) -> FilingFacts {
        FilingFacts(
            holders: [id: [TicketNumber(ticket)]],
            conversations: [TicketNumber(ticket): .init(mailbox: box, participants: people, sentMessageIDs: [])],
            supportAddress: "support@helpdesk.example")
    }

    @Test("Only contested emails with content are hashed: a key already filed, or shared in the group; a notice keeps no hash")
    func onlyContestedAreHashed() {
        var emails = [Self.email("taken@x", hash: ""), Self.email("fresh@x", hash: ""), Self.email("twice@x", hash: ""),
                      Self.email("twice@x", hash: ""), Self.email("known@x", hash: "k")]
        var notice = Self.email("taken@x", hash: "")
        notice.raw = []
        emails.append(notice)
        let filed: [String: FilingFacts.Filed] = [
            "mid:taken@x": .init(ticket: TicketNumber(7), contentHash: nil), "mid:known@x": .init(ticket: TicketNumber(8), contentHash: "k"),
            "mid:twice@x#sha256:#twice@x": .init(ticket: TicketNumber(9), contentHash: "#twice@x"),
        ]
        #expect(FilingPlan.contested(emails, filed: filed) == [0, 2, 3, 4, 5])
        var hashes: [String] = []
        let rehashed = FilingPlan.hashContested(&emails, filed: filed) { raw in
            hashes.append(String(decoding: raw, as: UTF8.self))
            return "#" + (MessageParser.parse(raw).messageID ?? "")
        }
        #expect(emails.map(\.contentHash) == ["#taken@x", "", "#twice@x", "#twice@x", "k", ""], "fresh mail, a known hash and a notice are left alone")
        #expect(hashes.count == 3)
        // Keys the store has already read are not asked again.
        #expect(rehashed == ["mid:taken@x#sha256:#taken@x"])
    }

    @Test("A reply in the same group as the email it answers joins the ticket that email opens; numbers are given on insert")
    func replyInTheSameGroup() throws {
        let plan = Self.plan([Self.email("a@x"), Self.email("b@x", answering: "a@x", at: 2_000)])
        #expect(plan.outcomes == [.opened(.new(0)), .joined(.new(0))])
        #expect(plan.newTickets.count == 1)
        #expect(plan.newTickets.first?.messageCount == 2)
        #expect(plan.newTickets.first?.lastMessageAt == Date(timeIntervalSince1970: 2_000))
        #expect(plan.joined.isEmpty)
        #expect(plan.filings.map(\.ticket) == [.new(0), .new(0)])
        #expect(try plan.outcomes(numbering: [TicketNumber(41)]) == [.openedTicket(TicketNumber(41)), .joinedTicket(TicketNumber(41))])
    }

    @Test("Who takes part is judged without regard to case, within a group as in the store: capitals in From or Cc, ASCII or not")
    func participantsIgnoreCase() {
        // The ticket's requester wrote in capitals; the reply comes from the same address in lower case.
        let capitals = Self.plan([Self.email("a@x", from: "Ann@Customer.EXAMPLE"), Self.email("b@x", from: Self.ann, answering: "a@x")])
        #expect(capitals.outcomes == [.opened(.new(0)), .joined(.new(0))])
        // A non-ASCII capital (Å) is folded as `lowercased()` folds it, and a lower-case address is taken as it is.
        let nordic = Self.plan([Self.email("c@x", from: "Åsa@nordic.example"), Self.email("d@x", from: "åsa@nordic.example", answering: "c@x")])
        #expect(nordic.outcomes == [.opened(.new(0)), .joined(.new(0))])
        // Someone else, in any case, still opens a ticket of their own.
        let other = Self.plan([Self.email("e@x"), Self.email("f@x", from: "BOB@customer.example", answering: "e@x")])
        #expect(other.outcomes == [.opened(.new(0)), .opened(.new(1))])
    }

    @Test("A stranger answering within the group opens a ticket of their own that refers to the one they named")
    func strangerInTheSameGroup() {
        let plan = Self.plan([Self.email("a@x"), Self.email("b@x", from: "mallory@evil.example", answering: "a@x")])
        #expect(plan.outcomes == [.opened(.new(0)), .opened(.new(1))])
        #expect(plan.newTickets.map(\.referredTo) == [nil, .new(0)])
    }

    @Test("A refetch is a duplicate, whether it was stored before or came twice in one group")
    func duplicates() {
        var facts = Self.stored(7, holding: "a@x")
        facts.filed["mid:a@x"] = .init(ticket: TicketNumber(7), contentHash: "h1")
        let plan = Self.plan([Self.email("a@x"), Self.email("c@x"), Self.email("c@x")], facts)
        #expect(plan.outcomes == [.duplicate(.existing(TicketNumber(7))), .opened(.new(0)), .duplicate(.new(0))])
        #expect(plan.filings.count == 1)
    }

    @Test("The same Message-ID with other content is another email, filed under its hash; its own refetch is then a duplicate")
    func reusedMessageID() {
        var facts = FilingFacts(supportAddress: "support@helpdesk.example")
        facts.filed["mid:a@x"] = .init(ticket: TicketNumber(7), contentHash: "other")
        let plan = Self.plan([Self.email("a@x"), Self.email("a@x")], facts)
        #expect(plan.filings.map(\.email.dedupeKey) == ["mid:a@x#sha256:h1"])
        #expect(plan.outcomes == [.opened(.new(0)), .duplicate(.new(0))])
        #expect(FilingPlan.keys(for: [Self.email("a@x")]).dedupeKeys == ["mid:a@x", "mid:a@x#sha256:h1"])
    }

    @Test("Replies to a stored ticket add up to one update for it, with the newest time")
    func joinsOfAStoredTicket() {
        let plan = Self.plan([Self.email("b@x", answering: "a@x", at: 3_000), Self.email("c@x", answering: "b@x", at: 2_000)], Self.stored(7, holding: "a@x"))
        #expect(plan.outcomes == [.joined(.existing(TicketNumber(7))), .joined(.existing(TicketNumber(7)))])
        #expect(plan.joined.map(\.ticket) == [TicketNumber(7)])
        #expect(plan.joined.map(\.added) == [2])
        #expect(plan.joined.map(\.lastMessageAt) == [Date(timeIntervalSince1970: 3_000)])
        #expect(plan.newTickets.isEmpty)
    }

    @Test("A stranger naming a stored ticket, by reference or by [#N], opens a new ticket; a number with no ticket names nothing")
    func strangersAndNumbers() {
        let byReference = Self.plan([Self.email("b@x", from: "mallory@evil.example", answering: "a@x")], Self.stored(7, holding: "a@x"))
        #expect(byReference.newTickets.map(\.referredTo) == [.existing(TicketNumber(7))])
        let bySubject = Self.plan([Self.email("b@x", subject: "Re: [#7] Printer broken")], Self.stored(7, holding: "zzz"))
        #expect(bySubject.outcomes == [.joined(.existing(TicketNumber(7)))])
        let unknown = Self.plan([Self.email("b@x", subject: "Re: [#99] Printer broken")], Self.stored(7, holding: "zzz"))
        #expect(unknown.newTickets.map(\.referredTo) == [nil])
    }

    @Test("Look-ups are bounded: at most five named tickets an email, at most 100 references")
    func boundedLookups() {
        var holders: [String: [TicketNumber]] = [:]
        for n in 143...150 { holders["r\(n)@x"] = [TicketNumber(Int64(n))] }
        var raw = "From: \(Self.ann)\r\nSubject: Hi\r\nMessage-ID: <z@x>\r\nReferences:"
        for n in 1...150 { raw += " <r\(n)@x>" }
        let bytes = Array((raw + "\r\n\r\nHi\r\n").utf8)
        let email = IncomingEmail(parsed: MessageParser.parse(bytes), raw: bytes, receivedAt: Date(), contentHash: "h").storable
        #expect(FilingPlan.keys(for: [email]).messageIDs.count == 100)
        #expect(FilingPlan.named(by: [email], holders: holders).count == 5)
    }
}
