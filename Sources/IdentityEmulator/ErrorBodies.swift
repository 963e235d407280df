import Foundation

/// A token-endpoint error rendered for one provider.
struct RenderedTokenError: Sendable {
    let status: Int
    let error: String
    let code: Int?
    let body: JSONValue
    let retryAfter: Int?
}

/// Provider-shaped error bodies.
///
/// Microsoft (ENTRA-v2-oauth2-auth-code-flow, ENTRA-reference-error-codes): `error`, `error_description`
/// ("AADSTSnnnn: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"), `error_codes`, `timestamp`,
/// `trace_id`, `correlation_id`, `error_uri`, optional `suberror`. Google: just `error` and
/// `error_description`. Mailroom must classify by `error`, never by the text, so the texts here follow
/// the providers' wording but tests should not depend on more than the documented fields.
enum ErrorBodies {
    private struct Description {
        let status: Int
        let error: String
        let code: Int?
        let text: String
        var suberror: String?
        var retryAfter: Int?
    }

    /// The OAuth `error` value and AADSTS code (for the audit list).
    static func describe(_ error: TokenError, provider: EmulatorProviderKind) -> (error: String, code: Int?) {
        switch provider {
        case .microsoft:
            let description = microsoftDescription(error, tenant: "common")
            return (description.error, description.code)
        case .google:
            let description = googleDescription(error)
            return (description.error, nil)
        }
    }

    static func render(_ error: TokenError, provider: EmulatorProviderKind, tenant: String?, now: Date) -> RenderedTokenError {
        switch provider {
        case .microsoft:
            let d = microsoftDescription(error, tenant: tenant ?? "common")
            let body = microsoftBody(error: d.error, code: d.code ?? 0, text: d.text, suberror: d.suberror, now: now)
            return RenderedTokenError(status: d.status, error: d.error, code: d.code, body: body, retryAfter: d.retryAfter)
        case .google:
            let d = googleDescription(error)
            var members: [(String, JSONValue)] = [("error", .string(d.error)), ("error_description", .string(d.text))]
            if case .mfaRequired = error {
                members.append(("error_uri", .string("https://support.google.com/a/answer/9368756")))
                members.append(("error_subtype", .string("invalid_rapt")))
            }
            return RenderedTokenError(status: d.status, error: d.error, code: nil, body: .object(members), retryAfter: d.retryAfter)
        }
    }

    /// Microsoft's error JSON for `AADSTS<code>: <text>`.
    static func microsoftBody(error: String, code: Int, text: String, suberror: String?, now: Date) -> JSONValue {
        let traceID = RandomToken.guid()
        let correlationID = RandomToken.guid()
        let timestamp = microsoftTimestamp(now)
        let description = "AADSTS\(code): \(text)\r\nTrace ID: \(traceID)\r\nCorrelation ID: \(correlationID)\r\nTimestamp: \(timestamp)"
        return jsonObject([
            ("error", .string(error)),
            ("error_description", .string(description)),
            ("error_codes", .array([.int(code)])),
            ("timestamp", .string(timestamp)),
            ("trace_id", .string(traceID)),
            ("correlation_id", .string(correlationID)),
            ("error_uri", .string("https://login.microsoftonline.com/error?code=\(code)")),
            ("suberror", suberror.map { .string($0) }),
        ])
    }

