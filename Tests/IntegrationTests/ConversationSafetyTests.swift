import Crypto
import Engine
import Foundation
import MailroomTestSupport
import MIME
import MailroomCore
import Storage
import Testing

/// A stranger cannot join a ticket by naming it, and so can never receive the agent's next reply; one email the
/// database refuses never stops a mailbox. On SQLite and PostgreSQL.
@Suite("Conversations keep their people; one bad email never stops a mailbox", .serialized)
struct ConversationSafetyTests {
    static func email(_ raw: [UInt8], uid: UInt32? = nil) -> IncomingEmail {
        var email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: SHA256.hash(data: raw).map { String(format: "%02x", $0) }.joined())
        email.sourceUID = uid
        return email
    }

    static func message(id: String, subject: String, from: String, cc: [String] = [], inReplyTo: String? = nil, extra: [String] = []) -> [UInt8] {
        var lines = [
            "From: \(from)", "To: support@helpdesk.example", "Subject: \(subject)", "Date: Sun, 29 Nov 2026 10:00:00 +0000",
            "Message-ID: <\(id)>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        ]
        if !cc.isEmpty { lines.append("Cc: " + cc.joined(separator: ", ")) }
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        lines += extra
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\nHello\r\n").utf8)
    }

    static func mailbox(_ fixture: StoreFixture) async throws -> Mailbox {
        try await fixture.passwordMailbox(email: "support@helpdesk.example", name: "Support")
    }

    @Test("A stranger's «Re: [#1]» with two Cc opens a new ticket naming #1; the agent's reply on #1 reaches only the customer; the customer and her Cc'd colleague still join", arguments: Backend.allCases)
    func strangerCannotJoin(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "conversation")
        let mailbox = try await Self.mailbox(fixture)
        let store = fixture.store
        var uid: UInt32 = 0
        func file(_ raw: [UInt8]) async throws -> IngestOutcome {
            uid += 1
            return try await store.ingest(Self.email(raw, uid: uid), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: uid))
        }
        let opened = try await file(Self.message(
            id: "m1@customer.example", subject: "My invoice", from: "Jane <jane@customer.example>", cc: ["Colleague <colleague@customer.example>"]))
        guard case .openedTicket(let ticket) = opened else { Issue.record("\(opened)"); return }

        // The stranger names the ticket by its number and by quoting the customer's Message-ID.
        let stranger = try await file(Self.message(
            id: "evil@evil.example", subject: "Re: [#\(ticket)] My invoice", from: "Mallory <mallory@evil.example>",
            cc: ["one@evil.example", "two@evil.example"], inReplyTo: "m1@customer.example"))
        guard case .openedTicket(let other) = stranger else { Issue.record("the stranger joined: \(stranger)"); return }
        #expect(other != ticket)
        #expect(try await store.ticket(other)?.summary.referredTicket == ticket, "the new ticket says which ticket it named")
        #expect(try await store.ticket(ticket)?.messages.count == 1)

        // The agent's next reply on the customer's ticket goes to the customer and her colleague only.
        let replies = ReplyService(store: store, outbound: nil)
        let delivery = try await replies.reply(to: ticket, text: "Here is your invoice.")
        #expect(Set(delivery.recipients) == ["jane@customer.example", "colleague@customer.example"], "\(delivery.recipients)")

        // The customer's own «Re: [#N]» joins; so does the colleague she put in Cc; and a reply to our reply.
        #expect(try await file(Self.message(id: "m2@customer.example", subject: "Re: [#\(ticket)] My invoice", from: "jane@customer.example")) == .joinedTicket(ticket))
        #expect(try await file(Self.message(
            id: "m3@customer.example", subject: "Re: My invoice", from: "colleague@customer.example", inReplyTo: "m1@customer.example")) == .joinedTicket(ticket))
        let ours = try #require(try await store.ticket(ticket)?.messages.first { $0.direction == .outgoing }?.messageID)
        #expect(try await file(Self.message(
            id: "m4@customer.example", subject: "Fwd: Re: [#\(ticket)] My invoice", from: "boss@customer.example", inReplyTo: ours)) == .joinedTicket(ticket),
            "answering Mailroom's own Message-ID proves the email reached them")
        // A forged From: the support address is no member.
        if case .joinedTicket = try await file(Self.message(id: "forged@evil.example", subject: "Re: [#\(ticket)] x", from: "support@helpdesk.example")) {
            Issue.record("a forged support address joined the ticket")
        }
    }

    @Test("NUL in a subject, a file name and a name, and a header that is not UTF-8: each is filed, and the next email after it on the same pass too", arguments: Backend.allCases)
    func nulNeverStopsAMailbox(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "nul")
        let mailbox = try await Self.mailbox(fixture)
        let nulSubject = Self.message(id: "nul1@x.example", subject: "=?utf-8?b?AA==?= hello", from: "a@x.example")
        let nulName = Self.message(id: "nul2@x.example", subject: "name", from: "=?utf-8?q?Eve=00?= <b@x.example>")
        let nulFile = Array("""
            From: c@x.example\r\nTo: support@helpdesk.example\r\nSubject: file\r\nMessage-ID: <nul3@x.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/octet-stream; name="=?utf-8?b?YQBiLnBkZg==?="\r\nContent-Disposition: attachment; filename*=utf-8''a%00b.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n
            """.utf8)
        let latin1 = Array("From: d@x.example\r\nTo: support@helpdesk.example\r\nSubject: caf".utf8) + [0xE9, 0x00] + Array("\r\nMessage-ID: <bad8@x.example>\r\n\r\nbody \u{0} text\r\n".utf8)
        let next = Self.message(id: "next@x.example", subject: "The next email", from: "e@x.example")
        let emails = [nulSubject, nulName, nulFile, latin1, next].enumerated().map { Self.email($0.element, uid: UInt32($0.offset + 1)) }
        let outcomes = try await fixture.store.ingest(emails, mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 5))
        #expect(outcomes.count == 5)
        #expect(try await fixture.store.watermark(mailbox.id, folder: "INBOX")?.lastUID == 5)
        let tickets = try await fixture.store.tickets(limit: 10, offset: 0)
        #expect(tickets.count == 5)
        #expect(tickets.contains { $0.subject == "The next email" })
        #expect(tickets.allSatisfy { !$0.subject.unicodeScalars.contains { $0.value == 0 } && $0.requester.name?.contains("\u{0}") != true })
        for summary in tickets {
            let detail = try #require(try await fixture.store.ticket(summary.number))
            for message in detail.messages {
                #expect(!message.textBody.unicodeScalars.contains { $0.value == 0 })
                #expect(message.attachments.allSatisfy { !$0.filename.unicodeScalars.contains { $0.value < 0x20 } })
                #expect(try await fixture.store.rawMessage(message.id)?.isEmpty == false, "the original bytes are kept as they came")
            }
        }
    }
}

