import Foundation
import MailroomCore
import OAuth

/// Adding and removing mailboxes, the same way from the CLI, the API and (later) the admin pages.
public struct MailboxService: Sendable {
    public let store: any MailroomStore
    public let vault: any SecretVault
    /// Where Microsoft and Gmail mailboxes connect when the draft names no server: the operator's choice
    /// (`MAILROOM_…_SERVER`), so a mailbox is stored with the servers it was tested against.
    public var servers: ProviderServers

    public init(store: any MailroomStore, vault: any SecretVault, servers: ProviderServers = .standard) {
        self.store = store
        self.vault = vault
        self.servers = servers
    }

    /// Validates, seals the password and stores the mailbox. The password is never stored in clear.
    /// - Throws: `ValidationError` for bad input, `StoreError.conflict` when the address is taken.
    public func add(_ draft: MailboxDraft, password: String?) async throws -> Mailbox {
        let valid = try draft.validated(servers: servers)
        var sealed: SealedSecret?
        if valid.incoming != nil || valid.outgoing != nil {
            let password = password ?? ""
            if let problem = MailboxPassword.problem(password, account: valid.incoming?.username ?? valid.outgoing?.username ?? valid.email) {
                throw ValidationError(problems: [problem])
            }
            sealed = try vault.seal(password, for: .password(of: valid.email))
        }
        return try await store.createMailbox(valid, incomingSecret: sealed, at: Date())
    }

    /// Stores a mailbox that signs in with the OAuth grant just obtained; the tokens are sealed by the Vault.
    ///
    /// The support address may differ from the signed-in account: that is a shared mailbox, opened with the
    /// delegate's token (protocols.md §1.8).
    public func add(_ draft: MailboxDraft, grant: TokenGrant) async throws -> Mailbox {
        var draft = draft
        draft.authentication = .oauth2
        let valid = try draft.validated(servers: servers)
        return try await store.createMailbox(valid, grant: try GrantSealing.seal(grant, vault: vault, mailbox: valid.email), at: Date())
    }
}
