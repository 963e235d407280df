import Foundation
import MIME

/// A successful token-endpoint answer (RFC 6749 §5.1; Microsoft and Google add `id_token`).
public struct TokenResponse: Sendable, Decodable {
    public var accessToken: String
    public var tokenType: String
    public var expiresIn: Int?
    public var refreshToken: String?
    public var idToken: String?
    public var scope: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", tokenType = "token_type", expiresIn = "expires_in"
        case refreshToken = "refresh_token", idToken = "id_token", scope
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.decode(String.self, forKey: .accessToken)
        tokenType = try container.decodeIfPresent(String.self, forKey: .tokenType) ?? "Bearer"
        // Some providers send expires_in as a string.
        if let number = try? container.decodeIfPresent(Int.self, forKey: .expiresIn) {
            expiresIn = number
        } else {
            expiresIn = (try? container.decodeIfPresent(String.self, forKey: .expiresIn)).flatMap { $0.flatMap { Int($0) } }
        }
        refreshToken = try container.decodeIfPresent(String.self, forKey: .refreshToken)
        idToken = try container.decodeIfPresent(String.self, forKey: .idToken)
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
    }
}

/// The error body of a token endpoint: RFC 6749 §5.2 plus Microsoft's fields (protocols.md §1.4).
struct TokenErrorBody: Decodable {
    var error: String?
    var errorDescription: String?
    var errorCodes: [Int]?
    var traceID: String?
    var correlationID: String?

    enum CodingKeys: String, CodingKey {
        case error, errorDescription = "error_description", errorCodes = "error_codes"
        case traceID = "trace_id", correlationID = "correlation_id"
    }
}

/// Calls a provider's token endpoint as a confidential client.
struct TokenEndpoint: Sendable {
    var profile: ProviderProfile
    var http: OAuthHTTP

    func exchange(code: String, verifier: String, redirectURI: String) async throws -> TokenResponse {
        try await post([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("code_verifier", verifier), ("client_id", profile.clientID), ("client_secret", profile.clientSecret),
        ])
    }

    func refresh(refreshToken: String, scopes: [String]) async throws -> TokenResponse {
        var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", profile.clientID), ("client_secret", profile.clientSecret)]
        if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
        return try await post(form)
    }

    private func post(_ form: [(String, String)]) async throws -> TokenResponse {
        let response = try await http.send(.POST, profile.tokenEndpoint, form: form)
        if (200...299).contains(response.status), let tokens = try? JSONDecoder().decode(TokenResponse.self, from: response.body) {
            guard tokens.tokenType.caseInsensitiveCompare("bearer") == .orderedSame else {
                throw OAuthFailure(kind: .configuration, httpStatus: response.status, detail: "The identity provider issued a «\(tokens.tokenType)» token; only Bearer tokens work for mail.")
            }
            return tokens
        }
        throw Self.failure(response)
    }

    static func failure(_ response: OAuthHTTP.Response) -> OAuthFailure {
        let body = try? JSONDecoder().decode(TokenErrorBody.self, from: response.body)
        let codes = body?.errorCodes ?? []
        let kind: OAuthFailure.Kind = (200...299).contains(response.status)
            ? .transient  // a 2xx without usable tokens: a broken proxy or a provider hiccup
            : OAuthErrorClassifier.classify(status: response.status, error: body?.error, codes: codes)
        return OAuthFailure(
            kind: kind, error: body?.error, codes: codes, httpStatus: response.status,
            retryAfter: response.header("Retry-After").flatMap(parseRetryAfter),
            detail: body?.errorDescription ?? (body == nil ? "The identity provider answered HTTP \(response.status) without an OAuth error." : nil),
            traceID: body?.traceID, correlationID: body?.correlationID)
    }

    /// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3: IMF-fixdate, or the obsolete RFC 850 and asctime
    /// forms), capped at an hour. The date is read by the mail parser's own date reader: Foundation's
    /// `DateFormatter` traps on some non-ASCII header bytes (found by the OAuth fuzz target), and a header is the
    /// provider's to write.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(min(seconds, 3600)) }
        guard let date = DateParser.parse(trimmed) else { return nil }
        return .seconds(max(0, min(3600, Int(date.timeIntervalSinceNow.rounded(.up)))))
    }
}
