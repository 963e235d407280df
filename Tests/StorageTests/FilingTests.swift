import Crypto
import Foundation
import Logging
import MailroomTestSupport
import MIME
import MailroomCore
import SQLKit
import Storage
import Testing

@Suite("Filing mail in groups on SQLite and PostgreSQL", .serialized)
struct FilingTests {
    func email(_ raw: [UInt8]) -> IncomingEmail { incomingEmail(raw) }

    func mailbox(_ fixture: StoreFixture) async throws -> Mailbox { try await fixture.passwordMailbox() }

    /// The ticket each email of a group opened, with its first message; nil, with the issue recorded, unless every
    /// email opened one.
    func opened(_ outcomes: [IngestOutcome], in store: SQLStore) async throws -> [(number: TicketNumber, message: TicketMessage)]? {
        var opened: [(number: TicketNumber, message: TicketMessage)] = []
        for outcome in outcomes {
            guard case .openedTicket(let number) = outcome, let message = try await store.ticket(number)?.messages.first else {
                Issue.record("expected a new ticket for each email, got \(outcomes)")
                return nil
            }
            opened.append((number, message))
        }
        return opened
    }

    @Test("One group threads within itself and against stored mail, numbers its new tickets after every earlier one, and counts each ticket's messages",
          arguments: Backend.allCases)
    func groups(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "groups")
        let box = try await mailbox(fixture)
        let a = simpleMessage(id: "a@example.com", subject: "Printer broken")
        let b = simpleMessage(id: "b@example.com", subject: "Re: Printer broken", inReplyTo: "a@example.com")
        let first = try await fixture.store.ingest([email(a), email(b), email(a)], mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 3))
        guard case .openedTicket(let one) = first.first else {
            Issue.record("expected a new ticket, got \(first)")
            return
        }
        #expect(first == [.openedTicket(one), .joinedTicket(one), .duplicate(one)])

        let c = simpleMessage(id: "c@example.com", subject: "Re: Printer broken", inReplyTo: "b@example.com")
        let d = simpleMessage(id: "d@example.com", subject: "Invoice")
        let stranger = simpleMessage(id: "e@example.com", subject: "Re: Printer broken", from: "Mallory <mallory@evil.example>", inReplyTo: "a@example.com")
        let second = try await fixture.store.ingest(
            [email(c), email(d), email(stranger)], mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 6))
        guard second.count == 3, case .openedTicket(let two) = second[1], case .openedTicket(let three) = second[2] else {
            Issue.record("expected a join and two new tickets, got \(second)")
            return
        }
        #expect(second[0] == .joinedTicket(one))
        #expect(one.rawValue < two.rawValue && two.rawValue < three.rawValue)
        #expect(try await fixture.store.ticket(one)?.summary.messageCount == 3)
        #expect(try await fixture.store.ticket(one)?.messages.count == 3)
        #expect(try await fixture.store.ticket(three)?.summary.referredTicket == one)
        #expect(try await fixture.store.watermark(box.id, folder: "INBOX") == SyncWatermark(uidValidity: 1, lastUID: 6))

        // Mail filed one at a time (the SMTP receiver) is numbered after the groups' tickets.
        let received = try await fixture.store.receive(email(simpleMessage(id: "f@example.com", subject: "Hello")), mailbox: box.id)
        guard case .openedTicket(let four) = received else {
            Issue.record("expected a new ticket, got \(received)")
            return
        }
        #expect(four.rawValue > three.rawValue)
        #expect(try await fixture.store.ticketCount() == 4)
    }

    @Test("Stored people are compared in one form: a requester who wrote in capitals is recognised in a later group, a stranger is not",
          arguments: Backend.allCases)
    func storedParticipantsIgnoreCase(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "participantcase")
        let box = try await mailbox(fixture)
        let opened = try await fixture.store.ingest(
            [email(simpleMessage(id: "q@example.com", subject: "Refund", from: "Åsa Berg <Åsa.berg@customer.example>"))], mailbox: box.id,
            folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 1))
        guard case .openedTicket(let ticket) = opened.first else {
            Issue.record("expected a new ticket, got \(opened)")
            return
        }
        // Later groups read the conversation back from the store's rows, in the case it was stored (a capital
        // outside ASCII only, which a check of ASCII capitals alone would miss).
        let reply = simpleMessage(id: "r@example.com", subject: "Re: Refund", from: "åsa.berg@customer.example", inReplyTo: "q@example.com")
        let other = simpleMessage(id: "s@example.com", subject: "Re: Refund", from: "ASA.BERG@customer.example", inReplyTo: "q@example.com")
        let later = try await fixture.store.ingest([email(reply)], mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 2))
        #expect(later == [.joinedTicket(ticket)])
        let stranger = try await fixture.store.ingest([email(other)], mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 3))
        guard case .openedTicket(let own) = stranger.first else {
            Issue.record("«asa» is not «åsa»: expected a ticket of its own, got \(stranger)")
            return
        }
        #expect(own != ticket)
    }

    @Test("A large message is kept in pieces and comes back byte for byte, in the group's order, with small ones around it", arguments: Backend.allCases)
    func largeMessage(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "large")
        let box = try await mailbox(fixture)
        // 2.5 MiB: three pieces, the last a short one.
        let large = simpleMessage(id: "large@example.com", subject: "Scans", body: String(repeating: "0123456789abcdef", count: 163_840))
        let emails = [
            email(simpleMessage(id: "before@example.com", subject: "Before")), email(large), email(simpleMessage(id: "after@example.com", subject: "After")),
        ]
        let outcomes = try await fixture.store.ingest(emails, mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 3))
        guard let opened = try await opened(outcomes, in: fixture.store) else { return }
        let filed = opened.map(\.message), numbers = opened.map(\.number)
        #expect(filed.map(\.subject) == ["Before", "Scans", "After"])
        #expect(filed[0].id < filed[1].id && filed[1].id < filed[2].id)
        #expect(filed[1].rawSize == large.count)
        #expect(try await fixture.store.rawMessage(filed[1].id) == large)
        #expect(try await fixture.store.rawMessage(filed[2].id) == emails[2].raw)
        // A refetch of it is recognised like any other.
        #expect(try await fixture.store.ingest(email(large), mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 3)) == .duplicate(numbers[1]))
    }

    /// A message with a text and an HTML part, the HTML hostile.
    static func htmlMessage(id: String, subject: String, padding: Int = 0) -> [UInt8] {
        Array("""
            From: Customer <customer@example.com>\r
            To: support@helpdesk.example\r
            Subject: \(subject)\r
            Message-ID: <\(id)>\r
            Content-Type: multipart/alternative; boundary="b"\r
            \r
            --b\r
            Content-Type: text/plain\r
            \r
            The words of \(subject)\r
            --b\r
            Content-Type: text/html\r
            \r
            <p onclick="steal()">The <b>words</b> of \(subject)</p><script>alert(1)</script>\(String(repeating: "<i>x</i>", count: padding))\r
            --b--\r

            """.utf8)
    }

    @Test("A fetched message's HTML is not kept in its row but rendered from its raw bytes when read, sanitized as filing would have stored it; a message too large for that keeps it, and one whose raw bytes are lost shows its text",
          arguments: Backend.allCases)
    func htmlRenderedWhenRead(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "htmlread")
        let box = try await mailbox(fixture)
        let archived = Self.htmlMessage(id: "archived@example.com", subject: "Archived")
        let inRow = Self.htmlMessage(id: "inrow@example.com", subject: "In its row")
        // Over 1 MiB: kept in pieces, so its HTML is kept in its row rather than parsed again on every read.
        let large = Self.htmlMessage(id: "large@example.com", subject: "Large", padding: 140_000)
        var first = email(archived)
        // As the syncer does: the raw bytes go to the archive (SQLite) or `raw_blobs` (PostgreSQL) before the commit.
        if let location = try await fixture.store.archive([archived])?.first { first.archived = location }
        let outcomes = try await fixture.store.ingest(
            [first, email(inRow), email(large)], mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 3))
        guard let opened = try await opened(outcomes, in: fixture.store) else { return }
        for (message, raw) in zip(opened.map(\.message), [archived, inRow, large]) {
            let html = try #require(message.htmlBody, "\(message.subject) lost its HTML")
            #expect(html == IncomingEmail.renderedHTML(raw: raw))
            #expect(html.contains("<b>words</b> of \(message.subject)") && !html.contains("<script") && !html.contains("onclick"))
            #expect(message.textBody == "The words of \(message.subject)")
        }
        let rows = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT subject, CASE WHEN html_body IS NULL THEN 1 ELSE 0 END AS absent, html_from_raw FROM messages ORDER BY id").all().map {
                (try $0.decode(column: "subject", as: String.self), try $0.decode(column: "absent", as: Int.self), try $0.decode(column: "html_from_raw", as: Int.self))
            }
        }
        #expect(rows.map(\.0) == ["Archived", "In its row", "Large"])
        #expect(rows.map(\.1) == [1, 1, 0] && rows.map(\.2) == [1, 1, 0])

        // Raw bytes that cannot be read (an archive file removed by hand): the message still opens, with its text.
        guard backend == .sqlite, let folder = fixture.store.database.rawArchive?.folder else { return }
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) { try FileManager.default.removeItem(atPath: "\(folder)/\(file)") }
        guard let lost = try await fixture.store.ticket(opened[0].number)?.messages.first else {
            Issue.record("the ticket whose raw bytes are gone no longer opens")
            return
        }
        #expect(lost.htmlBody == nil && lost.textBody == "The words of Archived")
    }

    @Test("Threading finds a Message-ID through the mailbox's own index, not by reading every message of the mailbox (SQLite's plan)")
    func threadingIndex() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "plan")
        let plan = try await fixture.store.database.withSQL { sql in
            try await sql.raw("EXPLAIN QUERY PLAN SELECT id, message_id, ticket_id, direction FROM messages WHERE mailbox_id = 1 AND message_id IN ('a', 'b')")
                .all().map { try $0.decode(column: "detail", as: String.self) }
        }
        #expect(plan.contains { $0.contains("messages_mailbox_message_id") }, "plan: \(plan)")
    }

    @Test("PostgreSQL compresses stored mail with lz4, not its slow default")
    func postgresCompression() async throws {
        let fixture = try await StoreFixture.make(.postgres, name: "lz4")
        let methods = try await fixture.store.database.withSQL { sql in
            try await sql.raw("""
                SELECT attname, attcompression::text AS method FROM pg_attribute
                WHERE attrelid IN ('messages'::regclass, 'message_raw_pieces'::regclass) AND attname IN ('raw', 'bytes', 'text_body')
                """).all().map { try $0.decode(column: "method", as: String.self) }
        }
        #expect(methods == ["l", "l", "l"])
    }

    @Test("SQLite copies its write-ahead log into the database beside the writer, and the durable point still holds while it does")
    func backgroundCheckpoint() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "checkpoint")
        let box = try await mailbox(fixture)
        // 20 MB of mail: past the background threshold (4 MB), short of the writer's own (64 MB).
        let body = String(repeating: "The printer on the third floor is broken again. ", count: 800)
        func file(groups: Range<Int>) async throws {
            for group in groups {
                let emails = (0..<25).map { index in
                    email(simpleMessage(id: "m\(group)-\(index)@example.com", subject: "Report \(group)-\(index)", body: body))
                }
                _ = try await fixture.store.ingest(emails, mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: UInt32(group * 25 + 25)))
            }
        }
        let path = String(fixture.databaseURL.dropFirst(fixture.databaseURL.hasPrefix("sqlite:") ? 7 : 0))
        func size(_ file: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0 }
        try await file(groups: 0..<20)
        var waited = 0
        while size(path) < 15_000_000 && waited < 200 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(size(path) > 15_000_000, "the mail reached the database file without a durable point asking for it")
        // A durable point asked for while the background checkpoint may be running waits for it instead of failing.
        try await file(groups: 20..<40)
        try await fixture.store.makeDurable()
        #expect(try await fixture.store.messageCount() == 1_000)
    }

    static func pragma(_ store: SQLStore, _ name: String) async throws -> Int? {
        try await store.database.withSQL { sql in
            try await sql.raw("PRAGMA \(unsafeRaw: name)").first().map { try $0.decode(column: name, as: Int.self) }
        }
    }

    @Test("A new SQLite database has 16 KB pages; one made with 4 KB pages keeps them and files mail, and both checkpoint by 64 MB at the latest and keep statement journals in memory")
    func pageSizes() async throws {
        let fresh = try await StoreFixture.make(.sqlite, name: "pages")
        #expect(try await Self.pragma(fresh.store, "page_size") == 16_384)
        #expect(try await Self.pragma(fresh.store, "wal_autocheckpoint") == 4_096)
        // 2 is MEMORY: on file, every group filed created, wrote and closed a temporary file for its journal.
        #expect(try await Self.pragma(fresh.store, "temp_store") == 2)

        // A database from before: its pages stay as they are (a database in WAL mode cannot change them).
        let path = try TestPaths.temporaryDirectory("sqlite-4k").appendingPathComponent("mailroom.sqlite").path
        _ = try ProcessRunner.run(["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute('PRAGMA page_size = 4096')
            db.execute('PRAGMA journal_mode = WAL')
            db.execute('CREATE TABLE before_mailroom (x)')
            db.commit()
            db.close()
            """, path])
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try await Database.open(try DatabaseURL(parsing: path), logger: logger)
        Task { try? await database.run() }
        let store = SQLStore(database: database)
        try await store.migrate()
        #expect(try await Self.pragma(store, "page_size") == 4_096)
        #expect(try await Self.pragma(store, "wal_autocheckpoint") == 16_384)
        #expect(try await Self.pragma(store, "temp_store") == 2)
        let box = try await store.createMailbox(
            try MailboxDraft(email: "s@example.com", name: "S", imapHost: "imap.example.com").validated(),
            incomingSecret: try Vault(key: SymmetricKey(size: .bits256)).seal("pw", for: .password(of: "s@example.com")), at: Date())
        let filed = try await store.ingest(
            [email(simpleMessage(id: "old-pages@example.com", subject: "Still filed"))], mailbox: box.id, folder: "INBOX",
            watermark: .init(uidValidity: 1, lastUID: 1))
        guard case .openedTicket = filed.first else {
            Issue.record("expected a new ticket, got \(filed)")
            return
        }
        #expect(try await store.messageCount() == 1)
    }
}
