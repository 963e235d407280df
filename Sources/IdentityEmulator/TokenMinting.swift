import Crypto
import Foundation

/// Shapes of the tokens and codes each provider issues, and the claims of id_tokens.
///
/// Mailroom must cope with every real shape: Microsoft work-account access tokens are JWTs of 1.5–2.5 KB
/// (too long for an SMTP AUTH initial response), personal-account tokens are opaque `EwB…` strings,
/// Google's are `ya29.…`. All random parts come from the system CSPRNG.
extension IdentityEmulator {
    /// OIDC scopes that are not resource permissions.
    static let oidcScopes: Set<String> = ["openid", "profile", "email", "offline_access"]

    func newAuthorizationCode(for account: EmulatorAccount) -> String {
        switch account.provider {
        case .google: return "4/0A" + RandomToken.base64url(70)
        case .microsoft(_, _, .work): return "1.A" + RandomToken.base64url(520)
        case .microsoft(_, _, .personal): return "M.C5" + RandomToken.base64url(60)
        }
    }

    func newRefreshToken(for account: EmulatorAccount) -> String {
        switch account.provider {
        case .google: return "1//0" + RandomToken.base64url(100)
        case .microsoft(_, _, .work): return "0.A" + RandomToken.base64url(760)
        case .microsoft(_, _, .personal): return "M.C5" + RandomToken.base64url(400)
        }
    }

    /// Mints an access token of the provider's shape and remembers it for introspection.
    func newAccessToken(
        for account: EmulatorAccount, client: EmulatorClient, scopes: [String], issuedAt: Date
    ) throws -> (token: String, expiresIn: Int) {
        let lifetime = accessTokenLifetimeSeconds
        let expiresAt = issuedAt.addingTimeInterval(TimeInterval(lifetime))
        let token: String
        switch account.provider {
        case .google:
            token = "ya29.a0" + RandomToken.base64url(150)
        case .microsoft(_, _, .personal):
            token = "EwB" + RandomToken.base64url(1180)
        case .microsoft(let tenantID, _, .work):
            token = try workAccessToken(
                account: account, tenantID: tenantID, client: client, scopes: scopes, issuedAt: issuedAt, expiresAt: expiresAt)
        }
        store.accessTokens[token] = AccessGrant(
            clientID: client.id, account: account.normalizedAddress, scopes: scopes,
            subject: subject(of: account, clientID: client.id), expiresAt: expiresAt)
        return (token, lifetime)
    }

    func subject(of account: EmulatorAccount, clientID: String) -> String {
        switch account.provider {
        case .google: return StableIdentifiers.googleSubject(address: account.address)
        case .microsoft: return StableIdentifiers.pairwiseSubject(objectID: account.objectID, clientID: clientID)
        }
    }

    /// A v1-style Exchange Online access token (aud `https://outlook.office.com`), padded so that it is
    /// always longer than 2,048 bytes like real ones with group and device claims.
    private func workAccessToken(
        account: EmulatorAccount, tenantID: String, client: EmulatorClient, scopes: [String], issuedAt: Date, expiresAt: Date
    ) throws -> String {
        let permissions = scopes.filter { !Self.oidcScopes.contains($0) }.map { scope -> String in
            if let slash = scope.range(of: "/", options: .backwards), scope.contains("://") {
                return String(scope[slash.upperBound...])
            }
            return scope
        }
        let names = account.displayName.split(separator: " ", maxSplits: 1).map(String.init)
        func claims(padding: String) -> JSONValue {
            .object([
                ("aud", .string("https://outlook.office.com")),
                ("iss", .string("https://sts.windows.net/\(tenantID)/")),
                ("iat", .int(Int(issuedAt.timeIntervalSince1970))),
                ("nbf", .int(Int(issuedAt.timeIntervalSince1970))),
                ("exp", .int(Int(expiresAt.timeIntervalSince1970))),
                ("acct", .int(0)),
                ("acr", .string("1")),
                ("aio", .string(RandomToken.base64url(120))),
                ("amr", .array([.string("pwd"), .string("mfa")])),
                ("app_displayname", .string(client.displayName)),
                ("appid", .string(client.id)),
                ("appidacr", .string("1")),
                ("enfpolids", .array([])),
                ("family_name", .string(names.count > 1 ? names[1] : "")),
                ("given_name", .string(names.first ?? "")),
                ("idtyp", .string("user")),
                ("ipaddr", .string("127.0.0.1")),
                ("name", .string(account.displayName)),
                ("oid", .string(account.objectID)),
                ("puid", .string(String(StableIdentifiers.guid(from: "puid:" + account.normalizedAddress).prefix(16)).uppercased())),
                ("rh", .string("1.A" + RandomToken.base64url(90) + ".")),
                ("scp", .string(permissions.joined(separator: " "))),
                ("sid", .string(RandomToken.guid())),
                ("sub", .string(RandomToken.base64url(43))),
                ("tid", .string(tenantID)),
                ("unique_name", .string(account.normalizedAddress)),
                ("upn", .string(account.normalizedAddress)),
                ("uti", .string(RandomToken.base64url(22))),
                ("ver", .string("1.0")),
                ("wids", .array([.string("b79fbf4d-3ef9-4689-8143-76b194e85509")])),
                ("xms_cc", .array([.string("CP1")])),
                ("xms_ftd", .string(RandomToken.base64url(60))),
                ("xms_idrel", .string("1 20")),
                ("xms_st", .object([("sub", .string(RandomToken.base64url(43)))])),
                ("xms_tcdt", .int(1_600_000_000)),
                ("xms_pad", .string(padding)),
            ])
        }
        let unpadded = try keys.microsoftAccessToken.signJWT(claims: claims(padding: ""))
        let target = 2_300
        let paddingLength = max(0, (target - unpadded.utf8.count) * 3 / 4)
        return try keys.microsoftAccessToken.signJWT(claims: claims(padding: RandomToken.base64url(paddingLength)))
    }

