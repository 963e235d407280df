import Foundation
import MailroomCore
import MailroomTestSupport
import Storage

/// Two «nodes» on one database: two `SQLStore`s, each with its own connection (pool), as two `mailroom serve`
/// processes would have, and the names they claim by.
struct TwoNodes {
    let fixture: StoreFixture
    let first: SQLStore
    let second: SQLStore
    static let a = NodeID("node-a")
    static let b = NodeID("node-b")

    static func make(_ backend: Backend, name: String) async throws -> TwoNodes {
        let fixture = try await StoreFixture.make(backend, name: name)
        let database = try await Database.open(try DatabaseURL(parsing: fixture.databaseURL), logger: fixture.logger)
        Task { try? await database.run() }
        return TwoNodes(fixture: fixture, first: fixture.store, second: SQLStore(database: database))
    }

    /// `count` fetching mailboxes.
    func mailboxes(_ count: Int) async throws -> [MailboxID] {
        var ids: [MailboxID] = []
        for index in 0..<count {
            let email = "support\(index)@example.com"
            let mailbox = try await first.createMailbox(
                try MailboxDraft(email: email, name: "S\(index)", imapHost: "imap.example.com").validated(),
                incomingSecret: try fixture.vault.seal("pw", for: .password(of: email)), at: Date())
            ids.append(mailbox.id)
        }
        return ids
    }
}