/// A database that refuses one email on every pass, or everything, as real constraints do: PostgreSQL triggers.
@Suite("An email the database refuses", .serialized)
struct RefusedEmailTests {
    @Test("An email the database refuses on every pass becomes a notice with its bytes and the next one is filed in the same pass; a database that refuses even the notice shows on the mailbox")
    func refusedEmailNeverStopsTheMailbox() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("refused")
        try dovecot.setUser(user, password: "pw")
        try dovecot.deliver([
            simpleMessage(id: "before-\(user)@example.com", subject: "Before"),
            simpleMessage(id: "poison-\(user)@example.com", subject: "Poison"),
            simpleMessage(id: "after-\(user)@example.com", subject: "After"),
        ], to: user)
        let fixture = try await StoreFixture.make(.postgres, name: "refused")
        func psql(_ statement: String) throws {
            _ = try ProcessRunner.run(["psql", "-v", "ON_ERROR_STOP=1", fixture.databaseURL, "-c", statement])
        }
        try psql("""
            CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN
              IF NEW.subject = 'Poison' THEN RAISE EXCEPTION 'value refused by a constraint'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """)
        let mailbox = try await fixture.addMailbox(user: user, password: "pw", dovecot: dovecot)
        let syncer = fixture.syncer(dovecot: dovecot)
        guard case .success(let report) = await syncer.syncAndRecord(mailbox) else { Issue.record("the pass failed"); return }
        #expect(report.fetched == 3)
        let subjects = Set(try await fixture.store.tickets(limit: 10, offset: 0).map(\.subject))
        #expect(subjects.contains("Before") && subjects.contains("After"), "\(subjects)")
        #expect(subjects.contains { $0.hasPrefix("(email Mailroom could not store: Poison") }, "\(subjects)")
        let notice = try #require(try await fixture.store.tickets(limit: 10, offset: 0).first { $0.subject.hasPrefix("(email Mailroom could not store") })
        let detail = try #require(try await fixture.store.ticket(notice.number))
        #expect(detail.messages.first?.textBody.contains("value refused by a constraint") == true, "the notice says what went wrong")
        #expect(try await fixture.store.rawMessage(#require(detail.messages.first?.id)).map { String(decoding: $0, as: UTF8.self) }?.contains("Subject: Poison") == true,
                "the original bytes are kept")
        #expect(try await fixture.store.watermark(mailbox.id, folder: "INBOX")?.lastUID == 3)
        #expect(try await fixture.store.health(mailbox.id)[.incoming]?.state == .connected)

        // Now the database refuses every email: the pass fails, and the mailbox says so.
        try psql("""
            CREATE FUNCTION refuse_all() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_all BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_all();
            """)
        try dovecot.deliver([simpleMessage(id: "later-\(user)@example.com", subject: "Later")], to: user)
        guard case .failure = await syncer.syncAndRecord(mailbox) else { Issue.record("the pass should fail"); return }
        let health = try #require(try await fixture.store.health(mailbox.id)[.incoming])
        #expect(health.state == .temporarilyFailing)
        #expect(health.cause?.contains("could not store it in its database") == true)
        #expect(health.detail?.contains("disk quota exceeded") == true, "\(health.detail ?? "")")
        #expect(try await fixture.store.watermark(mailbox.id, folder: "INBOX")?.lastUID == 3, "the unfiled email is fetched again later")
        // Once the database takes mail again, the next pass files it.
        try psql("DROP TRIGGER refuse_all ON messages")
        guard case .success(let again) = await syncer.syncAndRecord(mailbox) else { Issue.record("the pass after the fix failed"); return }
        #expect(again.fetched == 1)
        #expect(try await fixture.store.health(mailbox.id)[.incoming]?.state == .connected)
    }
}
