import MailroomCore
import Testing

@Suite("A conversation belongs to its people")
struct ConversationMembershipTests {
    static let box = MailboxID(rawValue: 1)
    static func candidate(_ n: Int64, mailbox: MailboxID? = box, people: Set<String> = ["jane@customer.example", "colleague@customer.example"],
                          sent: Set<String> = ["reply-1@helpdesk.example"], by reference: String? = nil) -> ConversationMembership.Candidate {
        .init(ticket: TicketNumber(n), mailbox: mailbox, participants: people, sentMessageIDs: sent, matchedReference: reference)
    }

    static func decide(_ sender: String, references: [String] = [], _ candidates: [ConversationMembership.Candidate]) -> ConversationMembership.Decision {
        ConversationMembership.decide(sender: sender, mailbox: box, supportAddress: "support@helpdesk.example", references: references, candidates: candidates)
    }

    @Test("The requester and a colleague on the conversation join; a stranger naming the ticket opens a new one that says which it named")
    func membersJoinStrangersDoNot() {
        #expect(Self.decide("Jane@Customer.example", [Self.candidate(1)]) == .join(TicketNumber(1)))
        #expect(Self.decide("colleague@customer.example", [Self.candidate(1)]) == .join(TicketNumber(1)))
        #expect(Self.decide("stranger@evil.example", [Self.candidate(1)]) == .newTicket(referredTo: TicketNumber(1)))
        #expect(Self.decide("stranger@evil.example", []) == .newTicket(referredTo: nil))
    }

    @Test("Answering a Message-ID that Mailroom sent for the ticket joins, whoever forwarded it on; quoting a customer's Message-ID does not")
    func ourMessageIDsProveReceipt() {
        #expect(Self.decide("newcomer@customer.example", references: ["reply-1@helpdesk.example"], [Self.candidate(1, by: "reply-1@helpdesk.example")]) == .join(TicketNumber(1)))
        #expect(Self.decide("stranger@evil.example", references: ["m1@customer.example"], [Self.candidate(1, by: "m1@customer.example")]) == .newTicket(referredTo: TicketNumber(1)))
    }

    @Test("Another mailbox's ticket is never joined, and the support address itself (anyone can forge it) is no member")
    func mailboxAndForgedSender() {
        #expect(Self.decide("jane@customer.example", [Self.candidate(1, mailbox: MailboxID(rawValue: 2))]) == .newTicket(referredTo: TicketNumber(1)))
        #expect(Self.decide("SUPPORT@helpdesk.example", [Self.candidate(1, people: ["support@helpdesk.example"])]) == .newTicket(referredTo: TicketNumber(1)))
        #expect(Self.decide("jane@customer.example", [Self.candidate(1, mailbox: nil)]) == .newTicket(referredTo: TicketNumber(1)))
    }

    @Test("Addresses are compared in one form: lower case, ASCII or not, with any other character left as it is")
    func participantForm() {
        #expect(ConversationMembership.participant("Jane@Customer.EXAMPLE") == "jane@customer.example")
        #expect(ConversationMembership.participant("jane@customer.example") == "jane@customer.example")
        #expect(ConversationMembership.participant("ÅSA@nordic.example") == "åsa@nordic.example")
        // A capital outside ASCII alone still counts.
        #expect(ConversationMembership.participant("Åsa@nordic.example") == "åsa@nordic.example")
        #expect(ConversationMembership.participant("jan@ÉCOLE.example") == "jan@école.example")
        #expect(ConversationMembership.participant("åsa@nordic.example") == "åsa@nordic.example")
        // The bytes just outside A–Z are no capitals: `@` (0x40) and `[` (0x5B).
        #expect(ConversationMembership.participant("@[z]") == "@[z]")
        #expect(ConversationMembership.participant("AZ") == "az")
        #expect(ConversationMembership.participant("") == "")
    }

    @Test("Among several named tickets the first the sender belongs to wins")
    func firstMembershipWins() {
        let candidates = [Self.candidate(7, people: ["someone@else.example"], sent: []), Self.candidate(3)]
        #expect(Self.decide("jane@customer.example", candidates) == .join(TicketNumber(3)))
    }

    @Test("Stored text: NUL and other controls go from one-line fields and bodies; tab, CR and LF stay in bodies")
    func storedText() {
        #expect(StoredText.line("a\u{0}b\u{7}c\td\u{7F}") == "abc d")
        #expect(StoredText.body("line 1\r\n\tline\u{0} 2\u{1B}[31m") == "line 1\r\n\tline 2[31m")
        #expect(StoredText.line("Grüße 你好") == "Grüße 你好")
        #expect(StoredText.body("Grüße\r\n\t你好") == "Grüße\r\n\t你好")
        #expect(StoredText.body("Grüße\u{7F}\u{1}你好\u{85}") == "Grüße你好\u{85}")
    }

    @Test("Stored text: a control character is found at any position of a 16-byte block, and only a control character")
    func storedTextEveryPosition() {
        for length in [15, 16, 17, 33, 48] {
            for position in 0..<length {
                for value in 0..<0x80 {
                    let scalar = Unicode.Scalar(UInt8(value))
                    // A two-byte character before the probe shifts it off the block grid, and is never a control.
                    let prefix = position % 5 == 0 ? "é" + String(repeating: "a", count: max(0, position - 2)) : String(repeating: "a", count: position)
                    let text = prefix + String(scalar) + String(repeating: "b", count: length - position - 1)
                    let isControl = value < 0x20 || value == 0x7F
                    let inBody = !isControl || value == 0x09 || value == 0x0A || value == 0x0D
                    #expect(StoredText.body(text) == (inBody ? text : prefix + String(repeating: "b", count: length - position - 1)))
                    let lineScalar = value == 0x09 ? " " : isControl ? "" : String(scalar)
                    #expect(StoredText.line(text) == prefix + lineScalar + String(repeating: "b", count: length - position - 1))
                }
            }
        }
    }
}
