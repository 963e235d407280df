import Crypto
import Engine
import Foundation
import Logging
import MIME
import MailroomCore
import Storage

/// Which database a test runs on; Store behaviour must be identical on both.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

import Testing

/// A Store on a fresh database of the given kind, with a Vault under a random key.
struct StoreFixture: Sendable {
    let store: SQLStore
    let vault: Vault
    let databaseURL: String
    let logger: Logger

    static func make(_ backend: Backend, name: String = "t") async throws -> StoreFixture {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let url: String
        switch backend {
        case .sqlite:
            url = try TestPaths.temporaryDirectory("sqlite-\(name)").appendingPathComponent("mailroom.sqlite").path
        case .postgres:
            let database = "t_\(name.lowercased().filter { $0.isLetter || $0.isNumber })_\(UInt32.random(in: 0...UInt32.max))"
            url = try await TestServers.shared.postgres().createDatabase(database)
        }
        let database = try await Database.open(try DatabaseURL(parsing: url), logger: logger)
        Task { try? await database.run() }
        let store = SQLStore(database: database)
        try await store.migrate()
        return StoreFixture(store: store, vault: Vault(key: SymmetricKey(size: .bits256)), databaseURL: url, logger: logger)
    }

    /// Adds a mailbox on the test Dovecot, as an operator would.
    func addMailbox(
        user: String, password: String, dovecot: Dovecot, security: TransportSecurity = .tls, folder: String? = nil,
        deleteAfterFetch: Bool = false
    ) async throws -> Mailbox {
        let port = security == .tls ? dovecot.imapsPort : dovecot.imapPort
        let draft = MailboxDraft(
            email: "\(user)@helpdesk.example", name: "Support \(user)", provider: .other, usage: .incoming, imapHost: "localhost",
            imapPort: port, imapSecurity: security, username: user, folder: folder, deleteAfterFetch: deleteAfterFetch)
        return try await MailboxService(store: store, vault: vault).add(draft, password: password)
    }

    func syncer(dovecot: Dovecot, batchSize: Int = 100) -> MailboxSyncer {
        MailboxSyncer(store: store, vault: vault, settings: SyncSettings(fetchBatchSize: batchSize, trustedCertificatesPEMFile: dovecot.caFile), logger: logger)
    }
}

/// A unique mailbox user name per test.
func uniqueUser(_ prefix: String) -> String { "\(prefix)\(UInt32.random(in: 0...UInt32.max))" }

/// A small well-formed message.
func simpleMessage(id: String, subject: String, from: String = "Customer <customer@example.com>", inReplyTo: String? = nil, body: String = "Hello") -> [UInt8] {
    var lines = [
        "From: \(from)", "To: support@helpdesk.example", "Subject: \(subject)", "Date: Sun, 29 Nov 2026 10:00:00 +0000",
        "Message-ID: <\(id)>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
    ]
    if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
    return Array((lines.joined(separator: "\n") + "\n\n" + body + "\n").utf8)
}
