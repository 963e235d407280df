import Foundation

/// What filing a group of incoming emails needs to know of what is already stored, read in a few look-ups per
/// group instead of several per email: the store gathers it for ``FilingPlan/Keys`` and ``FilingPlan`` decides.
public struct FilingFacts: Sendable, Equatable {
    /// A stored message by its dedupe key.
    public struct Filed: Sendable, Equatable {
        public var ticket: TicketNumber
        /// nil for mail filed before hashes were kept, which then matches any content.
        public var contentHash: String?
        public init(ticket: TicketNumber, contentHash: String?) {
            self.ticket = ticket
            self.contentHash = contentHash
        }
    }

    /// What is known of a ticket's conversation (see ``ConversationMembership/Candidate``).
    public struct Conversation: Sendable, Equatable {
        public var mailbox: MailboxID?
        public var participants: Set<String>
        public var sentMessageIDs: Set<String>
        public init(mailbox: MailboxID?, participants: Set<String>, sentMessageIDs: Set<String>) {
            self.mailbox = mailbox
            self.participants = participants
            self.sentMessageIDs = sentMessageIDs
        }
    }

    /// The mailbox's stored messages by dedupe key, for the keys asked.
    public var filed: [String: Filed]
    /// The tickets holding each Message-ID asked, within the mailbox: Mailroom's own replies first, then the oldest.
    public var holders: [String: [TicketNumber]]
    /// The conversations of the tickets the group names (see ``FilingPlan/named(by:holders:)``); a number with no
    /// ticket is simply absent.
    public var conversations: [TicketNumber: Conversation]
    /// The mailbox's own address, which never counts as a participant.
    public var supportAddress: String

    public init(filed: [String: Filed] = [:], holders: [String: [TicketNumber]] = [:], conversations: [TicketNumber: Conversation] = [:], supportAddress: String) {
        self.filed = filed
        self.holders = holders
        self.conversations = conversations
        self.supportAddress = supportAddress
    }
}

/// How a group of incoming emails is filed, decided as one value: which are refetches (duplicates), which join a
/// ticket and which open one. Later emails of the group see the earlier ones — a reply filed in the same group as
/// the email it answers joins its new ticket — exactly as if each had been filed on its own, in order.
///
/// The store reads ``FilingFacts`` for ``Keys``, then writes what the plan says in a few statements: new tickets,
/// one update for the tickets joined, the messages.
public struct FilingPlan: Sendable {
    /// A ticket the plan files into: one already stored, or the k-th it opens (numbered by the store on insert).
    public enum TicketRef: Hashable, Sendable {
        case existing(TicketNumber)
        case new(Int)
    }

    public enum Outcome: Sendable, Equatable {
        case opened(TicketRef)
        case joined(TicketRef)
        case duplicate(TicketRef)
    }

    /// A ticket the group opens, with the messages of the group that joined it already counted.
    public struct NewTicket: Sendable, Equatable {
        public var subject: String
        public var requester: Person
        public var mailbox: MailboxID
        public var messageCount: Int
        public var createdAt: Date
        public var lastMessageAt: Date
        /// The ticket its first email named but could not join.
        public var referredTo: TicketRef?
    }

    /// A stored ticket the group's emails join: how many, and the newest of them.
    public struct Joined: Sendable, Equatable {
        public var ticket: TicketNumber
        public var added: Int
        public var lastMessageAt: Date
    }

    /// An email to store, fit to store (``IncomingEmail/storable``), under its final dedupe key.
    public struct Filing: Sendable {
        public var email: IncomingEmail
        public var ticket: TicketRef
    }

    /// One per email, in order.
    public private(set) var outcomes: [Outcome] = []
    public private(set) var newTickets: [NewTicket] = []
    public private(set) var filings: [Filing] = []
    /// Stored tickets joined, in the order first joined.
    public private(set) var joined: [Joined] = []

    /// The look-ups a group needs, for emails already made ``IncomingEmail/storable``.
    public struct Keys: Sendable, Equatable {
        /// Each email's dedupe key, and the key it is filed under when another email already took that one.
        public var dedupeKeys: [String]
        /// Every Message-ID the emails answer.
        public var messageIDs: [String]
    }

    /// At most this many references of an email are looked up, and this many named tickets judged: a stranger's
    /// email cannot make one filing read the whole mailbox.
    public static let maxReferences = 100
    public static let maxCandidates = 5

