import Engine
import Foundation
import MailroomTestSupport
import MIME
import MailroomCore
import Storage
import Testing

@Suite("Inbound sync on real Dovecot", .serialized)
struct SyncTests {
    @Test("1,000 corpus messages become exactly 1,000 ticket messages, replies threaded; a second sync adds nothing; new mail arrives on the next poll",
          arguments: Backend.allCases)
    func corpusBecomesTickets(backend: Backend) async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let corpus = await TestServers.shared.corpus(count: 1000, seed: 42)
        let user = uniqueUser("corpus")
        try dovecot.setUser(user, password: "pw-\(user)")
        try dovecot.deliver(corpus, to: user)
        let fixture = try await StoreFixture.make(backend, name: "corpus")
        let mailbox = try await fixture.addMailbox(user: user, password: "pw-\(user)", dovecot: dovecot)
        let syncer = fixture.syncer(dovecot: dovecot)

        let first = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(first.fetched == 1000)
        #expect(first.duplicates == 0)
        #expect(try await fixture.store.messageCount() == 1000)
        let keys = try await fixture.store.dedupeKeys(mailbox: mailbox.id)
        #expect(Set(keys).count == 1000)

        // Every reply whose parent is in the corpus sits on its parent's ticket when its sender is part of that
        // conversation; a reply from anyone else (the corpus has staff writing from their own addresses) opens a
        // ticket of its own that names the parent's.
        let parsed = corpus.map { MessageParser.parse($0) }
        let ticketOf = try await ticketsByMessageID(fixture.store)
        var checkedReplies = 0
        var referred = 0
        var joinedElsewhere = 0
        for message in parsed {
            guard let id = message.messageID, let parent = message.inReplyTo.first, let parentTicket = ticketOf[parent],
                  let sender = message.from.first?.email.lowercased() else { continue }
            if ticketOf[id] == parentTicket {
                let detail = try #require(try await fixture.store.ticket(parentTicket))
                let people = Set([detail.summary.requester.email.lowercased()] + detail.messages.filter { $0.messageID != id }
                    .flatMap { [$0.from] + $0.to + $0.cc }.map { $0.email.lowercased() })
                #expect(people.contains(sender), "reply \(id) joined a conversation its sender \(sender) was not part of")
                checkedReplies += 1
            } else {
                // Its own ticket, naming one of its thread; or another ticket of its thread that it belongs to.
                let ownNumber = try #require(ticketOf[id])
                let own = try #require(try await fixture.store.ticket(ownNumber))
                if own.messages.first?.messageID == id {
                    #expect(own.summary.referredTicket != nil, "reply \(id) names the ticket of its thread")
                    referred += 1
                } else {
                    let people = Set([own.summary.requester.email.lowercased()] + own.messages.filter { $0.messageID != id }
                        .flatMap { [$0.from] + $0.to + $0.cc }.map { $0.email.lowercased() })
                    #expect(people.contains(sender), "reply \(id) joined a conversation its sender \(sender) was not part of")
                    joinedElsewhere += 1
                }
            }
        }
        #expect(checkedReplies > 100)
        #expect(referred > 50)
        #expect(try await fixture.store.ticketCount() == 1000 - checkedReplies - joinedElsewhere)

        // The malformed ones are tickets too, with what could be read.
        let withDefects = try await defectiveMessageCount(fixture.store)
        #expect(withDefects >= 10)

        let second = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(second.fetched == 0)
        #expect(try await fixture.store.messageCount() == 1000)

