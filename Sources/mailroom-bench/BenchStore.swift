import Crypto
import Engine
import Foundation
import Logging
import MailroomCore
import Storage

/// What every Mailroom contender starts from: a fresh store (a SQLite file in a folder of its own, removed after, or
/// a PostgreSQL database) with the bench's one mailbox on the private Dovecot.
enum BenchStore {
    /// A SQLite URL in a new folder under `benchDir`.
    static func sqliteURL(in benchDir: String, _ prefix: String = "store") -> String {
        URL(fileURLWithPath: benchDir).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))/bench.sqlite").path
    }

    static func withMailbox<T: Sendable>(
        url: String, imapPort: Int, folder: String? = nil, logger: Logger,
        _ body: @Sendable (_ store: SQLStore, _ vault: Vault, _ mailbox: Mailbox) async throws -> T
    ) async throws -> T {
        let parsed = try DatabaseURL(parsing: url)
        let folderOnDisk: String? = if case .sqlite(let path) = parsed { (path as NSString).deletingLastPathComponent } else { nil }
        if let folderOnDisk { try FileManager.default.createDirectory(atPath: folderOnDisk, withIntermediateDirectories: true) }
        defer { if let folderOnDisk { try? FileManager.default.removeItem(atPath: folderOnDisk) } }
        let database = try await Database.open(parsed, logger: logger)
        return try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            let vault = Vault(key: SymmetricKey(size: .bits256))
            let mailbox = try await MailboxService(store: store, vault: vault).add(
                MailboxDraft(email: "support@helpdesk.example", name: "Bench", imapHost: "127.0.0.1", imapPort: imapPort,
                             imapSecurity: TransportSecurity.none, username: BenchMailServer.user, folder: folder),
                password: BenchMailServer.password)
            return try await body(store, vault, mailbox)
        }
    }
}
