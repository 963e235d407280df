import Foundation
import Logging
import MailroomCore
import OAuth

/// Keeps each mailbox's OAuth access token usable: renews it ahead of expiry, one renewal per grant at a time,
/// and saves a rotated refresh token before anyone uses the new access token. One at a time across nodes too:
/// a renewal first claims the grant in the shared database (``GrantRenewalClaims``); a node that loses the claim
/// never asks the provider, it waits for the winner's grant — with a provider that retires a rotated refresh token,
/// a second request with the old one would get `invalid_grant` and a false «Reauthorization required».
///
/// The one unavoidable window is a crash
/// between the provider's answer and that save (milliseconds): with a provider that invalidates the old refresh
/// token at once, it costs the admin a sign-in — never mail.
public actor TokenKeeper {
    /// An access token ready for XOAUTH2/OAUTHBEARER.
    public struct Access: Sendable {
        public var token: String
        /// The account the token belongs to (the delegate, for a shared mailbox).
        public var account: String
    }

    private let store: any MailroomStore
    private let vault: any SecretVault
    private let providers: OAuthProviders
    private let logger: Logger
    private var inFlight: [MailboxID: Task<TokenGrant, any Error>] = [:]
    /// Until when each grant's provider asked not to be asked again (`Retry-After` on a 429 or 503). Kept across
    /// attempts and passes: a renewal before then fails at once, without a request.
    private var quietUntil: [MailboxID: Date] = [:]
    private let now: @Sendable () -> Date
    /// This keeper's name in renewal claims (one keeper per process).
    private let node = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
    /// How long a claim holds if its node stops before releasing it; longer than one token request's deadline.
    static let claimLifetime: Duration = .seconds(30)
    /// How often a node waiting for another's renewal looks at the grant.
    static let claimPoll: Duration = .milliseconds(100)

    /// - Parameter now: the clock that access-token expiry and `Retry-After` are measured on (injected by tests, which
    ///   move it with the identity emulator's, so token lifetimes pass without waiting).
    public init(store: any MailroomStore, vault: any SecretVault, providers: OAuthProviders, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.vault = vault
        self.providers = providers
        self.logger = logger
        self.now = now
    }

    /// A usable access token for the mailbox. Throws ``ConnectionFailure`` (`tokenRefused`, `credentialUnreadable`).
    ///
    /// - Parameter rejected: a token the mail server just refused; the answer is then a different (renewed) one.
    public func accessToken(for id: MailboxID, replacing rejected: String? = nil) async throws -> Access {
        while true {
            // Join whatever is already loading or renewing this grant: concurrent callers must not each spend the
            // same refresh token, since the provider accepts a rotated one only once.
            if let running = inFlight[id] {
                let grant = try await Self.value(of: running)
                if rejected == nil || grant.accessToken != rejected { return Access(grant) }
                continue
            }
            let task = Task { try await self.obtain(id, replacing: rejected) }
            inFlight[id] = task
            defer { inFlight[id] = nil }
            return Access(try await Self.value(of: task))
        }
    }

    /// The stored grant if its access token is good to use, else a renewed one.
    private func obtain(_ id: MailboxID, replacing rejected: String?) async throws -> TokenGrant {
        let (grant, version, email) = try await load(id)
        let mustRenew = rejected.map { $0 == grant.accessToken } ?? grant.needsRefresh(now: now())
        // Not renewing: still valid, or renewed by someone else since the token was refused.
        guard mustRenew else { return grant }
        return try await renew(id, grant: grant, version: version, mailbox: email)
    }

    private static func value(of task: Task<TokenGrant, any Error>) async throws -> TokenGrant {
        do {
            return try await task.value
        } catch let failure as OAuthFailure {
            throw ConnectionFailure(failure)
        }
    }

    /// One request to the token endpoint. A transient failure is not retried here: the admin sees «Temporarily
    /// failing» after the first attempt that fails, and the schedule tries again with backoff (and never before the
    /// provider's `Retry-After`), so a dead provider costs each attempt one request timeout, not several.
    private func renew(_ id: MailboxID, grant: TokenGrant, version: Int64, mailbox email: String) async throws -> TokenGrant {
        let client = try await providers.client(key: grant.providerKey)
        if let until = quietUntil[id] {
            let left = until.timeIntervalSince(now())
            if left > 0 {
                let seconds = Int(left.rounded(.up))
                throw OAuthFailure(kind: .transient, retryAfter: .seconds(seconds),
                                   detail: "The identity provider asked Mailroom to wait before renewing again (Retry-After); \(seconds) s left, so no request was sent.")
            }
            quietUntil[id] = nil
        }
        if try await !claimRenewal(id, version: version) {
            // Another node is renewing: its grant, once saved, is ours too.
            if let theirs = try await waitForRenewal(id, version: version) { return theirs }
        }
        do {
            return try await renewClaimed(id, grant: grant, version: version, mailbox: email, client: client)
        } catch {
            try? await store.releaseGrantRenewal(id, by: node)
            throw error
        }
    }

    /// Judged by the database's clock, not `now` (this node's, or a test's moved one): claims are compared across nodes.
    private func claimRenewal(_ id: MailboxID, version: Int64) async throws -> Bool {
        try await store.claimGrantRenewal(id, expectedVersion: version, by: node, lasting: Self.claimLifetime)
    }

    /// Waits for the node holding the claim to save its grant, bounded by the claim's lifetime. Nil once this node
    /// holds the claim itself (the other gave up, or stopped and its claim expired): then it renews.
    private func waitForRenewal(_ id: MailboxID, version: Int64) async throws -> TokenGrant? {
        // Real time, not `now`: the wait is real, and the claim runs out by the database's clock.
        let deadline = ContinuousClock.now + Self.claimLifetime + .seconds(5)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: Self.claimPoll)
            guard let stored = try await store.grant(id) else { break }
            if stored.version != version {
                logger.info("Using the grant another node renewed", metadata: ["mailbox": "\(id)"])
                return try await load(id).grant
            }
            if try await claimRenewal(id, version: version) { return nil }
        }
        throw OAuthFailure(kind: .transient, detail: "Another Mailroom node is renewing this mailbox's access token and has not finished; it will be tried again.")
    }

    /// The request itself, by the node holding the claim; saving the grant ends the claim.
    private func renewClaimed(_ id: MailboxID, grant: TokenGrant, version: Int64, mailbox email: String, client: OAuthClient) async throws -> TokenGrant {
        let renewed: TokenGrant
        do {
            renewed = try await client.refresh(grant, now: now())
            EngineMetrics.tokenRenewal(provider: grant.providerKey.rawValue, outcome: "renewed")
        } catch let failure as OAuthFailure where failure.kind == .transient {
            EngineMetrics.tokenRenewal(provider: grant.providerKey.rawValue, outcome: failure.kind.rawValue)
            if let wait = failure.retryAfter {
                quietUntil[id] = now().addingTimeInterval(Double(wait.components.seconds))
            }
            logger.notice("Token refresh failed for now", metadata: ["mailbox": "\(id)", "error": "\(failure)"])
            throw failure
        } catch let failure as OAuthFailure {
            EngineMetrics.tokenRenewal(provider: grant.providerKey.rawValue, outcome: failure.kind.rawValue)
            throw failure
        }
        let sealed = try GrantSealing.seal(renewed, vault: vault, mailbox: email)
        if try await store.replaceGrant(id, with: sealed, expectedVersion: version) {
            logger.info("Access token renewed", metadata: ["mailbox": "\(id)", "rotated": "\(renewed.refreshToken != grant.refreshToken)"])
            return renewed
        }
        // Someone else (another node, a reauthorization) saved a newer grant meanwhile: theirs wins.
        logger.notice("Grant changed while renewing; using the stored one", metadata: ["mailbox": "\(id)"])
        return try await load(id).grant
    }

    private func load(_ id: MailboxID) async throws -> (grant: TokenGrant, version: Int64, email: String) {
        guard let stored = try await store.grant(id), let mailbox = try await store.mailbox(id) else {
            throw ConnectionFailure(kind: .tokenRefused(.reauthorization), serverText: "No sign-in is stored for this mailbox.", step: "credentials")
        }
        do {
            return (try GrantSealing.open(stored, vault: vault, mailbox: mailbox.email), stored.version, mailbox.email)
        } catch {
            throw ConnectionFailure(kind: .credentialUnreadable, serverText: "The stored sign-in cannot be decrypted: \(error)", step: "credentials")
        }
    }
}