        try dovecot.deliver((1...3).map { simpleMessage(id: "late-\($0)-\(user)@example.com", subject: "Late \($0)") }, to: user)
        guard case .success(let third) = await syncer.syncAndRecord(mailbox) else {
            Issue.record("the third sync failed")
            return
        }
        #expect(third.fetched == 3)
        #expect(third.openedTickets == 3)
        #expect(try await fixture.store.messageCount() == 1003)
        let health = try await fixture.store.health(mailbox.id)[.incoming]
        #expect(health?.state == .connected)
        #expect(health?.lastSuccessAt != nil)
    }

    @Test("The folder is deleted and recreated with the same mail (new UIDVALIDITY): no duplicate tickets", arguments: Backend.allCases)
    func uidValidityChange(backend: Backend) async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("uidv")
        try dovecot.setUser(user, password: "secret-\(user)")
        let mail = (1...20).map { simpleMessage(id: "uv-\($0)-\(user)@example.com", subject: "Question \($0)") }
            + [Array("From: a@example.com\nSubject: no message id\n\nbody\n".utf8)]
        try dovecot.deliver(mail, to: user, folder: "Support")
        let fixture = try await StoreFixture.make(backend, name: "uidv")
        let mailbox = try await fixture.addMailbox(user: user, password: "secret-\(user)", dovecot: dovecot, folder: "Support")
        let syncer = fixture.syncer(dovecot: dovecot, batchSize: 7)
        let first = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(first.fetched == 21)
        let before = try await fixture.store.watermark(mailbox.id, folder: "Support")
        // The syncer keeps raw mail apart from the rows: SQLite's archive beside the database, PostgreSQL's raw_blobs.
        func archived() async throws -> Int {
            if backend == .postgres {
                return try await fixture.store.database.withSQL { sql in
                    Int(try await sql.raw("SELECT COALESCE(SUM(length(bytes)), 0)::BIGINT AS n FROM raw_blobs").first()?.decode(column: "n", as: Int64.self) ?? -1)
                }
            }
            guard let folder = fixture.store.database.rawArchive?.folder,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
            return names.reduce(0) { total, name in
                total + (((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name))?[.size] as? NSNumber)?.intValue ?? 0)
            }
        }
        let archivedBefore = try await archived()
        #expect(archivedBefore >= mail.reduce(0) { $0 + $1.count })

        try await Task.sleep(for: .milliseconds(1100))  // UIDVALIDITY is time-based in Dovecot
        try dovecot.recreateFolder(user, folder: "Support")
        try dovecot.deliver(mail + [simpleMessage(id: "uv-new-\(user)@example.com", subject: "Brand new")], to: user, folder: "Support")
        let second = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(second.uidValidityChanged)
        #expect(second.duplicates == 21)
        #expect(second.openedTickets == 1)
        #expect(try await fixture.store.messageCount() == 22)
        #expect(try await archived() == archivedBefore, "a rescan keeps no second copy of mail already filed")
        let after = try await fixture.store.watermark(mailbox.id, folder: "Support")
        #expect(after?.uidValidity != before?.uidValidity)
        let log = try await fixture.store.activity(mailbox.id, limit: 20)
        #expect(log.contains { $0.kind == "uidvalidity" })
    }

    @Test("When the raw bytes cannot be written apart from the rows (SQLite: the archive folder's name is taken by a file; PostgreSQL: raw_blobs refuses writes), every message is filed with its bytes in the database, once", arguments: Backend.allCases)
    func archiveUnwritable(backend: Backend) async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("noarchive")
        try dovecot.setUser(user, password: "secret-\(user)")
        let mail = (1...12).map { simpleMessage(id: "na-\($0)-\(user)@example.com", subject: "Question \($0)") }
        try dovecot.deliver(mail, to: user)
        let fixture = try await StoreFixture.make(backend, name: "noarchive")
        if backend == .postgres {
            // A fault the server reports on every insert into the table, as a full or read-only tablespace would.
            try await fixture.store.database.withSQL { sql in
                try await sql.raw("ALTER TABLE raw_blobs ADD CONSTRAINT refuse_all CHECK (id < 0)").run()
            }
        } else {
            let folder = try #require(fixture.store.database.rawArchive?.folder)
            #expect(FileManager.default.createFile(atPath: folder, contents: Data("not a folder".utf8)))
        }
        let mailbox = try await fixture.addMailbox(user: user, password: "secret-\(user)", dovecot: dovecot)
        let report = try await fixture.syncer(dovecot: dovecot, batchSize: 5).sync(mailbox, server: #require(mailbox.incoming))
        #expect(report.fetched == 12 && report.openedTickets == 12)
        let rows = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT id, length(raw) AS inline, raw_segment FROM messages ORDER BY id").all().map {
                (id: try $0.decode(column: "id", as: Int64.self), inline: try $0.decode(column: "inline", as: Int64.self),
                 segment: try $0.decode(column: "raw_segment", as: String?.self))
            }
        }
        #expect(rows.count == 12)
        #expect(rows.allSatisfy { $0.inline > 0 && $0.segment == nil }, "the bytes are in the rows")
        for row in rows {
            let raw = try #require(try await fixture.store.rawMessage(row.id))
            #expect(String(decoding: raw, as: UTF8.self).contains("Subject: Question"))
        }
    }

    @Test("A wrong password puts the mailbox in «Reauthorization required» with a clear cause; other mailboxes keep working")
    func wrongPassword() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let good = uniqueUser("good")
        let bad = uniqueUser("bad")
        try dovecot.setUser(good, password: "right-\(good)")
        try dovecot.setUser(bad, password: "right-\(bad)")
        try dovecot.deliver([simpleMessage(id: "g1-\(good)@example.com", subject: "Works")], to: good)
        try dovecot.deliver([simpleMessage(id: "b1-\(bad)@example.com", subject: "Never fetched")], to: bad)
        let fixture = try await StoreFixture.make(.sqlite, name: "wrongpw")
        let badBox = try await fixture.addMailbox(user: bad, password: "WRONG-password-123", dovecot: dovecot)
        let goodBox = try await fixture.addMailbox(user: good, password: "right-\(good)", dovecot: dovecot, security: .starttls)
        let inbound = InboundSync(store: fixture.store, vault: fixture.vault, settings: SyncSettings(trustedCertificatesPEMFile: dovecot.caFile), logger: fixture.logger)
        await inbound.pass()

        let badHealth = try #require(try await fixture.store.health(badBox.id)[.incoming])
        #expect(badHealth.state == .reauthorizationRequired)
        #expect(badHealth.state.displayName == "Reauthorization required")
        #expect(badHealth.cause?.contains("rejected the username or password") == true)
        #expect(badHealth.detail?.contains("AUTHENTICATIONFAILED") == true)
        #expect(badHealth.detail?.contains("WRONG-password-123") == false)
        let goodHealth = try #require(try await fixture.store.health(goodBox.id)[.incoming])
        #expect(goodHealth.state == .connected)
        #expect(try await fixture.store.ticketCount() == 1)
    }

    @Test("Certificates are verified: a server whose certificate is not trusted is refused")
    func untrustedCertificateIsRefused() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("tls")
        try dovecot.setUser(user, password: "pw")
        let fixture = try await StoreFixture.make(.sqlite, name: "tls")
        let mailbox = try await fixture.addMailbox(user: user, password: "pw", dovecot: dovecot)
        let strict = MailboxSyncer(store: fixture.store, vault: fixture.vault, settings: SyncSettings(), logger: fixture.logger)
        let result = await strict.syncAndRecord(mailbox)
        guard case .failure(let failure) = result else {
            Issue.record("a self-signed server must not be trusted without the operator's CA file")
            return
        }
        #expect(failure.kind == .tls(.untrustedCertificate))
        let health = try await fixture.store.health(mailbox.id)[.incoming]
        #expect(health?.state == .actionNeededAtProvider)
        #expect(health?.cause?.contains("certificate") == true)
    }

    @Test("Delete after fetching removes only mail that is filed; keep mode leaves the server untouched, not even \\Seen")
    func deleteAfterFetchAndKeepMode() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let keep = uniqueUser("keep")
        let del = uniqueUser("del")
        try dovecot.setUser(keep, password: "pw")
        try dovecot.setUser(del, password: "pw")
        let mail = (1...12).map { simpleMessage(id: "d-\($0)@example.com", subject: "Delete test \($0)") }
        try dovecot.deliver(mail, to: keep)
        try dovecot.deliver(mail, to: del)
        let fixture = try await StoreFixture.make(.sqlite, name: "delete")
        let keepBox = try await fixture.addMailbox(user: keep, password: "pw", dovecot: dovecot)
        let delBox = try await fixture.addMailbox(user: del, password: "pw", dovecot: dovecot, deleteAfterFetch: true)
        let syncer = fixture.syncer(dovecot: dovecot, batchSize: 5)
        let kept = try await syncer.sync(keepBox, server: #require(keepBox.incoming))
        #expect(kept.fetched == 12)
        #expect(try dovecot.messageCount(keep) == 12)
        #expect(try dovecot.flags(keep).allSatisfy { !$0.contains("\\Seen") && !$0.contains("\\Deleted") })

        let deleted = try await syncer.sync(delBox, server: #require(delBox.incoming))
        #expect(deleted.fetched == 12)
        #expect(deleted.deletedFromServer == 12)
        #expect(try dovecot.messageCount(del) == 0)
        #expect(try await fixture.store.dedupeKeys(mailbox: delBox.id).count == 12)
    }

    @Test("A message over the size limit becomes a notice ticket and stays on the server, even with delete after fetching")
    func tooLargeMessage() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("big")
        try dovecot.setUser(user, password: "pw")
        let big = simpleMessage(id: "big@example.com", subject: "Huge scan", body: String(repeating: "0123456789abcdef\n", count: 4000))
        try dovecot.deliver([simpleMessage(id: "small-1@example.com", subject: "Small 1"), big, simpleMessage(id: "small-2@example.com", subject: "Small 2")], to: user)
        let fixture = try await StoreFixture.make(.sqlite, name: "big")
        let mailbox = try await fixture.addMailbox(user: user, password: "pw", dovecot: dovecot, deleteAfterFetch: true)
        let syncer = MailboxSyncer(
            store: fixture.store, vault: fixture.vault,
            settings: SyncSettings(trustedCertificatesPEMFile: dovecot.caFile, maxMessageSize: 20_000), logger: fixture.logger)
        let report = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(report.fetched == 2)
        #expect(report.tooLarge == 1)
        #expect(report.deletedFromServer == 2)
        #expect(try dovecot.messageCount(user) == 1, "the large message stays on the server")
        let tickets = try await fixture.store.tickets(limit: 10, offset: 0)
        #expect(tickets.contains { $0.subject.hasPrefix("(email too large to fetch") })
        // The next pass neither refiles nor deletes it.
        let again = try await syncer.sync(mailbox, server: #require(mailbox.incoming))
        #expect(again.fetched == 0 && again.tooLarge == 0 && again.deletedFromServer == 0)
        #expect(try dovecot.messageCount(user) == 1)
        #expect(try await fixture.store.ticketCount() == 3)
    }
}

func ticketsByMessageID(_ store: SQLStore) async throws -> [String: TicketNumber] {
    var result: [String: TicketNumber] = [:]
    var offset = 0
    while true {
        let page = try await store.tickets(limit: 500, offset: offset)
        if page.isEmpty { break }
        for summary in page {
            guard let detail = try await store.ticket(summary.number) else { continue }
            for message in detail.messages {
                if let id = message.messageID { result[id] = summary.number }
            }
        }
        offset += page.count
    }
    return result
}

func defectiveMessageCount(_ store: SQLStore) async throws -> Int {
    var count = 0
    var offset = 0
    while true {
        let page = try await store.tickets(limit: 500, offset: offset)
        if page.isEmpty { break }
        for summary in page {
            count += try await store.ticket(summary.number)?.messages.filter { !$0.defects.isEmpty }.count ?? 0
        }
        offset += page.count
    }
    return count
}
