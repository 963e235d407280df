import Crypto
import Foundation
import Logging
import MailroomTestSupport
import MIME
import MailroomCore
import Storage
import Testing

@Suite("The Store on SQLite and PostgreSQL", .serialized)
struct StoreTests {
    /// As the syncer builds them: only mail without a Message-ID comes with its content hash.
    func email(_ raw: [UInt8]) -> IncomingEmail {
        let parsed = MessageParser.parse(raw)
        return IncomingEmail(parsed: parsed, raw: raw, receivedAt: Date(), contentHash: IncomingEmail.isKeyedByContent(parsed) ? ContentHash.of(raw) : "")
    }

    @Test("Filing is idempotent, threads by Message-ID and by [#N], and keeps the raw bytes", arguments: Backend.allCases)
    func ingest(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "ingest")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "s@example.com", name: "S", imapHost: "imap.example.com").validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: "s@example.com")), at: Date())
        let first = simpleMessage(id: "one@example.com", subject: "Printer broken")
        let outcome = try await fixture.store.ingest(email(first), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 9, lastUID: 1))
        guard case .openedTicket(let number) = outcome else {
            Issue.record("expected a new ticket, got \(outcome)")
            return
        }
        #expect(try await fixture.store.ingest(email(first), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 9, lastUID: 1)) == .duplicate(number))
        let reply = simpleMessage(id: "two@example.com", subject: "Re: Printer broken", inReplyTo: "one@example.com")
        #expect(try await fixture.store.ingest(email(reply), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 9, lastUID: 2)) == .joinedTicket(number))
        let byToken = simpleMessage(id: "three@example.com", subject: "Re: [#\(number)] Printer broken")
        #expect(try await fixture.store.ingest(email(byToken), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 9, lastUID: 3)) == .joinedTicket(number))
        let unknownToken = simpleMessage(id: "four@example.com", subject: "[#999999] not ours")
        if case .joinedTicket = try await fixture.store.ingest(email(unknownToken), mailbox: mailbox.id, folder: "INBOX", watermark: .init(uidValidity: 9, lastUID: 4)) {
            Issue.record("a token of a ticket that does not exist must open a new ticket")
        }
        #expect(try await fixture.store.watermark(mailbox.id, folder: "INBOX") == SyncWatermark(uidValidity: 9, lastUID: 4))
        let detail = try #require(try await fixture.store.ticket(number))
        #expect(detail.messages.count == 3)
        #expect(detail.summary.messageCount == 3)
        #expect(try await fixture.store.rawMessage(detail.messages[0].id) == first)

        // Removing the mailbox removes its credentials, keeps its tickets.
        #expect(try await fixture.store.removeMailbox(mailbox.id))
        #expect(try await fixture.store.incomingSecret(mailbox.id) == nil)
        #expect(try await fixture.store.ticket(number) != nil)
        #expect(try await fixture.store.mailboxes().isEmpty)
    }

    @Test("A different email reusing a Message-ID is filed too; a true refetch of either is recognised", arguments: Backend.allCases)
    func reusedMessageID(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "reuse")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "r@example.com", name: "R", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        let first = simpleMessage(id: "same@example.com", subject: "Out of office", body: "first")
        let second = simpleMessage(id: "same@example.com", subject: "Out of office", body: "second, different")
        let mark = SyncWatermark(uidValidity: 3, lastUID: 1)
        guard case .openedTicket = try await fixture.store.ingest(email(first), mailbox: mailbox.id, folder: "INBOX", watermark: mark) else {
            Issue.record("the first email must open a ticket")
            return
        }
        if case .duplicate = try await fixture.store.ingest(email(second), mailbox: mailbox.id, folder: "INBOX", watermark: mark) {
            Issue.record("a different email with the same Message-ID must not be dropped as a duplicate")
        }
        for raw in [first, second] {
            guard case .duplicate = try await fixture.store.ingest(email(raw), mailbox: mailbox.id, folder: "INBOX", watermark: mark) else {
                Issue.record("a refetch must be recognised")
                return
            }
        }
        #expect(try await fixture.store.messageCount() == 2)
    }

    @Test("Content is hashed only where a key is taken, and then tells a reused Message-ID from a refetch: within a group, against archived mail, and against mail filed with no hash", arguments: Backend.allCases)
    func contentHashedWhenContested(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "contested")
        let store = fixture.store
        let mailbox = try await store.createMailbox(
            try MailboxDraft(email: "c@example.com", name: "C", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        let first = simpleMessage(id: "same@example.com", subject: "Out of office", body: "first")
        let second = simpleMessage(id: "same@example.com", subject: "Out of office", body: "second, different")
        let other = simpleMessage(id: "other@example.com", subject: "Printer")
        var uid: UInt32 = 0
        /// Files a group as the syncer does: raw bytes to the archive (SQLite) or raw_blobs (PostgreSQL) first.
        func file(_ raws: [[UInt8]]) async throws -> [IngestOutcome] {
            var emails = raws.map(email)
            if let locations = try await store.archive(raws) {
                for index in emails.indices { emails[index].archived = locations[index] }
            }
            uid += UInt32(raws.count)
            return try await store.ingest(emails, mailbox: mailbox.id, folder: "INBOX", watermark: SyncWatermark(uidValidity: 1, lastUID: uid))
        }
        func hashes() async throws -> [String: String?] {
            try await store.database.withSQL { sql in
                var hashes: [String: String?] = [:]
                for row in try await sql.raw("SELECT dedupe_key, content_hash FROM messages").all() {
                    hashes[try row.decode(column: "dedupe_key", as: String.self)] = try row.decode(column: "content_hash", as: String?.self)
                }
                return hashes
            }
        }
        func isDuplicate(_ outcome: IngestOutcome?) -> Bool { if case .duplicate = outcome { true } else { false } }

        let opened = try await file([first, other])
        #expect(opened.allSatisfy { !isDuplicate($0) })
        let unhashed: [String: String?] = ["mid:same@example.com": nil, "mid:other@example.com": nil]
        #expect(try await hashes() == unhashed, "no key was taken: nothing hashed")

        // A refetch of the first, the second reusing its Message-ID, and the second again in the same group.
        let mixed = try await file([first, second, second])
        #expect(isDuplicate(mixed[0]), "a refetch of mail filed with no hash is recognised from its stored bytes")
        #expect(!isDuplicate(mixed[1]), "a different email with the same Message-ID is filed")
        #expect(isDuplicate(mixed[2]), "the same email twice in one group is filed once")
        let rehashed = "mid:same@example.com#sha256:" + ContentHash.of(second)
        #expect(try await hashes()[rehashed] == .some(ContentHash.of(second)))

        // Later groups still recognise all three.
        let again = try await file([second, first, other])
        #expect(again.allSatisfy(isDuplicate))
        #expect(try await store.messageCount() == 3)
    }

    @Test("A stored copy that cannot be read is logged as an error; the email with its key is taken for a refetch, and other mail is filed")
    func unreadableStoredCopy() async throws {
        let capture = LogCapture()
        let path = try TestPaths.temporaryDirectory("unreadable").appendingPathComponent("mailroom.sqlite").path
        let database = try await Database.open(try DatabaseURL(parsing: path), logger: capture.logger())
        Task { try? await database.run() }
        let store = SQLStore(database: database)
        try await store.migrate()
        let mailbox = try await store.createMailbox(
            try MailboxDraft(email: "u@example.com", name: "U", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        let first = simpleMessage(id: "same@example.com", subject: "Out of office", body: "first")
        var filed = email(first)
        filed.archived = try #require(try await store.archive([first])?.first)
        _ = try await store.ingest(filed, mailbox: mailbox.id, folder: "INBOX", watermark: SyncWatermark(uidValidity: 1, lastUID: 1))
        // The mail archive loses its files.
        let folder = try #require(database.rawArchive?.folder)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) { try FileManager.default.removeItem(atPath: folder + "/" + name) }

        let second = simpleMessage(id: "same@example.com", subject: "Out of office", body: "second, different")
        let outcomes = try await store.ingest(
            [email(second), email(simpleMessage(id: "new@example.com", subject: "New"))], mailbox: mailbox.id, folder: "INBOX",
            watermark: SyncWatermark(uidValidity: 1, lastUID: 3))
        if case .duplicate = outcomes.first {} else { Issue.record("with its content unknown, the email is taken for a refetch, as before hashes were kept") }
        if case .duplicate = outcomes.last { Issue.record("other mail is filed") }
        #expect(capture.lines.contains { $0.hasPrefix("error") && $0.contains("stored copy of a message cannot be read") && $0.contains("cannot be opened") })
    }

    @Test("To, Cc, attachments and defects come back from the database exactly, whatever they hold", arguments: Backend.allCases)
    func recipientsRoundTrip(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "recipients")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "p@example.com", name: "P", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        var incoming = email(simpleMessage(id: "people@example.com", subject: "People"))
        incoming.to = [
            Person(name: #"Quote " and \ backslash"#, email: "q@example.com"), Person(name: nil, email: "bare@example.com"),
            Person(name: "Slash / and {braces}, [brackets]: \u{1F600} Zoë 北京 \u{10348}", email: "uni@example.com"),
        ]
        incoming.cc = [Person(name: "", email: #"odd"\@example.com"#), Person(name: "Tab\there", email: "t@example.com")]
        incoming.attachments = [
            AttachmentInfo(index: 0, filename: #"re"port\ 北京 \u{1F600}.pdf"#, contentType: "application/pdf", size: 123_456, isInline: false, contentID: nil),
            AttachmentInfo(index: 1, filename: "", contentType: #"image/png; name="a/b""#, size: 0, isInline: true, contentID: #"<logo"\@x>"#),
        ]
        incoming.defects = [#"A "quoted" \ defect"#, "Line\u{1}feed", "/ и \u{10348}"]
        guard case .openedTicket(let number) = try await fixture.store.ingest(
            incoming, mailbox: mailbox.id, folder: "INBOX", watermark: SyncWatermark(uidValidity: 1, lastUID: 1)) else {
            Issue.record("the email must open a ticket")
            return
        }
        let shown = try #require(try await fixture.store.ticket(number)?.messages.first)
        #expect(shown.to == incoming.storable.to)
        #expect(shown.cc == incoming.storable.cc)
        #expect(shown.cc.last?.name == "Tab here", "control characters never reach a column")
        #expect(shown.attachments == incoming.storable.attachments)
        #expect(shown.defects == incoming.storable.defects)
        #expect(shown.defects == [#"A "quoted" \ defect"#, "Linefeed", "/ и \u{10348}"])
    }

    @Test("Health and the activity log survive in the database", arguments: Backend.allCases)
    func health(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "health")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "h@example.com", name: "H", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        let verdict = Diagnosis.incoming(.init(kind: .authenticationRejected(code: .authenticationFailed), serverText: "Authentication failed.", step: "LOGIN"),
                                         server: try #require(mailbox.incoming))
        let health = ConnectionHealth().failed(verdict, at: Date(timeIntervalSince1970: 1_700_000_000))
        try await fixture.store.setHealth(mailbox.id, .incoming, health)
        #expect(try await fixture.store.health(mailbox.id)[.incoming] == health)
        try await fixture.store.log(mailbox.id, .init(at: Date(timeIntervalSince1970: 1_700_000_001), kind: "x", text: "hello"))
        #expect(try await fixture.store.activity(mailbox.id, limit: 10).contains { $0.text == "hello" })
        await #expect(throws: StoreError.self) {
            _ = try await fixture.store.createMailbox(
                try MailboxDraft(email: "H@example.com", name: "dup", imapHost: "imap.example.com").validated(), incomingSecret: nil, at: Date())
        }
    }

    @Test("A health judged from a read is saved only over what was read", arguments: Backend.allCases)
    func healthCompareAndSet(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "health-cas")
        let store = fixture.store
        let mailbox = try await fixture.passwordMailbox(email: "cas@example.com")
        let nothing = ConnectionHealth()
        let marked = ConnectionHealth(state: .migrationRequired, cause: "migrate", since: Date(timeIntervalSince1970: 1_700_000_000))
        // No row yet: the first write over «nothing» wins, a second one over «nothing» does not.
        #expect(try await store.replaceHealth(mailbox.id, .incoming, marked, ifStill: nothing))
        #expect(try await store.replaceHealth(mailbox.id, .incoming, ConnectionHealth(state: .paused), ifStill: nothing) == false)
        let read = try #require(try await store.health(mailbox.id)[.incoming])
        #expect(read.state == .migrationRequired)
        // Someone records an attempt (a sign-in replaced and tested): a write judged from the earlier read is refused.
        let fixed = ConnectionHealth().succeeded(at: Date(timeIntervalSince1970: 1_700_000_100))
        try await store.setHealth(mailbox.id, .incoming, fixed)
        #expect(try await store.replaceHealth(mailbox.id, .incoming, marked, ifStill: read) == false)
        #expect(try await store.health(mailbox.id)[.incoming]?.state == .connected)
        // Over what is there now, it is saved.
        let now = try #require(try await store.health(mailbox.id)[.incoming])
        #expect(try await store.replaceHealth(mailbox.id, .incoming, marked, ifStill: now))
        #expect(try await store.health(mailbox.id)[.incoming]?.state == .migrationRequired)
    }

    @Test("The Vault seals with AES-GCM: no plaintext in the sealed bytes, and a wrong key is an error, not garbage")
    func vault() throws {
        let vault = Vault(key: SymmetricKey(size: .bits256))
        let sealed = try vault.seal("hunter2-secret", for: .password(of: "a@example.com"))
        #expect(!String(decoding: sealed.bytes, as: UTF8.self).contains("hunter2"))
        #expect(try vault.open(sealed, for: .password(of: "A@example.com")) == "hunter2-secret")
        #expect(throws: VaultError.self) { try Vault(key: SymmetricKey(size: .bits256)).open(sealed, for: .password(of: "a@example.com")) }
        #expect(throws: VaultError.self) { try vault.open(SealedSecret(bytes: [1, 2, 3]), for: .password(of: "a@example.com")) }
        // Bound to its row: another mailbox's password, or a token's place, does not open it.
        #expect(throws: VaultError.self) { try vault.open(sealed, for: .password(of: "b@example.com")) }
        #expect(throws: VaultError.self) { try vault.open(sealed, for: .accessToken(of: "a@example.com")) }
    }

    @Test("The key file is created once with mode 0600 and reused")
    func keyFile() throws {
        let dir = try TestPaths.temporaryDirectory("key")
        let path = dir.appendingPathComponent("mailroom.key").path
        let logger = Logger(label: "test")
        let first = try Vault.load(environment: [:], keyFile: path, logger: logger)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try Vault.load(environment: [:], keyFile: path, logger: logger)
        #expect(try second.open(first.seal("x", for: .keyCheck), for: .keyCheck) == "x")
        #expect(throws: VaultError.self) { try Vault.load(environment: ["MAILROOM_SECRET_KEY": "dG9vIHNob3J0"], keyFile: path, logger: logger) }
    }

    @Test("Database URLs: clear errors, and the password never shows in descriptions")
    func databaseURLs() throws {
        let url = try DatabaseURL(parsing: "postgres://mr:s3cret@db.example.com:5433/mailroom")
        #expect(url == .postgres(host: "db.example.com", port: 5433, username: "mr", password: "s3cret", database: "mailroom"))
        #expect(try DatabaseURL(parsing: "postgres://mr@db/m?sslmode=verify-full")
            == .postgres(host: "db", port: 5432, username: "mr", password: nil, database: "m", tls: .verifyFull))
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(parsing: "postgres://mr@db/m?sslmode=sometimes") }
        #expect(!url.description.contains("s3cret"))
        #expect(try DatabaseURL(parsing: "data/mailroom.sqlite") == .sqlite(path: "data/mailroom.sqlite"))
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(parsing: "postgres://mr:s3cret@host/") }
        let unsupported = #expect(throws: DatabaseURLError.self) { try DatabaseURL(parsing: "mysql://mr:s3cret@host/db") }
        #expect(unsupported?.message.contains("s3cret") == false)
        #expect(unsupported?.message.contains("Unsupported database") == true)
    }
}
