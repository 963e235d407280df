import Foundation

/// What a server says when it refuses an OAuth token during XOAUTH2 or OAUTHBEARER: the base64 JSON
/// challenge of RFC 7628 §3.2.2 (Gmail and Dovecot send the same shape for XOAUTH2).
///
/// The fields are provider words kept for the admin's detail; classification must use the protocol's own
/// status (the tagged `NO` code or SMTP reply) rather than this text.
public struct SASLOAuthError: Sendable, Equatable, Codable {
    /// HTTP-like status, e.g. `"400"`, `"401"` or `"invalid_token"`.
    public var status: String?
    /// The scope the server wanted, if it said.
    public var scope: String?
    /// The OpenID configuration URL the server points at, if any.
    public var openidConfiguration: String?
    /// Token schemes the server accepts.
    public var schemes: String?

    enum CodingKeys: String, CodingKey {
        case status, scope, schemes
        case openidConfiguration = "openid-configuration"
    }

    public init(status: String?, scope: String? = nil, openidConfiguration: String? = nil, schemes: String? = nil) {
        self.status = status
        self.scope = scope
        self.openidConfiguration = openidConfiguration
        self.schemes = schemes
    }

    /// Reads an error challenge (already base64-decoded). `nil` when it is not JSON of that shape.
    public init?(challenge: [UInt8]) {
        guard !challenge.isEmpty, let decoded = try? JSONDecoder().decode(Self.self, from: Data(challenge)) else { return nil }
        guard decoded.status != nil || decoded.scope != nil || decoded.schemes != nil else { return nil }
        self = decoded
    }

    /// A one-line summary such as `status 401, schemes bearer, scope mail` (fields in that order,
    /// absent ones left out); `server refused the token` when the challenge said nothing usable.
    public var summary: String {
        var parts: [String] = []
        if let status { parts.append("status \(status)") }
        if let schemes { parts.append("schemes \(schemes)") }
        if let scope { parts.append("scope \(scope)") }
        if let openidConfiguration { parts.append("openid-configuration \(openidConfiguration)") }
        return parts.isEmpty ? "server refused the token" : parts.joined(separator: ", ")
    }

    /// ``summary`` with `secret` cut out, should a server ever echo the token back.
    func summary(redacting secret: String) -> String {
        let text = summary
        guard !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "<redacted>")
    }
}
