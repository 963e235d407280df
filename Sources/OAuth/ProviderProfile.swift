import Foundation

/// Which identity provider issued a grant; decides the issuer rule, the sign-in parameters and how errors read.
public enum IdentityProviderKind: String, Sendable, Codable, CaseIterable {
    case microsoft, google, openIDConnect = "oidc"
}

/// One configured identity provider: `microsoft`, `google`, `oidc` (the one generic provider of `MAILROOM_OIDC_*`),
/// or `oidc-<id>` for each of `MAILROOM_OIDC_PROVIDERS`. Stored with every grant, so a renewal goes to the provider
/// that issued it even when several generic ones are configured.
public struct ProviderKey: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public init(_ kind: IdentityProviderKind) { self.rawValue = kind.rawValue }

    public static let microsoft = ProviderKey(.microsoft)
    public static let google = ProviderKey(.google)
    /// The generic provider configured with `MAILROOM_OIDC_*`.
    public static let openIDConnect = ProviderKey(.openIDConnect)

    /// A named generic provider, e.g. `oidc-keycloak`.
    public static func openIDConnect(_ id: String) -> ProviderKey { ProviderKey(rawValue: "oidc-\(id.lowercased())") }

    /// The rules this provider follows.
    public var kind: IdentityProviderKind {
        switch rawValue {
        case "microsoft": .microsoft
        case "google": .google
        default: .openIDConnect
        }
    }

    public var description: String { rawValue }
}

/// Everything Mailroom needs to talk to one identity provider with one registered app.
///
/// Every endpoint, client ID and secret is operator configuration: that is how national clouds, a company's own
/// OpenID Connect provider, the tests and the demo (the bundled identity emulator) all use the same code.
public struct ProviderProfile: Sendable, CustomStringConvertible {
    public var kind: IdentityProviderKind
    /// Which configured provider this is; set by ``OAuthProviders`` (defaults to the kind's own key).
    public var key: ProviderKey
    public var clientID: String
    /// Confidential web client secret; sent only to the token endpoint.
    public var clientSecret: String
    public var authorizationEndpoint: URL
    public var tokenEndpoint: URL
    public var jwksURI: URL
    public var issuer: IssuerRule
    /// Scopes asked for at sign-in (mail resource, refresh, identity).
    public var scopes: [String]
    /// Provider-specific authorize parameters, e.g. `prompt=select_account` or `access_type=offline`.
    public var extraAuthorizationParameters: [(String, String)]
    /// For Microsoft: the tenant in the endpoint path (`common`, `organizations`, `consumers`, an ID or domain).
    public var tenant: String?

    public init(
        kind: IdentityProviderKind, clientID: String, clientSecret: String, authorizationEndpoint: URL, tokenEndpoint: URL,
        jwksURI: URL, issuer: IssuerRule, scopes: [String], extraAuthorizationParameters: [(String, String)] = [], tenant: String? = nil
    ) {
        self.kind = kind
        self.key = ProviderKey(kind)
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.issuer = issuer
        self.scopes = scopes
        self.extraAuthorizationParameters = extraAuthorizationParameters
        self.tenant = tenant
    }

    public var description: String {
        "ProviderProfile(\(kind.rawValue), client: \(clientID), secret: <redacted>, token: \(tokenEndpoint.absoluteString))"
    }

    /// The IMAP and SMTP scopes share Outlook's resource, so one token serves both (protocols.md §1.2).
    public static func microsoftScopes(resource: String = "https://outlook.office.com") -> [String] {
        ["\(resource)/IMAP.AccessAsUser.All", "\(resource)/SMTP.Send", "offline_access", "openid", "email", "profile"]
    }

