import Foundation

/// Which identity provider a client registration or an account belongs to.
///
/// The emulator answers for both Microsoft's identity platform and Google's OAuth endpoints from one
/// server, so every client and account says which of the two it lives in; a Google client is unknown
/// to the Microsoft endpoints and vice versa, exactly as with the real providers.
public enum EmulatorProviderKind: String, Sendable, Hashable, Codable {
    case microsoft
    case google
}

/// A Microsoft account is either a work/school account of a tenant or a personal (MSA) account.
///
/// The distinction decides which `{tenant}` path segments offer the account (`/organizations` never
/// offers personal accounts, `/consumers` never offers work accounts) and what the access token looks
/// like (JWT for work accounts, opaque `EwB…` for personal ones), so Mailroom meets both shapes.
public enum MicrosoftAccountKind: String, Sendable, Hashable, Codable {
    case work
    case personal
}

/// A mail protocol whose use the emulator can switch off per mailbox.
///
/// Exchange Online can disable IMAP or SMTP AUTH per mailbox while OAuth itself keeps working; the
/// emulator reproduces that by answering `{"active":false}` to Dovecot for the disabled protocol.
public enum MailProtocol: String, Sendable, Hashable, Codable, CaseIterable {
    case imap
    case smtp
}

/// A user account that can sign in at the emulator's picker page.
public struct EmulatorAccount: Sendable, Hashable {
    /// Where the account lives and, for Microsoft, in which tenant.
    public enum Provider: Sendable, Hashable {
        case microsoft(tenantID: String, tenantDomain: String, kind: MicrosoftAccountKind)
        case google
    }

    /// The mail address; also the user name Dovecot expects (compared lower-case).
    public var address: String
    public var displayName: String
    public var provider: Provider
    /// The shared mailbox this account is a delegate of (Exchange "Full Access"), reported to Dovecot as
    /// `shared_mailbox` so that a delegate's token can open the shared mailbox.
    public var delegatedMailbox: String?

    public init(address: String, displayName: String, provider: Provider, delegatedMailbox: String? = nil) {
        self.address = address
        self.displayName = displayName
        self.provider = provider
        self.delegatedMailbox = delegatedMailbox
    }

    /// A work/school account of a Microsoft Entra tenant.
    public static func microsoftWork(
        _ address: String, displayName: String, tenantID: String, tenantDomain: String, delegatedMailbox: String? = nil
    ) -> EmulatorAccount {
        EmulatorAccount(
            address: address, displayName: displayName,
            provider: .microsoft(tenantID: tenantID, tenantDomain: tenantDomain, kind: .work),
            delegatedMailbox: delegatedMailbox)
    }

    /// A personal Microsoft account (Outlook.com / Hotmail); lives in Microsoft's fixed consumer tenant.
    public static func microsoftPersonal(_ address: String, displayName: String) -> EmulatorAccount {
        EmulatorAccount(
            address: address, displayName: displayName,
            provider: .microsoft(tenantID: MicrosoftTenants.consumersTenantID, tenantDomain: "live.com", kind: .personal))
    }

    /// A Google (Gmail / Workspace) account.
    public static func google(_ address: String, displayName: String) -> EmulatorAccount {
        EmulatorAccount(address: address, displayName: displayName, provider: .google)
    }

    /// The lower-cased address, the key the emulator files the account under.
    public var normalizedAddress: String { address.lowercased() }

    public var providerKind: EmulatorProviderKind {
        switch provider {
        case .microsoft: return .microsoft
        case .google: return .google
        }
    }

    /// The mailbox Dovecot should let this account's token open: the delegated shared mailbox if any.
    public var effectiveMailbox: String { (delegatedMailbox ?? address).lowercased() }

    /// A stable object id (GUID-shaped) derived from the address, so demo identities keep the same
    /// `oid`/`sub` across restarts of the emulator.
    public var objectID: String { StableIdentifiers.guid(from: "oid:" + normalizedAddress) }
}