    /// `yyyy-MM-dd HH:mm:ssZ` in UTC, as in Microsoft's bodies.
    static func microsoftTimestamp(_ date: Date) -> String {
        let c = utcComponents(date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02dZ", c.year, c.month, c.day, c.hour, c.minute, c.second)
    }

    /// `yyyy-MM-ddTHH:mm:ss.0000000Z`, the format inside AADSTS50173/700082 texts.
    static func microsoftLongDate(_ date: Date) -> String {
        let c = utcComponents(date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.0000000Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
    }

    private static func utcComponents(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return (c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    private static func microsoftDescription(_ error: TokenError, tenant: String) -> Description {
        switch error {
        case .outageUnavailable:
            return Description(
                status: 503, error: "temporarily_unavailable", code: 90033,
                text: "A transient error has occurred. Please try again.")
        case .throttled(let retryAfter):
            return Description(
                status: 429, error: "temporarily_unavailable", code: 90055,
                text: "There are too many incoming requests. Please try again later.", retryAfter: retryAfter)
        case .missingParameter(let name):
            return Description(
                status: 400, error: "invalid_request", code: 900144,
                text: "The request body must contain the following parameter: '\(name)'.")
        case .tenantNotFound(let segment):
            return Description(
                status: 400, error: "invalid_request", code: 90002,
                text: "Tenant '\(segment)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.")
        case .unknownClient(let id):
            return Description(
                status: 400, error: "unauthorized_client", code: 700016,
                text: "Application with identifier '\(id)' was not found in the directory '\(tenant)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
        case .missingSecret:
            return Description(
                status: 401, error: "invalid_client", code: 7000218,
                text: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        case .invalidSecret(let id):
            return Description(
                status: 401, error: "invalid_client", code: 7000215,
                text: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(id)'.")
        case .secretExpired(let id):
            return Description(
                status: 401, error: "invalid_client", code: 7000222,
                text: "The provided client secret keys for app '\(id)' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.")
        case .unsupportedGrant(let grant):
            return Description(
                status: 400, error: "unsupported_grant_type", code: 70003,
                text: "The app requested an unsupported grant type '\(grant)'.")
        case .codeUnknown, .refreshUnknown:
            return Description(
                status: 400, error: "invalid_grant", code: 9002313, text: "Invalid request. Request is malformed or invalid.")
        case .codeRedeemed:
            return Description(
                status: 400, error: "invalid_grant", code: 54005,
                text: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
        case .codeExpired:
            return Description(
                status: 400, error: "invalid_grant", code: 70008,
                text: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
        case .codeClientMismatch:
            return Description(
                status: 400, error: "invalid_grant", code: 70000,
                text: "The provided value for the 'code' parameter is not valid. The code was issued to a different client.")
        case .codeWrongTenant:
            return Description(
                status: 400, error: "invalid_grant", code: 700005,
                text: "Provided Authorization Code is intended to use against other tenant, thus rejected.")
        case .redirectMismatch(let uri, let clientID):
            return Description(
                status: 400, error: "invalid_grant", code: 50011,
                text: "The redirect URI '\(uri)' specified in the request does not match the redirect URIs configured for the application '\(clientID)'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.")
        case .pkceMissing, .pkceMismatch:
            return Description(
                status: 400, error: "invalid_grant", code: 501481,
                text: "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
        case .refreshClientMismatch, .refreshRotated:
            return Description(
                status: 400, error: "invalid_grant", code: 70000, text: "The provided grant is invalid or malformed.")
        case .refreshRevoked(let issued, let validFrom):
            return Description(
                status: 400, error: "invalid_grant", code: 50173,
                text: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '\(microsoftLongDate(issued))' and the TokensValidFrom date (before which tokens are not valid) for this user is '\(microsoftLongDate(validFrom))'.")
        case .refreshInactive(let issued):
            return Description(
                status: 400, error: "invalid_grant", code: 700082,
                text: "The refresh token has expired due to inactivity. The token was issued on \(microsoftLongDate(issued)) and was inactive for 90.00:00:00.")
        case .consentRevoked(let clientID, let clientName):
            return Description(
                status: 400, error: "invalid_grant", code: 65001,
                text: "The user or administrator has not consented to use the application with ID '\(clientID)' named '\(clientName)'. Send an interactive authorization request for this user and resource.",
                suberror: "consent_required")
        case .mfaRequired(let resource):
            return Description(
                status: 400, error: "interaction_required", code: 50076,
                text: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '\(resource)'.")
        case .invalidScope(let scope):
            return Description(
                status: 400, error: "invalid_scope", code: 70011,
                text: "The provided value for the input parameter 'scope' isn't valid. The scope '\(scope)' does not match the scopes of the original grant.")
        case .serverError:
            return Description(
                status: 500, error: "server_error", code: 50000,
                text: "There was an error issuing a token or an issue with our sign-in service.")
        }
    }

    private static func googleDescription(_ error: TokenError) -> Description {
        switch error {
        case .outageUnavailable:
            return Description(status: 503, error: "temporarily_unavailable", code: nil, text: "The service is currently unavailable.")
        case .throttled(let retryAfter):
            return Description(status: 429, error: "rate_limit_exceeded", code: nil, text: "Rate Limit Exceeded", retryAfter: retryAfter)
        case .missingParameter("client_id"):
            return Description(status: 400, error: "invalid_request", code: nil, text: "Could not determine client ID from request.")
        case .missingParameter(let name):
            return Description(status: 400, error: "invalid_request", code: nil, text: "Missing required parameter: \(name)")
        case .tenantNotFound:
            return Description(status: 400, error: "invalid_request", code: nil, text: "Bad Request")
        case .unknownClient:
            return Description(status: 401, error: "invalid_client", code: nil, text: "The OAuth client was not found.")
        case .missingSecret:
            return Description(status: 400, error: "invalid_request", code: nil, text: "client_secret is missing.")
        case .invalidSecret, .secretExpired:
            return Description(status: 401, error: "invalid_client", code: nil, text: "Unauthorized")
        case .unsupportedGrant(let grant):
            return Description(status: 400, error: "unsupported_grant_type", code: nil, text: "Invalid grant_type: \(grant)")
        case .codeUnknown:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "Malformed auth code.")
        case .codeRedeemed, .codeExpired, .codeClientMismatch, .codeWrongTenant, .refreshUnknown, .refreshClientMismatch:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "Bad Request")
        case .redirectMismatch:
            return Description(status: 400, error: "redirect_uri_mismatch", code: nil, text: "Bad Request")
        case .pkceMissing:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "Missing code verifier.")
        case .pkceMismatch:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "Invalid code verifier.")
        case .refreshRotated, .refreshRevoked, .refreshInactive, .consentRevoked:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "Token has been expired or revoked.")
        case .mfaRequired:
            return Description(status: 400, error: "invalid_grant", code: nil, text: "reauth related error (invalid_rapt)")
        case .invalidScope:
            return Description(status: 400, error: "invalid_scope", code: nil, text: "Some requested scopes were invalid.")
        case .serverError:
            return Description(status: 500, error: "internal_failure", code: nil, text: "Backend Error")
        }
    }
}
