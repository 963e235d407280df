import Crypto
import Foundation
import Logging
import MailroomCore
import Storage
import Testing

/// Which database a test runs on; Store behaviour must be identical on both.
public enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    public var testDescription: String { rawValue }
}

/// A Store on a fresh database of the given kind (SQLite in a temporary folder, or a new database on the shared
/// ``TestPostgres``), with a Vault under a random key.
public struct StoreFixture: Sendable {
    public let store: SQLStore
    public let vault: Vault
    public let databaseURL: String
    public let logger: Logger

    public static func make(_ backend: Backend, name: String = "t") async throws -> StoreFixture {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let url: String
        switch backend {
        case .sqlite:
            url = try TestPaths.temporaryDirectory("sqlite-\(name)").appendingPathComponent("mailroom.sqlite").path
        case .postgres:
            let database = "t_\(name.lowercased().filter { $0.isLetter || $0.isNumber })_\(UInt32.random(in: 0...UInt32.max))"
            url = try await TestPostgres.shared.createDatabase(database)
        }
        let database = try await Database.open(try DatabaseURL(parsing: url), logger: logger)
        Task { try? await database.run() }
        let store = SQLStore(database: database)
        try await store.migrate()
        return StoreFixture(store: store, vault: Vault(key: SymmetricKey(size: .bits256)), databaseURL: url, logger: logger)
    }
}

extension StoreFixture {
    /// A password mailbox on an IMAP server that is never reached: enough to file mail into.
    public func passwordMailbox(email: String = "s@example.com", name: String = "S") async throws -> Mailbox {
        try await store.createMailbox(
            try MailboxDraft(email: email, name: name, imapHost: "imap.example.com").validated(),
            incomingSecret: try vault.seal("pw", for: .password(of: email)), at: Date())
    }
}
