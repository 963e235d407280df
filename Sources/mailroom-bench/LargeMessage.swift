import ArgumentParser
import Crypto
import Engine
import Foundation
import Logging
import MailCorpus
import MailroomCore
import Storage

/// Peak memory while `serve`'s sync path files one large message, measured in a process of its own (so no earlier
/// contender's freed memory hides it): the resident high-water mark is reset (`/proc/self/clear_refs`) once the
/// store is open, and read after the message is filed.
struct LargeMessage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "large-message", abstract: "Peak memory above idle while one large message is fetched, parsed and filed (used by `ingest`).",
        shouldDisplay: false)

    @Option(help: "IMAP port of a server holding the message in the folder «Large».") var port: Int
    @Option(help: "Folder for the SQLite store.") var benchDir: String

    /// A customer email of about `megabytes` MB: a short text and one base64 attachment of random bytes.
    static func message(megabytes: Int) -> [UInt8] {
        var random = SeededRandom(seed: 25)
        var payload = [UInt8]()
        payload.reserveCapacity(megabytes * 1_000_000 * 3 / 4)
        while payload.count < megabytes * 1_000_000 * 3 / 4 {
            withUnsafeBytes(of: random.next()) { payload.append(contentsOf: $0) }
        }
        let encoded = Data(payload).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return Array("""
            From: Customer <customer@example.com>\r
            To: support@helpdesk.example\r
            Subject: The scans you asked for\r
            Message-ID: <large.1@customers.example.com>\r
            Date: Fri, 01 Mar 2024 08:00:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Here are the scans.\r
            --b1\r
            Content-Type: application/pdf; name="scans.pdf"\r
            Content-Disposition: attachment; filename="scans.pdf"\r
            Content-Transfer-Encoding: base64\r
            \r
            \(encoded)\r
            --b1--\r

            """.utf8)
    }

    func run() async throws {
        let logger = { () -> Logger in
            var logger = Logger(label: "bench")
            logger.logLevel = .warning
            return logger
        }()
        let dir = URL(fileURLWithPath: benchDir).appendingPathComponent("large-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await Database.open(.sqlite(path: dir.appendingPathComponent("bench.sqlite").path), logger: logger)
        let (idle, peak, filed) = try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            let vault = Vault(key: SymmetricKey(size: .bits256))
            let mailbox = try await MailboxService(store: store, vault: vault).add(
                MailboxDraft(email: "support@helpdesk.example", name: "Bench", imapHost: "127.0.0.1", imapPort: port, imapSecurity: TransportSecurity.none,
                             username: BenchMailServer.user, folder: "Large"), password: BenchMailServer.password)
            guard let incoming = mailbox.incoming else { throw ValidationError("the bench mailbox has no IMAP server") }
            let syncer = MailboxSyncer(store: store, vault: vault, settings: SyncSettings(), logger: logger)
            let idle = try Self.status("VmRSS")
            try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let report = try await syncer.sync(mailbox, server: incoming)
            return (idle, try Self.status("VmHWM"), report.fetched)
        }
        guard filed == 1 else { throw ValidationError("the large message was not filed (\(filed))") }
        print("peak-above-idle-kib \(peak - idle)")
    }

    /// A `kB` field of /proc/self/status.
    static func status(_ field: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
        else { throw BenchFailure("cannot read \(field) of this process") }
        return kib
    }
}
