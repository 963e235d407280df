import Foundation

/// The tokens an account granted Mailroom, with who granted them. Holds secrets: keep it sealed at rest and out of
/// logs (its descriptions redact the tokens).
public struct TokenGrant: Sendable, Codable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var provider: IdentityProviderKind
    /// The configured provider that issued the grant (nil in grants stored before there could be several: the kind's own).
    public var source: ProviderKey?
    public var tenant: String?
    /// The signed-in account's address (for a shared mailbox: the delegate's, not the mailbox's).
    public var account: String
    /// The account's stable ID (Microsoft `oid`, otherwise `sub`): an address can be renamed, this can't.
    public var subject: String
    public var scopes: [String]
    public var accessToken: String
    public var accessTokenExpiresAt: Date
    /// Absent when the provider gave none (no offline access); then the grant dies with the access token.
    public var refreshToken: String?
    public var obtainedAt: Date
    public var refreshedAt: Date?

    public init(
        provider: IdentityProviderKind, tenant: String?, account: String, subject: String, scopes: [String], accessToken: String,
        accessTokenExpiresAt: Date, refreshToken: String?, obtainedAt: Date, refreshedAt: Date? = nil, source: ProviderKey? = nil
    ) {
        self.provider = provider
        self.source = source
        self.tenant = tenant
        self.account = account
        self.subject = subject
        self.scopes = scopes
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.refreshToken = refreshToken
        self.obtainedAt = obtainedAt
        self.refreshedAt = refreshedAt
    }

    /// The provider to renew the grant with.
    public var providerKey: ProviderKey { source ?? ProviderKey(provider) }

    /// Whether the access token should be renewed before use: within 5 minutes of expiry, or past 80% of a short
    /// lifetime, so a fetch never starts with a token about to die.
    public func needsRefresh(now: Date) -> Bool {
        let issued = refreshedAt ?? obtainedAt
        let lifetime = accessTokenExpiresAt.timeIntervalSince(issued)
        let margin = min(300, max(5, lifetime * 0.2))
        return accessTokenExpiresAt.timeIntervalSince(now) <= margin
    }

    public var description: String {
        "TokenGrant(\(provider.rawValue), account: \(account), expires: \(accessTokenExpiresAt), tokens: <redacted>)"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["provider": provider, "account": account, "subject": subject, "tokens": "<redacted>"])
    }
}

/// A finished sign-in: who signed in and what they granted.
public struct CompletedSignIn: Sendable {
    public var identity: SignedInIdentity
    public var grant: TokenGrant
    /// The context given when the sign-in started.
    public var context: String
}