    /// The keys of the first look-ups. An email whose content hash is not known yet has no second key to look up:
    /// if its key is taken (``contested(_:filed:)``), the store hashes it and looks up its ``rehashedKey(_:)`` (``hashContested(_:filed:hash:)``).
    public static func keys(for emails: [IncomingEmail]) -> Keys {
        var dedupe: [String] = [], seenDedupe: Set<String> = []
        var ids: [String] = [], seenIDs: Set<String> = []
        // By index: an email read in place is not copied (a copy retains each of its many fields).
        for index in emails.indices {
            if seenDedupe.insert(emails[index].dedupeKey).inserted { dedupe.append(emails[index].dedupeKey) }
            if let key = Self.rehashedKey(emails[index]), seenDedupe.insert(key).inserted { dedupe.append(key) }
            for reference in Self.references(of: emails[index]) where seenIDs.insert(reference).inserted { ids.append(reference) }
        }
        return Keys(dedupeKeys: dedupe, messageIDs: ids)
    }

    /// The stored tickets whose conversations the plan may judge, given the holders read for ``Keys``: for each
    /// email, the first ``maxCandidates`` tickets it names. Emails of the group only ever add tickets the group
    /// opened or already names, so this set is enough.
    public static func named(by emails: [IncomingEmail], holders: [String: [TicketNumber]]) -> [TicketNumber] {
        var all: [TicketNumber] = [], seen: Set<TicketNumber> = []
        for index in emails.indices {
            for (ticket, _) in named(emails[index], holders: holders).prefix(maxCandidates) where seen.insert(ticket).inserted { all.append(ticket) }
        }
        return all
    }

    /// The emails whose content decides how they are filed: those whose dedupe key is already filed, or shared
    /// with another email of the group (a refetch, or a sender reusing a Message-ID). The store makes sure these
    /// have a content hash, and that the stored messages they meet have one, before the plan decides; any other
    /// email's content is never compared, so it is never hashed.
    public static func contested(_ emails: [IncomingEmail], filed: [String: FilingFacts.Filed]) -> [Int] {
        var counts: [String: Int] = [:]
        for index in emails.indices { counts[emails[index].dedupeKey, default: 0] += 1 }
        return emails.indices.filter { filed[emails[$0].dedupeKey] != nil || counts[emails[$0].dedupeKey, default: 0] > 1 }
    }

    /// The key an email with a known content hash would be filed under if its own key were taken by other content;
    /// nil while its hash is unknown.
    public static func rehashedKey(_ email: IncomingEmail) -> String? {
        email.contentHash.isEmpty ? nil : rehashed(email)
    }

    /// Gives the ``contested(_:filed:)`` emails that have content their hash (`hash`, the store's), and returns the
    /// keys they would be filed under if their own were taken by other content: the store's second look-up.
    public static func hashContested(_ emails: inout [IncomingEmail], filed: [String: FilingFacts.Filed], hash: ([UInt8]) -> String) -> [String] {
        var keys: [String] = []
        for index in contested(emails, filed: filed) where emails[index].contentHash.isEmpty && !emails[index].raw.isEmpty {
            emails[index].contentHash = hash(emails[index].raw)
            if let key = rehashedKey(emails[index]), filed[key] == nil { keys.append(key) }
        }
        return keys
    }

