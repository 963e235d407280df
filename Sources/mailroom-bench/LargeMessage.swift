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
        let (idle, peak, filed) = try await BenchStore.withMailbox(
            url: BenchStore.sqliteURL(in: benchDir, "large"), imapPort: port, folder: "Large", logger: logger
        ) { store, vault, mailbox in
            guard let incoming = mailbox.incoming else { throw ValidationError("the bench mailbox has no IMAP server") }
            let syncer = MailboxSyncer(store: store, vault: vault, settings: SyncSettings(), logger: logger)
            let idle = try ProcessSample.statusKiB("VmRSS")
            try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let report = try await syncer.sync(mailbox, server: incoming)
            return (idle, try ProcessSample.statusKiB("VmHWM"), report.fetched)
        }
        guard filed == 1 else { throw ValidationError("the large message was not filed (\(filed))") }
        print("peak-above-idle-kib \(peak - idle)")
    }
}
