import Foundation
import MIME
import MailroomCore
import MailroomTestSupport
import Testing

/// The in-memory store keeps the promises of the SQL store that tests lean on: dedupe, threading, the grant's
/// version guard, the outbox's schedule, sessions.
@Suite("The in-memory store behaves like the SQL store")
struct InMemoryStoreTests {
    static let mark = SyncWatermark(uidValidity: 9, lastUID: 1, source: "imap://s@imap.example.com:993/INBOX")

    static func message(id: String, subject: String, from: String = "customer@example.com", inReplyTo: String? = nil, body: String = "Hello") -> IncomingEmail {
        var lines = ["From: \(from)", "To: support@example.com", "Subject: \(subject)", "Message-ID: <\(id)>"]
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        let raw = Array((lines + ["", body, ""]).joined(separator: "\r\n").utf8)
        // Any text that differs when the bytes differ serves as the content hash here.
        return IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: "hash-of-\(body)-\(id)")
    }

    static func mailbox(_ store: InMemoryStore, email: String = "support@example.com") async throws -> Mailbox {
        try await store.createMailbox(
            try MailboxDraft(email: email, name: "Support", imapHost: "imap.example.com").validated(), incomingSecret: SealedSecret(bytes: [1]), at: Date())
    }

    @Test("A refetch is a duplicate; a different email reusing a Message-ID is filed; the watermark moves with the filing")
    func dedupe() async throws {
        let store = InMemoryStore()
        let mailbox = try await Self.mailbox(store)
        let first = Self.message(id: "one@example.com", subject: "Printer broken")
        guard case .openedTicket(let number) = try await store.ingest(first, mailbox: mailbox.id, folder: "INBOX", watermark: Self.mark) else {
            Issue.record("the first email opens a ticket")
            return
        }
        #expect(try await store.ingest(first, mailbox: mailbox.id, folder: "INBOX", watermark: Self.mark) == .duplicate(number))
        let reused = Self.message(id: "one@example.com", subject: "Printer broken", body: "other content")
        if case .duplicate = try await store.ingest(reused, mailbox: mailbox.id, folder: "INBOX", watermark: Self.mark) {
            Issue.record("another email with the same Message-ID is not a duplicate")
        }
        #expect(try await store.messageCount() == 2)
        #expect(try await store.dedupeKeys(mailbox: mailbox.id).contains { $0.hasPrefix("mid:one@example.com#sha256:") })
        #expect(try await store.watermark(mailbox.id, folder: "INBOX") == Self.mark)
        #expect(try await store.storedUIDs(mailbox: mailbox.id, source: try #require(Self.mark.source), uidValidity: 9, through: 10).isEmpty,
                "emails without a UID are never offered for deletion")
        // The same Message-ID in another mailbox is another email.
        let other = try await Self.mailbox(store, email: "sales@example.com")
        if case .duplicate = try await store.ingest(first, mailbox: other.id, folder: "INBOX", watermark: Self.mark) {
            Issue.record("dedupe is per mailbox")
        }
    }

    @Test("Threading: a participant's reply joins by In-Reply-To and by [#N]; a stranger naming the ticket opens a new one that refers to it")
    func threading() async throws {
        let store = InMemoryStore()
        let mailbox = try await Self.mailbox(store)
        guard case .openedTicket(let number) = try await store.receive(Self.message(id: "a@example.com", subject: "Help"), mailbox: mailbox.id) else {
            Issue.record("the first email opens a ticket")
            return
        }
        #expect(try await store.receive(Self.message(id: "b@example.com", subject: "Re: Help", inReplyTo: "a@example.com"), mailbox: mailbox.id)
            == .joinedTicket(number))
        #expect(try await store.receive(Self.message(id: "c@example.com", subject: "Re: [#\(number)] Help"), mailbox: mailbox.id) == .joinedTicket(number))
        let stranger = Self.message(id: "d@evil.example", subject: "Re: [#\(number)] Help", from: "mallory@evil.example", inReplyTo: "a@example.com")
        guard case .openedTicket(let other) = try await store.receive(stranger, mailbox: mailbox.id) else {
            Issue.record("a stranger never joins")
            return
        }
        #expect(other != number)
        #expect(try await store.ticket(other)?.summary.referredTicket == number)
        // Forging the support address as sender does not make one a participant.
        let forged = Self.message(id: "e@evil.example", subject: "Re: [#\(number)] Help", from: "support@example.com")
        if case .joinedTicket = try await store.receive(forged, mailbox: mailbox.id) { Issue.record("the support address is no participant") }
        let detail = try #require(try await store.ticket(number))
        #expect(detail.messages.count == 3 && detail.summary.messageCount == 3)
    }

    @Test("A reply to Mailroom's own reply joins even from an address new to the ticket; the reply is queued and recorded")
    func ownReplyAndOutbox() async throws {
        let store = InMemoryStore()
        let mailbox = try await Self.mailbox(store)
        guard case .openedTicket(let number) = try await store.receive(Self.message(id: "a@example.com", subject: "Help"), mailbox: mailbox.id) else {
            Issue.record("the first email opens a ticket")
            return
        }
        let now = Date()
        let delivery = try await store.enqueue(OutboundReply(
            ticket: number, mailbox: mailbox.id, messageID: "reply-1@mailroom.test", from: Person(name: "Support", email: "support@example.com"),
            to: [Person(name: nil, email: "customer@example.com")], cc: [], subject: "Re: [#\(number)] Help", textBody: "On it.",
            envelopeFrom: "support@example.com", recipients: ["customer@example.com"], raw: Array("reply".utf8)), at: now)
        let node = NodeID("node-a")
        #expect(try await store.dueDeliveries(now: now, limit: 10).map(\.id) == [delivery.id])
        #expect(try await store.claimDueDeliveries(now: now, limit: 10, by: node, for: .seconds(300)).map(\.id) == [delivery.id])
        #expect(try await store.claimDueDeliveries(now: now, limit: 10, by: NodeID("node-b"), for: .seconds(300)).isEmpty, "claimed by node A")
        #expect(try await store.record(.sent, delivery: delivery.id, claimedBy: NodeID("node-b"), at: now) == false, "only the claimant records")
        try await store.record(.retry(error: "451 later", at: now.addingTimeInterval(60)), delivery: delivery.id, claimedBy: node, at: now)
        #expect(try await store.dueDeliveries(now: now, limit: 10).isEmpty)
        #expect(try await store.claimDueDeliveries(now: now.addingTimeInterval(61), limit: 10, by: node, for: .seconds(300)).map(\.attempts) == [1])
        try await store.record(.sent, delivery: delivery.id, claimedBy: node, at: now.addingTimeInterval(61))
        #expect(try await store.dueDeliveries(now: now.addingTimeInterval(3600), limit: 10).isEmpty)
        #expect(try await store.deliveries(ticket: number)[delivery.messageRowID]?.state == .sent)

        let colleague = Self.message(id: "f@example.com", subject: "Re: Help", from: "colleague@example.com", inReplyTo: "reply-1@mailroom.test")
        #expect(try await store.receive(colleague, mailbox: mailbox.id) == .joinedTicket(number))
    }

    @Test("A grant is replaced only over the version that was read, and the saved one has the next version")
    func grantVersionGuard() async throws {
        let store = InMemoryStore()
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let grant = StoredGrant(
            provider: "microsoft", tenant: nil, account: "support@example.com", subject: "oid", scopes: ["IMAP"], accessToken: SealedSecret(bytes: [1]),
            accessTokenExpiresAt: now.addingTimeInterval(3600), refreshToken: SealedSecret(bytes: [2]), obtainedAt: now, refreshedAt: nil)
        let mailbox = try await store.createMailbox(
            try MailboxDraft(email: "support@example.com", name: "S", provider: .microsoft, authentication: .oauth2).validated(), grant: grant, at: now)
        var refreshed = grant
        refreshed.accessToken = SealedSecret(bytes: [3])
        #expect(try await store.replaceGrant(mailbox.id, with: refreshed, expectedVersion: 0))
        #expect(try await store.grant(mailbox.id)?.version == 1)
        #expect(try await store.replaceGrant(mailbox.id, with: grant, expectedVersion: 0) == false, "a refresher that read version 0 lost the race")
        #expect(try await store.grant(mailbox.id)?.accessToken == SealedSecret(bytes: [3]))
        #expect(try await store.replaceGrant(MailboxID(999), with: grant, expectedVersion: 0) == false)
    }

    @Test("Addresses are unique without case, health keeps what the notifier recorded, and the banner lists mailboxes needing sign-in")
    func accountsAndHealth() async throws {
        let store = InMemoryStore()
        _ = try await store.createUser(email: "Lead@example.com", name: "Lead", role: .admin, passwordHash: "h", at: Date())
        await #expect(throws: StoreError.self) {
            _ = try await store.createUser(email: "lead@EXAMPLE.com", name: "Dup", role: .agent, passwordHash: "h", at: Date())
        }
        let mailbox = try await Self.mailbox(store)
        await #expect(throws: StoreError.self) { _ = try await Self.mailbox(store, email: "SUPPORT@example.com") }
        try await store.setHealth(mailbox.id, .incoming, ConnectionHealth(state: .reauthorizationRequired))
        #expect(try await store.markNotified(mailbox.id, .incoming, from: nil, to: .reauthorizationRequired, at: Date()))
        #expect(try await store.markNotified(mailbox.id, .incoming, from: nil, to: .reauthorizationRequired, at: Date()) == false, "claimed once")
        try await store.setHealth(mailbox.id, .incoming, ConnectionHealth(state: .reauthorizationRequired, consecutiveFailures: 2))
        #expect(try await store.health(mailbox.id)[.incoming]?.notifiedState == .reauthorizationRequired)
        #expect(try await store.mailboxesNeedingReauthorization() == [mailbox.id])
        #expect(try await store.setEnabled(mailbox.id, false, at: Date()))
        #expect(try await store.mailbox(mailbox.id)?.enabled == false)
        #expect(try await store.setEnabled(MailboxID(999), false, at: Date()) == false)
    }

    @Test("Sessions: found until they expire, ended by sign-out and by a new password")
    func sessions() async throws {
        let store = InMemoryStore()
        let now = Date()
        let user = try await store.createUser(email: "a@example.com", name: "A", role: .agent, passwordHash: "h", at: now)
        let token = try await store.startSession(user: user, lifetime: 60, at: now)
        #expect(try await store.session(token: token, at: now)?.user == user)
        #expect(try await store.session(token: token, at: now.addingTimeInterval(61)) == nil)
        try await store.endSession(token: token)
        #expect(try await store.session(token: token, at: now) == nil)
        let again = try await store.startSession(user: user, lifetime: 60, at: now)
        #expect(try await store.setPassword(userEmail: "A@example.com", passwordHash: "new"))
        #expect(try await store.session(token: again, at: now) == nil)
        #expect(try await store.credentials(email: "a@example.com")?.passwordHash == "new")
    }
}
