import Foundation

/// A parsed token-endpoint request, provider-neutral.
struct TokenRequest: Sendable {
    let provider: EmulatorProviderKind
    /// Microsoft `{tenant}` path segment; nil for Google.
    let tenant: String?
    let form: [String: String]
    let basic: (id: String, secret: String)?
    let baseURL: String

    func parameter(_ name: String) -> String? {
        guard let value = form[name], !value.isEmpty else { return nil }
        return value
    }
}

/// Why a token request failed; ``ErrorBodies`` renders it in the provider's own shape.
enum TokenError: Error, Sendable, Equatable {
    case outageUnavailable
    case throttled(retryAfter: Int)
    case missingParameter(String)
    case tenantNotFound(String)
    case unknownClient(String)
    case missingSecret(String)
    case invalidSecret(String)
    case secretExpired(String)
    case unsupportedGrant(String)
    case codeUnknown
    case codeRedeemed
    case codeExpired
    case codeClientMismatch
    case codeWrongTenant
    case redirectMismatch(String, clientID: String)
    case pkceMissing
    case pkceMismatch
    case refreshUnknown
    case refreshClientMismatch
    case refreshRotated
    case refreshRevoked(issued: Date, validFrom: Date)
    case refreshInactive(issued: Date)
    case consentRevoked(clientID: String, clientName: String)
    case mfaRequired(resource: String)
    case invalidScope(String)
    case serverError
}

/// The token endpoint's grant handling: `authorization_code` (with PKCE) and `refresh_token`.
extension IdentityEmulator {
    /// Handles one token request and records it in the audit list.
    func handleToken(_ request: TokenRequest) -> Result<JSONValue, TokenError> {
        var entry = TokenRequestRecord(
            date: now(), provider: request.provider, grantType: request.form["grant_type"] ?? "",
            clientID: nil, account: nil, outcome: "success", errorCode: nil, refreshTokenFingerprint: nil)
        let result: Result<JSONValue, TokenError>
        do {
            result = .success(try processToken(request, entry: &entry))
        } catch {
            result = .failure(error)
            let rendered = ErrorBodies.describe(error, provider: request.provider)
            entry.outcome = rendered.error
            entry.errorCode = rendered.code
        }
        record(entry)
        store.purge(now: now())
        return result
    }

    private func processToken(_ request: TokenRequest, entry: inout TokenRequestRecord) throws(TokenError) -> JSONValue {
        switch tokenOutage {
        case .unavailable: throw .outageUnavailable
        case .throttled(let retryAfter): throw .throttled(retryAfter: retryAfter)
        case nil: break
        }
        if request.provider == .microsoft, let tenant = request.tenant, !isKnownTenant(tenant) {
            throw .tenantNotFound(tenant)
        }
        let client = try authenticateClient(request)
        entry.clientID = client.id
        guard let grantType = request.parameter("grant_type") else { throw .missingParameter("grant_type") }
        switch grantType {
        case "authorization_code":
            return try redeemCode(request, client: client, entry: &entry)
        case "refresh_token":
            return try redeemRefreshToken(request, client: client, entry: &entry)
        default:
            throw .unsupportedGrant(grantType)
        }
    }

    /// Client authentication: `client_secret` in the body or HTTP Basic (RFC 6749 §2.3.1).
    private func authenticateClient(_ request: TokenRequest) throws(TokenError) -> EmulatorClient {
        guard let clientID = request.basic?.id ?? request.parameter("client_id") else {
            throw .missingParameter("client_id")
        }
        guard let client = clientsByID[clientID], client.provider == request.provider else {
            throw .unknownClient(clientID)
        }
        guard let secret = request.basic?.secret ?? request.parameter("client_secret") else {
            throw .missingSecret(clientID)
        }
        guard secret == client.secret else { throw .invalidSecret(clientID) }
        if expiredSecrets.contains(clientID) { throw .secretExpired(clientID) }
        return client
    }

    private func redeemCode(
        _ request: TokenRequest, client: EmulatorClient, entry: inout TokenRequestRecord
    ) throws(TokenError) -> JSONValue {
        guard let code = request.parameter("code") else { throw .missingParameter("code") }
        guard let stored = store.codes[code] else { throw .codeUnknown }
        entry.account = stored.account
        guard stored.clientID == client.id else { throw .codeClientMismatch }
        guard !stored.redeemed else { throw .codeRedeemed }
        guard now().timeIntervalSince(stored.issuedAt) < 600 else { throw .codeExpired }
        guard let redirectURI = request.parameter("redirect_uri") else { throw .missingParameter("redirect_uri") }
        guard redirectURI == stored.redirectURI else { throw .redirectMismatch(redirectURI, clientID: client.id) }
        if let challenge = stored.codeChallenge {
            guard let verifier = request.parameter("code_verifier") else { throw .pkceMissing }
            guard Self.pkceMatches(verifier: verifier, challenge: challenge, method: stored.codeChallengeMethod) else {
                throw .pkceMismatch
            }
        }
        guard let account = accountsByAddress[stored.account] else { throw .codeUnknown }
        if request.provider == .microsoft, let tenant = request.tenant, !isEligible(account, tenant: tenant) {
            throw .codeWrongTenant
        }
        store.codes[code]?.redeemed = true

        let wantsRefresh: Bool
        switch request.provider {
        case .microsoft:
            wantsRefresh = stored.scopes.contains("offline_access")
        case .google:
            let key = TokenStore.grantKey(account: account.normalizedAddress, clientID: client.id)
            wantsRefresh = stored.offline && (stored.forceConsent || !store.googleOfflineGrants.contains(key))
            if wantsRefresh { store.googleOfflineGrants.insert(key) }
        }
        return try issue(
            account: account, client: client, scopes: stored.scopes, grantScopes: stored.scopes,
            nonce: stored.nonce, withRefreshToken: wantsRefresh, provider: request.provider, baseURL: request.baseURL)
    }

