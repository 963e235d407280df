import Foundation
import MIME

/// Why an agent's reply cannot be composed.
public enum ReplyComposerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No text, no HTML and no attachment: nothing to send.
    case emptyReply
    /// The requester's address cannot receive mail (e.g. the stand-in of a sender Mailroom could not read).
    case noRecipient(String)

    public var description: String {
        switch self {
        case .emptyReply: "The reply is empty."
        case .noRecipient(let address): "The requester's address \(address) cannot receive email."
        }
    }
}

/// Turns an agent's reply on a ticket into the email the customer receives — pure, so the threading
/// rules (who gets it, which subject, which Message-IDs it answers) are tested without any I/O.
public enum ReplyComposer {
    /// Most clients keep about this many References; longer chains only grow headers.
    public static let maxReferences = 20

    /// The reply as an `OutgoingMessage` for `MessageBuilder`:
    /// - From «mailbox.name <mailbox.email>» (PRODUCT.md); `agentName` stands in only when the mailbox has no name,
    ///   so customers always see the team, not whoever happened to answer.
    /// - To the requester; Cc whoever else took part in the latest customer email (its sender if not the
    ///   requester, and its Cc) and was already part of the conversation (see ``recipients(ticket:mailbox:)``),
    ///   plus those of its new addresses the agent chose (`alsoCc`); never an address nobody chose.
    /// - Subject «Re: [#N] <ticket subject>»: reply prefixes and our own token are stripped first, so there is never
    ///   «Re: Re:» or a second token; a token elsewhere in the subject stays where it is.
    /// - In-Reply-To: the latest customer email that has a Message-ID; References: the ticket's Message-IDs up to
    ///   and including it (oldest first, deduplicated, the first plus the last ones up to `maxReferences`).
    ///   Ticket messages keep no References of their own, so the ticket's conversation stands in for them.
    public static func compose(
        ticket: TicketDetail, mailbox: Mailbox, agentName: String?, text: String, html: String?,
        attachments: [OutgoingAttachment], messageID: String, date: Date, alsoCc: Set<String> = []
    ) throws(ReplyComposerError) -> OutgoingMessage {
        let hasHTML = !(html ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || hasHTML || !attachments.isEmpty else {
            throw .emptyReply
        }
        let requester = ticket.summary.requester
        guard isMailable(requester.email) else { throw .noRecipient(requester.email) }

        let support = mailbox.email.lowercased()
        // Chronological; equal times keep their stored order.
        let messages = ticket.messages.enumerated()
            .sorted { ($0.element.receivedAt, $0.offset) < ($1.element.receivedAt, $1.offset) }
            .map(\.element)
        // A customer's email: fetched (not one of our replies) and not sent by the support address itself
        // (a copy of our own mail that came back in, say).
        func fromCustomer(_ m: TicketMessage) -> Bool { m.direction == .incoming && m.from.email.lowercased() != support }

        // Everyone else on the latest customer email who was already in the conversation, and those the agent chose.
        let chosen = Set(alsoCc.map { $0.lowercased() })
        let recipients = recipients(ticket: ticket, mailbox: mailbox)
        let cc = recipients.cc + recipients.suggested.filter { chosen.contains($0.email.lowercased()) }

        // Threading headers.
        var inReplyTo: String? = nil
        var references: [String] = []
        if let parentIndex = messages.lastIndex(where: { fromCustomer($0) && usableID($0.messageID) != nil }),
           let parentID = usableID(messages[parentIndex].messageID) {
            inReplyTo = parentID
            var chain: [String] = []
            var seenIDs = Set<String>()
            for message in messages[...parentIndex] {
                if let id = usableID(message.messageID), id != parentID, seenIDs.insert(id).inserted { chain.append(id) }
            }
            chain.append(parentID)
            if chain.count > maxReferences {
                chain = [chain[0]] + chain.suffix(maxReferences - 1)
            }
            references = chain
        }

        let fromName = nonEmpty(mailbox.name) ?? nonEmpty(agentName)
        return OutgoingMessage(
            from: MailAddress(name: fromName, email: mailbox.email),
            to: [MailAddress(name: nonEmpty(requester.name), email: requester.email)],
            cc: cc,
            subject: replySubject(headerSafe(ticket.summary.subject), number: ticket.summary.number),
            messageID: messageID, inReplyTo: inReplyTo, references: references, date: date,
            textBody: text, htmlBody: hasHTML ? html : nil, attachments: attachments)
    }

    /// Who a reply goes to, as the reply form shows it before the agent sends.
    public struct Recipients: Sendable, Equatable {
        public var to: [MailAddress]
        /// Copied by default: others on the latest customer email who were already part of the conversation.
        public var cc: [MailAddress]
        /// New on the latest customer email (someone added them): copied only when the agent chooses them.
        public var suggested: [MailAddress]
    }

    /// The reply's recipients. An address is part of the conversation when it is the requester, sent one of the
    /// ticket's emails (those joined the ticket by ``ConversationMembership``), was on the email that opened the
    /// ticket or on one before the latest, or was on one of the agents' replies. An address that first appears on the latest email is only suggested.
    public static func recipients(ticket: TicketDetail, mailbox: Mailbox) -> Recipients {
        let support = mailbox.email.lowercased()
        let requester = ticket.summary.requester
        let messages = ticket.messages.enumerated()
            .sorted { ($0.element.receivedAt, $0.offset) < ($1.element.receivedAt, $1.offset) }
            .map(\.element)
        let latestIndex = messages.lastIndex { $0.direction == .incoming && $0.from.email.lowercased() != support }
        let openingIndex = messages.firstIndex { $0.direction == .incoming }
        var known: Set<String> = [requester.email.lowercased()]
        for (index, message) in messages.enumerated() {
            if message.direction == .incoming { known.insert(message.from.email.lowercased()) }
            // The email that opened the ticket defines its people; later ones add only once answered past.
            if message.direction == .outgoing || index != latestIndex || index == openingIndex {
                for person in [message.from] + message.to + message.cc { known.insert(person.email.lowercased()) }
            }
        }
        var cc: [MailAddress] = []
        var suggested: [MailAddress] = []
        var seen: Set<String> = [support, requester.email.lowercased()]
        if let latestIndex {
            let last = messages[latestIndex]
            for person in [last.from] + last.cc where isMailable(person.email) && seen.insert(person.email.lowercased()).inserted {
                let address = MailAddress(name: nonEmpty(person.name), email: person.email)
                if known.contains(person.email.lowercased()) { cc.append(address) } else { suggested.append(address) }
            }
        }
        return Recipients(to: [MailAddress(name: nonEmpty(requester.name), email: requester.email)], cc: cc, suggested: suggested)
    }

    /// «Re: [#N] subject», with existing reply prefixes (Re, AW, SV, Antw, …, also «Re[2]:») and this ticket's
    /// leading token removed first so neither is ever doubled.
    public static func replySubject(_ subject: String, number: TicketNumber) -> String {
        let token = "[#\(number)]"
        var rest = Substring(subject)
        while true {
            let before = rest
            rest = rest.drop(while: { $0.isWhitespace })
            if rest.hasPrefix(token) { rest = rest.dropFirst(token.count) }
            rest = rest.drop(while: { $0.isWhitespace })
            rest = dropReplyPrefix(rest)
            if rest == before { break }
        }
        let base = String(rest).trimmingCharacters(in: .whitespaces)
        let tagged = base.isEmpty ? token : Threading.subject(base, taggedWith: number)
        return "Re: " + tagged
    }

    private static let replyPrefixes = ["re", "aw", "sv", "vs", "antw", "antwort", "ref", "rif", "res", "odp", "vá", "ynt"]

    private static func dropReplyPrefix(_ s: Substring) -> Substring {
        let letters = s.prefix(while: { $0.isLetter })
        guard replyPrefixes.contains(letters.lowercased()) else { return s }
        var rest = s.dropFirst(letters.count)
        // Optional counter: «Re[2]:» or «Re(2):».
        if let open = rest.first, open == "[" || open == "(" {
            let digits = rest.dropFirst().prefix(while: { $0.isASCII && $0.isNumber })
            let close: Character = open == "[" ? "]" : ")"
            if !digits.isEmpty, rest.dropFirst(1 + digits.count).first == close { rest = rest.dropFirst(2 + digits.count) }
        }
        rest = rest.drop(while: { $0 == " " })
        guard let colon = rest.first, colon == ":" || colon == "：" else { return s }
        return rest.dropFirst()
    }

    /// A fresh Message-ID (without angle brackets, as `OutgoingMessage.messageID` wants it) on the support
    /// address's domain, so replies look like they come from that domain and never collide: 128 random bits.
    /// A domain that cannot appear in a msg-id (empty, non-ASCII) falls back to `mailroom.invalid`.
    public static func messageID(domainOf supportAddress: String, random: inout some RandomNumberGenerator) -> String {
        var local = "mr."
        for _ in 0..<2 {
            let hex = String(random.next(), radix: 16)
            local += String(repeating: "0", count: 16 - hex.count) + hex
        }
        let at = supportAddress.lastIndex(of: "@").map { supportAddress.index(after: $0) } ?? supportAddress.endIndex
        var domain = supportAddress[at...].lowercased()
        let domainOK = !domain.isEmpty && domain.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x5B || c == 0x5D || c == 0x3A
        }
        if !domainOK { domain = "mailroom.invalid" }
        return local + "@" + domain
    }

    /// `messageID(domainOf:random:)` with the system's random number generator.
    public static func messageID(domainOf supportAddress: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return messageID(domainOf: supportAddress, random: &generator)
    }

    private static func isMailable(_ email: String) -> Bool {
        // RFC 2606 reserves `.invalid`: Mailroom's stand-in for unreadable senders lives there.
        let lower = email.lowercased()
        return MessageBuilder.isValidAddress(email) && !lower.hasSuffix(".invalid") && !lower.hasSuffix("@invalid")
    }

    private static func usableID(_ id: String?) -> String? {
        guard let id, MessageBuilder.isValidMessageID(id) else { return nil }
        return id
    }

    /// Trimmed, with control characters (a CR/LF decoded from a hostile encoded-word, say) turned into spaces:
    /// stored names and subjects come from customers' mail and must never make the reply unbuildable.
    private static func nonEmpty(_ s: String?) -> String? {
        guard let s else { return nil }
        let t = headerSafe(s)
        return t.isEmpty ? nil : t
    }

    private static func headerSafe(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.properties.generalCategory == .control && $0 != "\t" ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }
}