/// An OAuth client registration (an Entra app registration or a Google Cloud OAuth client).
public struct EmulatorClient: Sendable, Hashable {
    public var id: String
    public var secret: String
    /// Redirect URIs registered for the client; the authorize request must use one of them exactly.
    public var redirectURIs: [String]
    public var provider: EmulatorProviderKind
    /// Shown in consent-related error texts (Microsoft names the app in some AADSTS descriptions).
    public var displayName: String

    public init(id: String, secret: String, redirectURIs: [String], provider: EmulatorProviderKind, displayName: String = "Mailroom") {
        self.id = id
        self.secret = secret
        self.redirectURIs = redirectURIs
        self.provider = provider
        self.displayName = displayName
    }
}

/// The HTTP Basic credentials Dovecot must present at `POST /introspect` (its `introspection_url`
/// carries them as `http://id:secret@host/introspect`).
public struct IntrospectionCredentials: Sendable, Hashable {
    public var clientID: String
    public var secret: String

    public init(clientID: String, secret: String) {
        self.clientID = clientID
        self.secret = secret
    }
}

/// How the token endpoint misbehaves while an outage is simulated.
public enum TokenEndpointOutage: Sendable, Hashable {
    /// HTTP 503 with `temporarily_unavailable` (a transient error Mailroom must retry, not escalate).
    case unavailable
    /// HTTP 429 with a `Retry-After` header of the given seconds.
    case throttled(retryAfter: Int)
}

/// A fault currently in force, as reported by ``IdentityEmulator/activeFaults()``.
///
/// Each case is one of the provider failure modes Mailroom must classify correctly (re-authorize the
/// mailbox, alert the app admin, or retry quietly); tests switch them on through the actor methods or
/// the `/emulator/control/…` endpoints.
public enum EmulatorFault: Sendable, Hashable {
    /// Account's password changed: its grants are dead (AADSTS50173 / Google `invalid_grant`).
    case passwordChanged(account: String)
    /// Account's refresh tokens expired through inactivity (AADSTS700082).
    case refreshTokenInactive(account: String)
    /// Account revoked consent (AADSTS65001, suberror `consent_required`).
    case consentRevoked(account: String)
    /// Account must do MFA interactively before refreshing works again (AADSTS50076).
    case mfaRequired(account: String)
    /// An admin revoked the account's sessions (AADSTS50173).
    case tokensRevoked(account: String)
    /// The client's secret expired (AADSTS7000222, HTTP 401).
    case clientSecretExpired(clientID: String)
    /// The token endpoint is down or throttling.
    case tokenEndpointOutage(TokenEndpointOutage)
    /// `/introspect` answers 503, so Dovecot reports `[UNAVAILABLE]` / `454 4.7.0`.
    case introspectionOutage
    /// The host refuses connections or swallows them (see ``NetworkOutage``).
    case networkOutage(NetworkOutage)
    /// A protocol is disabled for a mailbox (Dovecot gets `{"active":false}` for that service).
    case protocolDisabled(mailbox: String, protocol: MailProtocol)
}

/// One entry of the token-endpoint audit list, readable by tests through
/// ``IdentityEmulator/tokenRequests()``. Holds no token, code or secret.
public struct TokenRequestRecord: Sendable, Hashable {
    public var date: Date
    public var provider: EmulatorProviderKind
    /// `grant_type` as sent (may be empty or unsupported).
    public var grantType: String
    public var clientID: String?
    /// The account the grant belongs to, when the code/refresh token was recognised.
    public var account: String?
    /// `"success"` or the OAuth `error` value, e.g. `"invalid_grant"`.
    public var outcome: String
    /// The AADSTS number of a Microsoft error, when there is one.
    public var errorCode: Int?
    /// SHA-256 fingerprint of the refresh token presented (see ``IdentityEmulator/fingerprint(of:)``).
    public var refreshTokenFingerprint: String?
}

/// How often one refresh token was presented and with what result.
public struct RefreshTokenUsage: Sendable, Hashable {
    public var accepted: Int
    public var rejected: Int
}

/// Fixed Microsoft tenant facts.
public enum MicrosoftTenants {
    /// The tenant id of all personal Microsoft accounts (`tid` in their id_tokens), as on Microsoft.
    public static let consumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
}
