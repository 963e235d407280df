import Crypto
import Foundation
import MIME
import MailroomCore
import MailroomTestSupport
import SQLKit
import Storage
import Testing

@Suite("SQLite's mail archive: raw bytes of fetched mail beside the database", .serialized)
struct RawArchiveTests {
    func email(_ raw: [UInt8]) -> IncomingEmail { incomingEmail(raw) }

    func mailbox(_ fixture: StoreFixture) async throws -> Mailbox { try await fixture.passwordMailbox() }

    /// Files `emails` as the syncer does: raw bytes into the archive and onto the disk, then the commit.
    func fileArchived(_ emails: [IncomingEmail], fixture: StoreFixture, box: Mailbox, lastUID: UInt32) async throws -> [IngestOutcome] {
        var emails = emails
        let locations = try #require(try await fixture.store.archive(emails.map(\.raw)))
        for (index, location) in zip(emails.indices, locations) { emails[index].archived = location }
        return try await fixture.store.ingest(emails, mailbox: box.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: lastUID))
    }

    func sqlitePath(_ fixture: StoreFixture) -> String {
        String(fixture.databaseURL.dropFirst(fixture.databaseURL.hasPrefix("sqlite:") ? 7 : 0))
    }

    func segments(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".mail") }.sorted()
    }

    @Test("Archived mail leaves no raw bytes in the database and comes back byte for byte, a large message included; a refetch is a duplicate")
    func roundTrip() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "archive")
        let box = try await mailbox(fixture)
        let large = simpleMessage(id: "large@example.com", subject: "Scans", body: String(repeating: "0123456789abcdef", count: 163_840))
        let emails = [email(simpleMessage(id: "a@example.com", subject: "First")), email(large), email(simpleMessage(id: "b@example.com", subject: "Last"))]
        let outcomes = try await fileArchived(emails, fixture: fixture, box: box, lastUID: 3)
        #expect(outcomes.count == 3)

        let stored = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT id, length(raw) AS inline, raw_size, raw_segment FROM messages ORDER BY id").all().map {
                (id: try $0.decode(column: "id", as: Int64.self), inline: try $0.decode(column: "inline", as: Int64.self),
                 size: try $0.decode(column: "raw_size", as: Int64.self), segment: try $0.decode(column: "raw_segment", as: String?.self))
            }
        }
        let pieces = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM message_raw_pieces").first()?.decode(column: "n", as: Int64.self) ?? -1
        }
        #expect(stored.map(\.inline) == [0, 0, 0], "no raw bytes in the rows")
        #expect(pieces == 0, "nor in pieces")
        #expect(stored.map(\.size) == emails.map { Int64($0.raw.count) })
        #expect(stored.allSatisfy { $0.segment != nil })
        for (row, original) in zip(stored, emails) {
            #expect(try await fixture.store.rawMessage(row.id) == original.raw)
        }
        let folder = RawArchive.folder(forDatabase: sqlitePath(fixture))
        #expect(segments(folder).count == 1)
        guard case .openedTicket(let largeTicket) = outcomes[1] else {
            Issue.record("the large message opened no ticket: \(outcomes)")
            return
        }
        #expect(try await fileArchived([email(large)], fixture: fixture, box: box, lastUID: 4) == [.duplicate(largeTicket)])
        // Mail filed without the archive (the SMTP receiver, notices) keeps its bytes in the row, as before.
        let received = email(simpleMessage(id: "smtp@example.com", subject: "Over SMTP"))
        guard case .openedTicket(let number) = try await fixture.store.receive(received, mailbox: box.id),
              let message = try await fixture.store.ticket(number)?.messages.first
        else {
            Issue.record("the received email opened no ticket")
            return
        }
        #expect(try await fixture.store.rawMessage(message.id) == received.raw)
    }

    @Test("PostgreSQL keeps fetched mail's bytes in raw_blobs, written apart from the commit: no bytes in the rows, each back byte for byte")
    func postgresBlobs() async throws {
        let fixture = try await StoreFixture.make(.postgres, name: "blobs")
        let box = try await mailbox(fixture)
        let emails = (0..<3).map { email(simpleMessage(id: "p\($0)@example.com", subject: "Mail \($0)")) }
        let locations = try #require(try await fixture.store.archive(emails.map(\.raw)))
        #expect(locations.allSatisfy { $0.segment == "raw_blobs" })
        #expect(Set(locations.map(\.offset)).count == 3, "each message has a blob of its own")
        _ = try await fileArchived(emails, fixture: fixture, box: box, lastUID: 3)
        let stored = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT id, length(raw) AS inline FROM messages ORDER BY id").all().map {
                (id: try $0.decode(column: "id", as: Int64.self), inline: try $0.decode(column: "inline", as: Int64.self))
            }
        }
        #expect(stored.map(\.inline) == [0, 0, 0], "no raw bytes in the rows")
        for (row, original) in zip(stored, emails) {
            #expect(try await fixture.store.rawMessage(row.id) == original.raw)
        }
        // A group with a message over 1 MiB keeps its bytes in rows and pieces, so no single value grows past that.
        let large = email(simpleMessage(id: "large@example.com", subject: "Scans", body: String(repeating: "0123456789abcdef", count: 163_840)))
        #expect(try await fixture.store.archive([emails[0].raw, large.raw]) == nil)
        // A row naming a blob that is not there is a clear error, never other bytes.
        try await fixture.store.database.withSQL { sql in
            try await sql.raw("UPDATE messages SET raw_offset = -5 WHERE id = \(bind: stored[0].id)").run()
        }
        await #expect { _ = try await fixture.store.rawMessage(stored[0].id) } throws: { "\($0)".contains("refers to stored mail that is not there") }
    }

    @Test("Two processes on one database write segments of their own, and a full segment gives way to a new one")
    func segmentsPerProcess() async throws {
        let folder = try TestPaths.temporaryDirectory("archive-segments").appendingPathComponent("db.sqlite-raw").path
        let one = RawArchive(folder: folder, segmentLimit: 100)
        let two = RawArchive(folder: folder, segmentLimit: 100)
        defer { one.close(); two.close() }
        let messages = (0..<6).map { index in [UInt8](repeating: UInt8(index), count: 60) }
        var written: [(RawArchive, RawLocation, [UInt8])] = []
        for (index, bytes) in messages.enumerated() {
            let archive = index.isMultiple(of: 2) ? one : two
            written.append((archive, try archive.append(bytes), bytes))
        }
        // A message larger than a segment is not split: it starts a segment of its own.
        let big = [UInt8](repeating: 0xAB, count: 250)
        written.append((one, try one.append(big), big))
        try one.sync()
        try two.sync()
        for (archive, location, bytes) in written {
            #expect(try archive.read(location) == bytes)
            #expect(try one.read(location) == bytes, "any process reads any segment")
        }
        #expect(Set(written.map(\.1.segment)).count == 7, "60-byte messages never share a 100-byte segment")
        #expect(segments(folder).count == 7)
    }

    @Test("Groups of every size come back byte for byte, each group starting on a block boundary when written past the page cache")
    func groupsOfEverySize() throws {
        let folder = try TestPaths.temporaryDirectory("archive-groups").appendingPathComponent("db.sqlite-raw").path
        try checkGroups(in: folder)
    }

    @Test("Where direct writes are off (a file system that refuses them), groups follow one another through the page cache")
    func throughTheCache() throws {
        let folder = try TestPaths.temporaryDirectory("archive-cached").appendingPathComponent("db.sqlite-raw").path
        #expect(try checkGroups(in: folder, directWrites: false) == false)
    }

    /// Writes groups of odd sizes (empty messages, one byte, a message over the staging buffer, a group of many),
    /// reads every message back, and returns whether the archive wrote directly.
    @discardableResult
    func checkGroups(in folder: String, directWrites: Bool = true) throws -> Bool? {
        let archive = RawArchive(folder: folder, directWrites: directWrites)
        defer { archive.close() }
        var random = SystemRandomNumberGenerator()
        var seed: UInt8 = 0
        // Every message its own bytes, so one read from the wrong place cannot pass.
        func message(_ count: Int) -> [UInt8] {
            seed &+= 1
            return (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
        }
        let groups: [[[UInt8]]] = [
            [message(1)],
            [message(4095), message(1), message(0), message(4097)],
            [message((1 << 20) * 2 + 123), message(17)],
            (0..<300).map { message(Int.random(in: 0..<9000, using: &random) + $0) },
            [message(4096)],
        ]
        var written: [(RawLocation, [UInt8])] = []
        var starts: [Int64] = []
        for group in groups {
            let locations = try archive.append(group: group)
            #expect(locations.count == group.count)
            starts.append(try #require(locations.first).offset)
            written += zip(locations, group).map { ($0, $1) }
        }
        try archive.sync()
        for (location, bytes) in written {
            #expect(try archive.read(location) == bytes, "\(location)")
        }
        let direct = archive.writesDirectly
        if direct == true {
            #expect(starts.allSatisfy { $0 % 4096 == 0 }, "group starts \(starts)")
        } else {
            // Through the cache, groups follow one another with no gap.
            #expect(starts == groups.dropLast().reduce(into: [Int64(0)]) { $0.append($0.last! + Int64($1.reduce(0) { $0 + $1.count })) })
        }
        return direct
    }

    @Test("A damaged or missing archive, or a row naming a file outside it, is a clear error, never wrong bytes")
    func damage() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "damage")
        let box = try await mailbox(fixture)
        let emails = [email(simpleMessage(id: "a@example.com", subject: "One")), email(simpleMessage(id: "b@example.com", subject: "Two"))]
        _ = try await fileArchived(emails, fixture: fixture, box: box, lastUID: 2)
        let ids = try await fixture.store.database.withSQL { sql in
            try await sql.raw("SELECT id FROM messages ORDER BY id").all().map { try $0.decode(column: "id", as: Int64.self) }
        }
        let folder = RawArchive.folder(forDatabase: sqlitePath(fixture))
        let segment = try #require(segments(folder).first)

        // Cut the segment inside the second message.
        #expect(truncate(folder + "/" + segment, off_t(emails[0].raw.count + 10)) == 0)
        #expect(try await fixture.store.rawMessage(ids[0]) == emails[0].raw)
        await #expect { _ = try await fixture.store.rawMessage(ids[1]) } throws: { "\($0)".contains("damaged in the mail archive") }

        try FileManager.default.removeItem(atPath: folder + "/" + segment)
        await #expect { _ = try await fixture.store.rawMessage(ids[0]) } throws: { "\($0)".contains("original of this message is missing") }

        try await fixture.store.database.withSQL { sql in
            try await sql.raw("UPDATE messages SET raw_segment = '../../../../etc/passwd' WHERE id = \(bind: ids[0])").run()
        }
        await #expect { _ = try await fixture.store.rawMessage(ids[0]) } throws: { "\($0)".contains("not a segment of the mail archive") }
    }

    @Test("A closed archive refuses appends with a clear error")
    func closed() throws {
        let folder = try TestPaths.temporaryDirectory("archive-closed").appendingPathComponent("db.sqlite-raw").path
        let archive = RawArchive(folder: folder)
        _ = try archive.append([1, 2, 3])
        archive.close()
        #expect { _ = try archive.append([4]) } throws: { "\($0)".contains("closed") }
    }
}
