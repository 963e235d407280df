import Engine
import MailroomCore
import MailroomTestSupport

/// A store fixture's mailboxes on the test Dovecot.
extension StoreFixture {
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
