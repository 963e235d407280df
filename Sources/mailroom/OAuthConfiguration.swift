import ArgumentParser
import Foundation
import OAuth

/// The OAuth apps Mailroom is registered as, from the environment. A provider is enabled when its client ID and
/// secret are set; every endpoint can be overridden, which is how national clouds and the bundled identity
/// emulator are used.
///
/// | Variable | Default |
/// |---|---|
/// | `MAILROOM_MICROSOFT_CLIENT_ID`, `MAILROOM_MICROSOFT_CLIENT_SECRET` | — (Microsoft sign-in off) |
/// | `MAILROOM_MICROSOFT_TENANT` | `common` |
/// | `MAILROOM_MICROSOFT_AUTHORITY` | `https://login.microsoftonline.com` |
/// | `MAILROOM_MICROSOFT_RESOURCE` | `https://outlook.office.com` |
/// | `MAILROOM_GOOGLE_CLIENT_ID`, `MAILROOM_GOOGLE_CLIENT_SECRET` | — (Google sign-in off) |
/// | `MAILROOM_GOOGLE_DISCOVERY_URL` | `https://accounts.google.com/.well-known/openid-configuration` |
/// | `MAILROOM_OIDC_CLIENT_ID`, `MAILROOM_OIDC_CLIENT_SECRET`, `MAILROOM_OIDC_DISCOVERY_URL` | — (for «Other» mailboxes) |
/// | `MAILROOM_OIDC_NAME` | `OpenID Connect` («Sign in with …») |
/// | `MAILROOM_OIDC_SCOPES` | `openid email profile offline_access` |
/// | `MAILROOM_OIDC_PROVIDERS` | — : more generic providers, e.g. `keycloak authentik`, each with `MAILROOM_OIDC_<ID>_NAME`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_DISCOVERY_URL`, `_SCOPES` |
enum OAuthConfiguration {
    /// Every configured provider, Microsoft and Google first, then the generic ones in the order given.
    static func entries(_ environment: [String: String]) throws -> [OAuthProviders.Entry] {
        let sources = try sources(environment)
        var entries: [OAuthProviders.Entry] = []
        if let microsoft = sources[.microsoft] { entries.append(.init(key: .microsoft, name: "Microsoft", source: microsoft)) }
        if let google = sources[.google] { entries.append(.init(key: .google, name: "Google", source: google)) }
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
        }
        if let generic = sources[.openIDConnect] {
            entries.append(.init(key: .openIDConnect, name: value("MAILROOM_OIDC_NAME") ?? "OpenID Connect", source: generic))
        }
        let ids = (value("MAILROOM_OIDC_PROVIDERS") ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        for id in ids {
            guard id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }), !id.isEmpty else {
                throw ValidationError("MAILROOM_OIDC_PROVIDERS lists «\(id)»: use short names of letters and digits, like keycloak.")
            }
            let prefix = "MAILROOM_OIDC_\(id.uppercased())_"
            guard let clientID = value(prefix + "CLIENT_ID"), let secret = value(prefix + "CLIENT_SECRET"), let discovery = value(prefix + "DISCOVERY_URL") else {
                throw ValidationError("MAILROOM_OIDC_PROVIDERS lists «\(id)»: set \(prefix)CLIENT_ID, \(prefix)CLIENT_SECRET and \(prefix)DISCOVERY_URL.")
            }
            guard let url = URL(string: discovery), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw ValidationError("\(prefix)DISCOVERY_URL must be an http(s) URL; got «\(discovery)».")
            }
            let key = ProviderKey.openIDConnect(id)
            guard !entries.contains(where: { $0.key == key }) else { throw ValidationError("MAILROOM_OIDC_PROVIDERS lists «\(id)» twice.") }
            entries.append(.init(
                key: key, name: value(prefix + "NAME") ?? id.capitalized,
                source: .discovery(url, kind: .openIDConnect, clientID: clientID, clientSecret: secret,
                                   scopes: value(prefix + "SCOPES").map { $0.split(separator: " ").map(String.init) })))
        }
        return entries
    }

    static func sources(_ environment: [String: String]) throws -> [IdentityProviderKind: ProviderSource] {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
        }
        func url(_ name: String, default fallback: String) throws -> URL {
            let text = value(name) ?? fallback
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw ValidationError("\(name) must be an http(s) URL; got «\(text)».")
            }
            return url
        }
        var sources: [IdentityProviderKind: ProviderSource] = [:]
        switch (value("MAILROOM_MICROSOFT_CLIENT_ID"), value("MAILROOM_MICROSOFT_CLIENT_SECRET")) {
        case let (id?, secret?):
            sources[.microsoft] = .profile(.microsoft(
                clientID: id, clientSecret: secret, tenant: value("MAILROOM_MICROSOFT_TENANT") ?? "common",
                authority: try url("MAILROOM_MICROSOFT_AUTHORITY", default: "https://login.microsoftonline.com"),
                resource: value("MAILROOM_MICROSOFT_RESOURCE") ?? "https://outlook.office.com"))
        case (nil, nil): break
        default: throw ValidationError("Set both MAILROOM_MICROSOFT_CLIENT_ID and MAILROOM_MICROSOFT_CLIENT_SECRET, or neither.")
        }
        switch (value("MAILROOM_GOOGLE_CLIENT_ID"), value("MAILROOM_GOOGLE_CLIENT_SECRET")) {
        case let (id?, secret?):
            sources[.google] = .discovery(
                try url("MAILROOM_GOOGLE_DISCOVERY_URL", default: "https://accounts.google.com/.well-known/openid-configuration"),
                kind: .google, clientID: id, clientSecret: secret, scopes: nil)
        case (nil, nil): break
        default: throw ValidationError("Set both MAILROOM_GOOGLE_CLIENT_ID and MAILROOM_GOOGLE_CLIENT_SECRET, or neither.")
        }
        switch (value("MAILROOM_OIDC_CLIENT_ID"), value("MAILROOM_OIDC_CLIENT_SECRET"), value("MAILROOM_OIDC_DISCOVERY_URL")) {
        case let (id?, secret?, _?):
            sources[.openIDConnect] = .discovery(
                try url("MAILROOM_OIDC_DISCOVERY_URL", default: ""), kind: .openIDConnect, clientID: id, clientSecret: secret,
                scopes: value("MAILROOM_OIDC_SCOPES").map { $0.split(separator: " ").map(String.init) })
        case (nil, nil, nil): break
        default: throw ValidationError("Set MAILROOM_OIDC_CLIENT_ID, MAILROOM_OIDC_CLIENT_SECRET and MAILROOM_OIDC_DISCOVERY_URL together, or none of them.")
        }
        return sources
    }
}