    /// Decides the group. `emails` must be ``IncomingEmail/storable`` (the store's look-ups used their keys), and
    /// the ``contested(_:filed:)`` ones must carry their content hash where they have content.
    public init(_ emails: [IncomingEmail], mailbox: MailboxID, facts: FilingFacts) {
        var filed = facts.filed.mapValues { (ticket: TicketRef.existing($0.ticket), contentHash: $0.contentHash) }
        var holders = facts.holders
        var conversations = facts.conversations
        for var email in emails {
            // A refetch: same key and same content (or content unknown on either side).
            if let earlier = filed[email.dedupeKey] {
                if earlier.contentHash == nil || earlier.contentHash == email.contentHash || email.contentHash.isEmpty {
                    outcomes.append(.duplicate(earlier.ticket))
                    continue
                }
                // Same Message-ID, different content: another email (broken mailers reuse IDs). File it under its hash.
                email.dedupeKey = Self.rehashed(email)
                if let again = filed[email.dedupeKey] {
                    outcomes.append(.duplicate(again.ticket))
                    continue
                }
            }
            let references = Self.references(of: email)
            let candidates = Self.named(email, holders: holders).prefix(Self.maxCandidates).compactMap { ticket, reference in
                conversations[ticket].map {
                    ConversationMembership.Candidate(
                        ticket: ticket, mailbox: $0.mailbox, participants: $0.participants, sentMessageIDs: $0.sentMessageIDs,
                        matchedReference: reference)
                }
            }
            let decision = ConversationMembership.decide(
                sender: email.from.email, mailbox: mailbox, supportAddress: facts.supportAddress, references: references, candidates: candidates)
            let ticket: TicketNumber
            switch decision {
            case .join(let existing):
                ticket = existing
                let ref = Self.ref(existing)
                join(ref, at: email.receivedAt)
                outcomes.append(.joined(ref))
            case .newTicket(let referred):
                ticket = Self.provisional(newTickets.count)
                outcomes.append(.opened(.new(newTickets.count)))
                newTickets.append(NewTicket(
                    subject: email.subject, requester: email.from, mailbox: mailbox, messageCount: 1, createdAt: email.receivedAt,
                    lastMessageAt: email.receivedAt, referredTo: referred.map(Self.ref)))
                conversations[ticket] = FilingFacts.Conversation(mailbox: mailbox, participants: [], sentMessageIDs: [])
            }
            // What later emails of the group see of this one, inserted in place: no list of the people first.
            conversations[ticket]?.participants.insert(ConversationMembership.participant(email.from.email))
            // Two loops, not `to + cc`: that would build a list for every email.
            for person in email.to { conversations[ticket]?.participants.insert(ConversationMembership.participant(person.email)) }
            for person in email.cc { conversations[ticket]?.participants.insert(ConversationMembership.participant(person.email)) }
            filed[email.dedupeKey] = (Self.ref(ticket), email.contentHash.isEmpty ? nil : email.contentHash)
            if let id = email.messageID, holders[id]?.contains(ticket) != true { holders[id, default: []].append(ticket) }
            filings.append(Filing(email: email, ticket: Self.ref(ticket)))
        }
    }

    /// The outcomes, once the store has numbered the tickets the plan opens (`numbers[k]` for ``TicketRef/new(_:)`` k).
    public func outcomes(numbering numbers: [TicketNumber]) throws -> [IngestOutcome] {
        try outcomes.map { outcome in
            switch outcome {
            case .opened(let ref): .openedTicket(try Self.number(ref, numbers))
            case .joined(let ref): .joinedTicket(try Self.number(ref, numbers))
            case .duplicate(let ref): .duplicate(try Self.number(ref, numbers))
            }
        }
    }

    public static func number(_ ref: TicketRef, _ numbers: [TicketNumber]) throws -> TicketNumber {
        switch ref {
        case .existing(let number): return number
        case .new(let index):
            guard numbers.indices.contains(index) else { throw StoreError.corrupt("A new ticket got no number.") }
            return numbers[index]
        }
    }

    private mutating func join(_ ref: TicketRef, at received: Date) {
        switch ref {
        case .new(let index):
            newTickets[index].messageCount += 1
            newTickets[index].lastMessageAt = max(newTickets[index].lastMessageAt, received)
        case .existing(let number):
            if let index = joined.firstIndex(where: { $0.ticket == number }) {
                joined[index].added += 1
                joined[index].lastMessageAt = max(joined[index].lastMessageAt, received)
            } else {
                joined.append(Joined(ticket: number, added: 1, lastMessageAt: received))
            }
        }
    }

    /// Tickets the group opens stand in the decision as negative numbers, which no stored ticket has.
    private static func provisional(_ index: Int) -> TicketNumber { TicketNumber(-1 - Int64(index)) }
    private static func ref(_ number: TicketNumber) -> TicketRef {
        number.rawValue < 0 ? .new(Int(-1 - number.rawValue)) : .existing(number)
    }

    private static func rehashed(_ email: IncomingEmail) -> String { email.dedupeKey + "#sha256:" + email.contentHash }
    private static func references(of email: IncomingEmail) -> [String] { Array(email.threadReferences.prefix(maxReferences)) }

    /// The tickets an email names, most specific first: by each Message-ID it answers (in the holders' order),
    /// then by `[#N]` in its subject.
    private static func named(_ email: IncomingEmail, holders: [String: [TicketNumber]]) -> [(TicketNumber, String?)] {
        var named: [(TicketNumber, String?)] = []
        var seen: Set<TicketNumber> = []
        for reference in references(of: email) {
            for ticket in holders[reference] ?? [] where seen.insert(ticket).inserted { named.append((ticket, reference)) }
        }
        if let number = Threading.ticketNumber(inSubject: email.subject), seen.insert(number).inserted { named.append((number, nil)) }
        return named
    }
}