    private func redeemRefreshToken(
        _ request: TokenRequest, client: EmulatorClient, entry: inout TokenRequestRecord
    ) throws(TokenError) -> JSONValue {
        guard let token = request.parameter("refresh_token") else { throw .missingParameter("refresh_token") }
        entry.refreshTokenFingerprint = Self.fingerprint(of: token)
        guard let grant = store.refreshTokens[token] else { throw .refreshUnknown }
        entry.account = grant.account
        do throws(TokenError) {
            guard grant.clientID == client.id, grant.provider == request.provider else { throw TokenError.refreshClientMismatch }
            switch grant.death {
            case .rotated: throw TokenError.refreshRotated
            case .revoked(let validFrom): throw TokenError.refreshRevoked(issued: grant.issuedAt, validFrom: validFrom)
            case .inactive: throw TokenError.refreshInactive(issued: grant.issuedAt)
            case .consentRevoked: throw TokenError.consentRevoked(clientID: client.id, clientName: client.displayName)
            case nil: break
            }
            if mfaRequired.contains(grant.account) { throw TokenError.mfaRequired(resource: Self.resourceName(grant.scopes)) }
            guard let account = accountsByAddress[grant.account] else { throw TokenError.refreshUnknown }
            var scopes = grant.scopes
            if let requested = request.parameter("scope") {
                let asked = requested.split(separator: " ").map(String.init)
                let allowed = Set(grant.scopes).union(request.provider == .microsoft ? Self.oidcScopes : [])
                guard asked.allSatisfy(allowed.contains) else { throw TokenError.invalidScope(requested) }
                scopes = asked
            }
            store.refreshTokens[token]?.accepted += 1
            if request.provider == .microsoft {
                // Rotation, stricter than Microsoft: the presented token dies the moment it is used.
                store.refreshTokens[token]?.death = .rotated
            }
            return try issue(
                account: account, client: client, scopes: scopes, grantScopes: grant.scopes, nonce: nil,
                withRefreshToken: request.provider == .microsoft, provider: request.provider, baseURL: request.baseURL)
        } catch {
            store.refreshTokens[token]?.rejected += 1
            throw error
        }
    }

    /// Builds the success JSON in the provider's field order and stores the new tokens.
    private func issue(
        account: EmulatorAccount, client: EmulatorClient, scopes: [String], grantScopes: [String], nonce: String?,
        withRefreshToken: Bool, provider: EmulatorProviderKind, baseURL: String
    ) throws(TokenError) -> JSONValue {
        let issuedAt = now()
        do {
            let access = try newAccessToken(for: account, client: client, scopes: scopes, issuedAt: issuedAt)
            var refreshToken: String?
            if withRefreshToken {
                let token = newRefreshToken(for: account)
                store.refreshTokens[token] = RefreshGrant(
                    clientID: client.id, account: account.normalizedAddress, provider: provider, scopes: grantScopes,
                    nonce: nonce, issuedAt: issuedAt)
                refreshToken = token
            }
            let scope = scopes.joined(separator: " ")
            switch account.provider {
            case .microsoft(let tenantID, _, _):
                let idToken =
                    scopes.contains("openid")
                    ? try microsoftIDToken(
                        account: account, tenantID: tenantID, client: client, scopes: scopes, nonce: nonce,
                        issuedAt: issuedAt, baseURL: baseURL) : nil
                return jsonObject([
                    ("token_type", .string("Bearer")),
                    ("scope", .string(scope)),
                    ("expires_in", .int(access.expiresIn)),
                    ("ext_expires_in", .int(access.expiresIn)),
                    ("access_token", .string(access.token)),
                    ("refresh_token", refreshToken.map { .string($0) }),
                    ("id_token", idToken.map { .string($0) }),
                ])
            case .google:
                let idToken =
                    scopes.contains("openid")
                    ? try googleIDToken(
                        account: account, client: client, scopes: scopes, nonce: nonce, issuedAt: issuedAt, baseURL: baseURL)
                    : nil
                return jsonObject([
                    ("access_token", .string(access.token)),
                    ("expires_in", .int(access.expiresIn)),
                    ("refresh_token", refreshToken.map { .string($0) }),
                    ("scope", .string(scope)),
                    ("token_type", .string("Bearer")),
                    ("id_token", idToken.map { .string($0) }),
                ])
            }
        } catch {
            throw .serverError
        }
    }

    /// The resource named in Microsoft's AADSTS50076 text: Exchange Online's app id for Outlook scopes.
    static func resourceName(_ scopes: [String]) -> String {
        if scopes.contains(where: { $0.hasPrefix("https://outlook.office.com/") || $0.hasPrefix("https://outlook.office365.com/") }) {
            return "00000002-0000-0ff1-ce00-000000000000"
        }
        return scopes.first(where: { !oidcScopes.contains($0) }) ?? "00000003-0000-0000-c000-000000000000"
    }
}