    /// A Microsoft v2.0 id_token (claims per the Entra id-token reference; `email`, `name` and
    /// `preferred_username` only with the scopes that release them).
    func microsoftIDToken(
        account: EmulatorAccount, tenantID: String, client: EmulatorClient, scopes: [String], nonce: String?,
        issuedAt: Date, baseURL: String
    ) throws -> String {
        let iat = Int(issuedAt.timeIntervalSince1970)
        let hasProfile = scopes.contains("profile")
        let claims = jsonObject([
            ("ver", .string("2.0")),
            ("iss", .string("\(baseURL)/\(tenantID)/v2.0")),
            ("sub", .string(subject(of: account, clientID: client.id))),
            ("aud", .string(client.id)),
            ("exp", .int(iat + 3600)),
            ("iat", .int(iat)),
            ("nbf", .int(iat)),
            ("name", hasProfile ? .string(account.displayName) : nil),
            ("preferred_username", hasProfile ? .string(account.address) : nil),
            ("oid", .string(account.objectID)),
            ("email", scopes.contains("email") ? .string(account.address) : nil),
            ("tid", .string(tenantID)),
            ("nonce", nonce.map { .string($0) }),
            ("aio", .string(RandomToken.base64url(60))),
        ])
        return try keys.microsoftIDToken.signJWT(claims: claims)
    }

    /// A Google id_token (`iss` is the emulator's `/google` base instead of `https://accounts.google.com`).
    func googleIDToken(
        account: EmulatorAccount, client: EmulatorClient, scopes: [String], nonce: String?, issuedAt: Date, baseURL: String
    ) throws -> String {
        let iat = Int(issuedAt.timeIntervalSince1970)
        let hasEmail = scopes.contains("email") || scopes.contains("https://www.googleapis.com/auth/userinfo.email")
        let hasProfile = scopes.contains("profile") || scopes.contains("https://www.googleapis.com/auth/userinfo.profile")
        let claims = jsonObject([
            ("iss", .string("\(baseURL)/google")),
            ("azp", .string(client.id)),
            ("aud", .string(client.id)),
            ("sub", .string(subject(of: account, clientID: client.id))),
            ("email", hasEmail ? .string(account.normalizedAddress) : nil),
            ("email_verified", hasEmail ? .bool(true) : nil),
            ("nonce", nonce.map { .string($0) }),
            ("name", hasProfile ? .string(account.displayName) : nil),
            ("iat", .int(iat)),
            ("exp", .int(iat + 3600)),
        ])
        return try keys.google.signJWT(claims: claims)
    }

    /// Verifies a PKCE `code_verifier` against the stored challenge (RFC 7636 §4.6).
    static func pkceMatches(verifier: String, challenge: String, method: String) -> Bool {
        switch method {
        case "S256":
            return Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) == challenge
        default:
            return verifier == challenge
        }
    }
}