extension TokenKeeper.Access {
    init(_ grant: TokenGrant) {
        self.init(token: grant.accessToken, account: grant.account)
    }
}

/// Converts between the OAuth module's grant and the Store's sealed form; the Vault sees the tokens, nothing else.
enum GrantSealing {
    /// - Parameter mailbox: the address of the mailbox the grant belongs to, sealed into each token.
    static func seal(_ grant: TokenGrant, vault: any SecretVault, mailbox: String) throws -> StoredGrant {
        StoredGrant(
            provider: grant.providerKey.rawValue, tenant: grant.tenant, account: grant.account, subject: grant.subject, scopes: grant.scopes,
            accessToken: try vault.seal(grant.accessToken, for: .accessToken(of: mailbox)), accessTokenExpiresAt: grant.accessTokenExpiresAt,
            refreshToken: try grant.refreshToken.map { try vault.seal($0, for: .refreshToken(of: mailbox)) }, obtainedAt: grant.obtainedAt,
            refreshedAt: grant.refreshedAt)
    }

    static func open(_ stored: StoredGrant, vault: any SecretVault, mailbox: String) throws -> TokenGrant {
        let key = ProviderKey(rawValue: stored.provider)
        return TokenGrant(
            provider: key.kind, tenant: stored.tenant, account: stored.account,
            subject: stored.subject, scopes: stored.scopes, accessToken: try vault.open(stored.accessToken, for: .accessToken(of: mailbox)),
            accessTokenExpiresAt: stored.accessTokenExpiresAt, refreshToken: try stored.refreshToken.map { try vault.open($0, for: .refreshToken(of: mailbox)) },
            obtainedAt: stored.obtainedAt, refreshedAt: stored.refreshedAt, source: key)
    }
}

extension ConnectionFailure {
    /// Restates a refused token renewal; the OAuth taxonomy already decided who must act.
    init(_ failure: OAuthFailure) {
        let problem: TokenProblem = switch failure.kind {
        case .reauthorizationRequired: .reauthorization
        case .actionNeededAtProvider: .providerAction
        case .appRegistration: .appRegistration
        case .configuration, .signInRejected: .configuration
        case .transient: .transient
        }
        var text = failure.description
        if let correlation = failure.correlationID { text += " (correlation ID \(correlation))" }
        self.init(kind: .tokenRefused(problem), serverText: text, step: "token refresh", retryAfter: failure.retryAfter)
    }
}
