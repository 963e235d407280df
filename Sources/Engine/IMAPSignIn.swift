import Foundation
import IMAP
import MailroomCore
import SASL

/// A credential in hand: a password an admin typed, or a token just obtained by signing in — tested before it is stored.
public enum GivenCredential: Sendable {
    case password(String)
    case accessToken(String)
}

/// Signs an IMAP connection in with whatever the mailbox stores: a password, or an OAuth grant.
struct IMAPSignIn: Sendable {
    let store: any MailroomStore
    let vault: any SecretVault
    let tokens: TokenKeeper?

    /// What to sign in with, read before connecting so an unreadable credential never costs a connection.
    enum Credential {
        case given(GivenCredential)
        /// A stored grant, renewed as needed.
        case oauth(TokenKeeper)
    }

    func credential(for mailbox: Mailbox, server: IncomingServer) async throws -> Credential {
        switch server.authentication {
        case .password:
            guard let sealed = try await store.incomingSecret(mailbox.id) else {
                throw ConnectionFailure(kind: .credentialUnreadable, serverText: "No password is stored for this mailbox.", step: "credentials")
            }
            do {
                return .given(.password(try vault.open(sealed, for: .password(of: mailbox.email))))
            } catch {
                throw ConnectionFailure(kind: .credentialUnreadable, serverText: "\(error)", step: "credentials")
            }
        case .oauth2:
            guard let tokens else {
                throw ConnectionFailure(
                    kind: .tokenRefused(.configuration),
                    serverText: "This Mailroom has no OAuth apps configured; the operator must set the provider's client ID and secret.",
                    step: "credentials")
            }
            return .oauth(tokens)
        }
    }

    /// Signs in with the stored password or a usable OAuth access token (protocols.md §6 for what a refusal means).
    func signIn(_ client: IMAPClient, as credential: Credential, mailbox: Mailbox, server: IncomingServer) async throws {
        switch credential {
        case .given(let given):
            try await Self.signIn(client, user: server.username, with: given)
        case .oauth(let tokens):
            try await tokens.signIn(
                mailbox.id,
                isRefusal: Self.refusesToken,
                refusedAgain: { error in (error as? IMAPError).map(Self.freshTokenRejected) ?? error },
                attempt: { token in try await Self.authenticate(client, user: server.username, token: token) })
        }
    }

    /// Signs in with a password, or a brand-new token (whose refusal is not the token's fault).
    static func signIn(_ client: IMAPClient, user: String, with credential: GivenCredential) async throws {
        switch credential {
        case .password(let password):
            try await client.login(username: user, password: password)
        case .accessToken(let token):
            do {
                try await authenticate(client, user: user, token: token)
            } catch where refusesToken(error) {
                throw freshTokenRejected(error as? IMAPError ?? IMAPError(.authenticationFailed))
            }
        }
    }

    static func freshTokenRejected(_ error: IMAPError) -> ConnectionFailure {
        ConnectionFailure(
            kind: .freshTokenRejected(code: error.code.map(ServerResponseCode.init)),
            serverText: [error.serverText, error.detail].compactMap { $0 }.joined(separator: " — "), step: "AUTHENTICATE")
    }

    /// Authenticates with the OAuth mechanism the server's capabilities call for (``SASLOAuthChoice``).
    private static func authenticate(_ client: IMAPClient, user: String, token: String) async throws {
        let offered = await client.capabilities.compactMap { capability -> String? in
            capability.uppercased().hasPrefix("AUTH=") ? String(capability.dropFirst(5)) : nil
        }
        try await client.authenticate(mechanism: SASLOAuthChoice.mechanism(offered: offered, user: user, accessToken: token))
    }

    /// The server refused the token itself; `[UNAVAILABLE]` is an outage behind it (Diagnosis says so), not a refusal.
    static func refusesToken(_ error: any Error) -> Bool {
        guard let error = error as? IMAPError, error.kind == .authenticationFailed else { return false }
        return !ConnectionFailure(error).isOutage
    }
}
