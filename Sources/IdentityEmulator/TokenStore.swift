import Foundation

/// Why a refresh token stopped working; decides the error the token endpoint gives for it.
enum RefreshTokenDeath: Sendable, Hashable {
    /// Replaced by a newer token (rotation) → AADSTS70000.
    case rotated
    /// Password change or admin revocation → AADSTS50173.
    case revoked(issuedBefore: Date)
    /// Inactivity → AADSTS700082.
    case inactive
    /// Consent withdrawn → AADSTS65001.
    case consentRevoked
}

/// An issued, not-yet-redeemed authorization code.
struct AuthorizationCode: Sendable {
    let clientID: String
    let redirectURI: String
    let account: String
    let scopes: [String]
    let nonce: String?
    let codeChallenge: String?
    let codeChallengeMethod: String
    let issuedAt: Date
    /// Google: `access_type=offline` was asked for, so the exchange may return a refresh token.
    let offline: Bool
    /// Google: `prompt=consent` was given, which forces a new refresh token even if one was issued before.
    let forceConsent: Bool
    /// Microsoft: the `{tenant}` path segment of the authorize request (codes are tenant-bound).
    let tenant: String?
    var redeemed = false
}

/// A refresh token and the grant it carries.
struct RefreshGrant: Sendable {
    let clientID: String
    let account: String
    let provider: EmulatorProviderKind
    /// The scopes consented in the original authorization; a refresh may ask for a subset.
    let scopes: [String]
    let nonce: String?
    let issuedAt: Date
    var death: RefreshTokenDeath?
    var accepted = 0
    var rejected = 0
}

/// A live access token, looked up by `/introspect`.
struct AccessGrant: Sendable {
    let clientID: String
    let account: String
    let scopes: [String]
    let subject: String
    let expiresAt: Date
}

/// All issued codes and tokens, keyed by their value. Lives inside the ``IdentityEmulator`` actor, so
/// it is a plain value type with no locking of its own.
struct TokenStore: Sendable {
    var codes: [String: AuthorizationCode] = [:]
    var refreshTokens: [String: RefreshGrant] = [:]
    var accessTokens: [String: AccessGrant] = [:]
    /// Google hands out a refresh token only on the first offline authorization of a client by an
    /// account (unless `prompt=consent`); this remembers which pairs already got one.
    var googleOfflineGrants: Set<String> = []

    static func grantKey(account: String, clientID: String) -> String { "\(account)\n\(clientID)" }

    /// Kills every live refresh token of `account` with `death`, and optionally its access tokens.
    mutating func kill(account: String, death: RefreshTokenDeath, accessTokensToo: Bool) {
        for (token, grant) in refreshTokens where grant.account == account && grant.death == nil {
            refreshTokens[token]?.death = death
        }
        if accessTokensToo {
            accessTokens = accessTokens.filter { $0.value.account != account }
        }
        googleOfflineGrants = googleOfflineGrants.filter { !$0.hasPrefix(account + "\n") }
    }

    /// Drops codes and access tokens that can no longer be used, to keep memory bounded in long demos.
    mutating func purge(now: Date) {
        codes = codes.filter { now.timeIntervalSince($0.value.issuedAt) < 3600 }
        accessTokens = accessTokens.filter { $0.value.expiresAt > now }
    }
}