    /// Microsoft identity platform v2.0 for one app registration.
    ///
    /// - Parameters:
    ///   - authority: `https://login.microsoftonline.com`, a national cloud's authority, or the emulator's base URL.
    ///   - tenant: `common`, `organizations`, `consumers`, a tenant ID or a verified domain.
    ///   - resource: Outlook's resource for the mail scopes (differs in national clouds).
    public static func microsoft(
        clientID: String, clientSecret: String, tenant: String = "common",
        authority: URL = URL(string: "https://login.microsoftonline.com")!, resource: String = "https://outlook.office.com"
    ) -> ProviderProfile {
        let base = authority.absoluteString.hasSuffix("/") ? String(authority.absoluteString.dropLast()) : authority.absoluteString
        let escapedTenant = tenant.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? tenant
        func url(_ path: String) -> URL { URL(string: "\(base)/\(escapedTenant)\(path)") ?? authority }
        return ProviderProfile(
            kind: .microsoft, clientID: clientID, clientSecret: clientSecret,
            authorizationEndpoint: url("/oauth2/v2.0/authorize"), tokenEndpoint: url("/oauth2/v2.0/token"),
            jwksURI: url("/discovery/v2.0/keys"),
            issuer: .microsoft(authority: base, tenant: tenant),
            scopes: microsoftScopes(resource: resource),
            // Microsoft signs the browser into one account; make the admin choose which, every time.
            extraAuthorizationParameters: [("prompt", "select_account")],
            tenant: tenant)
    }

    /// Builds a profile from an OpenID Connect discovery document (Google publishes one; so does any OIDC provider).
    ///
    /// Google gets its offline-access parameters: a refresh token comes only with `access_type=offline`, and only on
    /// a consent screen (`prompt=consent`) when the user has signed in to this app before (protocols.md §2.1).
    public static func fromDiscovery(
        _ document: DiscoveryDocument, kind: IdentityProviderKind, clientID: String, clientSecret: String, scopes: [String]? = nil
    ) -> ProviderProfile {
        let defaultScopes = kind == .google ? ["https://mail.google.com/", "openid", "email"] : ["openid", "email", "profile", "offline_access"]
        let extra: [(String, String)] = kind == .google ? [("access_type", "offline"), ("prompt", "consent select_account")] : []
        return ProviderProfile(
            kind: kind, clientID: clientID, clientSecret: clientSecret,
            authorizationEndpoint: document.authorizationEndpoint, tokenEndpoint: document.tokenEndpoint,
            jwksURI: document.jwksURI, issuer: .exact(document.issuer), scopes: scopes ?? defaultScopes,
            extraAuthorizationParameters: extra)
    }
}

/// Which `iss` an id_token may carry.
public enum IssuerRule: Sendable, Equatable {
    /// Exactly this issuer (Google, any OIDC provider).
    case exact(String)
    /// Microsoft's multi-tenant rule: `{authority}/{tid}/v2.0`, where `tid` is the token's own tenant claim; a
    /// tenant-specific profile also requires that tenant.
    case microsoft(authority: String, tenant: String)
}

/// The fields of an OpenID Connect discovery document Mailroom uses (OpenID Connect Discovery 1.0 §3).
public struct DiscoveryDocument: Sendable, Codable, Equatable {
    public var issuer: String
    public var authorizationEndpoint: URL
    public var tokenEndpoint: URL
    public var jwksURI: URL

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
    }

    public init(issuer: String, authorizationEndpoint: URL, tokenEndpoint: URL, jwksURI: URL) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
    }

    /// What makes the document unusable when fetched from `source`, nil when nothing does. The document is the
    /// provider's word, fetched over the network: Mailroom posts its client secret and the sign-in's code to the
    /// token endpoint and trusts the keys it names, so each endpoint must be an http(s) address with a host, and a
    /// document fetched over https must not move any of them to plain http (OpenID Connect Discovery §3 asks for
    /// https throughout; an operator who configured a plain-http discovery URL, as for a local test provider, chose
    /// plain http already).
    public func problem(fetchedFrom source: URL) -> String? {
        let secure = source.scheme?.lowercased() == "https"
        for (name, url) in [("authorization_endpoint", authorizationEndpoint), ("token_endpoint", tokenEndpoint), ("jwks_uri", jwksURI)] {
            let scheme = url.scheme?.lowercased()
            guard scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
                return "Its \(name) «\(url.absoluteString)» is not an http(s) address."
            }
            if secure && scheme != "https" {
                return "Its \(name) «\(url.absoluteString)» is plain http although the document came over https; Mailroom sends secrets there only over https."
            }
        }
        return issuer.isEmpty ? "It names no issuer." : nil
    }
}
