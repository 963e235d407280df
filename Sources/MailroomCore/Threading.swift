/// How an incoming email finds its ticket: by the Message-IDs it answers, else by `[#N]` in its subject.
public enum Threading {
    /// The ticket number in a subject such as «Re: [#42] Printer broken», if any.
    public static func ticketNumber(inSubject subject: String) -> TicketNumber? {
        // The token is ASCII, so the bytes tell: this runs for every email filed.
        let bytes = Array(subject.utf8)
        var i = 0
        while i + 1 < bytes.count {
            defer { i += 1 }
            guard bytes[i] == UInt8(ascii: "["), bytes[i + 1] == UInt8(ascii: "#") else { continue }
            var end = i + 2
            var number: Int64 = 0
            while end < bytes.count, end - (i + 2) < 18, bytes[end] &- 0x30 < 10 {
                number = number * 10 + Int64(bytes[end] - 0x30)
                end += 1
            }
            if end > i + 2, end < bytes.count, bytes[end] == UInt8(ascii: "]") { return TicketNumber(number) }
        }
        return nil
    }

    /// The subject with the ticket token, as replies will carry it.
    public static func subject(_ subject: String, taggedWith number: TicketNumber) -> String {
        ticketNumber(inSubject: subject) == number ? subject : "[#\(number)] \(subject)"
    }
}

/// Whether an email that names a ticket (by a Message-ID it answers, or `[#N]` in its subject) may join it. Ticket
/// numbers run in order and stand in every reply's subject, and Message-IDs get quoted and forwarded, so naming a
/// ticket proves nothing: an email joins only when it arrived at that ticket's own mailbox and either its sender is
/// already part of the conversation or it answers a Message-ID that Mailroom itself sent for that ticket (which
/// only the people it was sent to have seen). Anything else opens a new ticket that says which one it named, so
/// an agent's next reply can never be steered to a stranger.
public enum ConversationMembership {
    /// A ticket that an incoming email names, with what is known of its conversation.
    public struct Candidate: Sendable, Equatable {
        public var ticket: TicketNumber
        /// The mailbox the ticket belongs to (nil once that mailbox was removed).
        public var mailbox: MailboxID?
        /// Lower-cased addresses that took part: the requester, and From/To/Cc of every message on the ticket.
        public var participants: Set<String>
        /// Message-IDs of the replies Mailroom sent on this ticket.
        public var sentMessageIDs: Set<String>
        /// The Message-ID of the email that named it, when it was named by reference rather than by subject.
        public var matchedReference: String?

        public init(ticket: TicketNumber, mailbox: MailboxID?, participants: Set<String>, sentMessageIDs: Set<String>, matchedReference: String?) {
            self.ticket = ticket
            self.mailbox = mailbox
            self.participants = participants
            self.sentMessageIDs = sentMessageIDs
            self.matchedReference = matchedReference
        }
    }

    public enum Decision: Sendable, Equatable {
        case join(TicketNumber)
        /// A new ticket; `referredTo` is the ticket the email named but may not join.
        case newTicket(referredTo: TicketNumber?)
    }

    /// - Parameters:
    ///   - sender: the email's From address.
    ///   - mailbox: the mailbox it arrived at, whose own address never counts as a participant (anyone can forge it).
    ///   - references: every Message-ID the email answers, so a reply to one of our own replies is recognised even
    ///     when the reference that found the ticket was another.
    ///   - candidates: the tickets it names, most specific first.
    public static func decide(
        sender: String, mailbox: MailboxID, supportAddress: String, references: [String], candidates: [Candidate]
    ) -> Decision {
        let sender = participant(sender)
        let support = participant(supportAddress)
        for candidate in candidates where candidate.mailbox == mailbox {
            if sender != support, candidate.participants.contains(sender) { return .join(candidate.ticket) }
            if references.contains(where: candidate.sentMessageIDs.contains) { return .join(candidate.ticket) }
        }
        return .newTicket(referredTo: candidates.first?.ticket)
    }

    /// An address as conversations compare it: lower-cased, the one form ``Candidate/participants`` holds. An address
    /// without a capital (nearly every one) is returned as it is: `lowercased()` builds a new string each time, an
    /// allocation for every address over 15 bytes of every email filed.
    public static func participant(_ address: String) -> String {
        address.utf8.contains { $0 >= 0x80 || ($0 &- 0x41) < 26 } ? address.lowercased() : address
    }
}
