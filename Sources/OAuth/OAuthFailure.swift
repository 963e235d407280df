import Foundation

/// Why an OAuth step failed, in the terms an admin acts on (protocols.md §1.4, §1.6, §2.2, §6).
///
/// Classification uses the `error` field, the AADSTS numbers in `error_codes` and the HTTP status, never the
/// description text; the provider's words are kept as ``detail`` for the admin.
public struct OAuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, Codable {
        /// The grant is dead (expired, revoked, password changed, consent withdrawn, MFA now required):
        /// the mailbox owner must sign in again.
        case reauthorizationRequired
        /// Signing in again won't help: a tenant or provider admin must act (conditional access, disabled user,
        /// admin consent, missing permission).
        case actionNeededAtProvider
        /// The app registration is broken (client secret expired or wrong, app deleted): the operator must fix
        /// Mailroom's configuration; it affects every mailbox of that provider.
        case appRegistration
        /// Mailroom sent a request the provider cannot accept (bad scope, redirect URI): a configuration bug.
        case configuration
        /// Outage, throttling, network: retry with backoff; never a reason to ask anyone to sign in.
        case transient
        /// The sign-in itself was refused or is invalid: bad or reused state, an id_token that does not verify,
        /// the user cancelled. Nothing is stored.
        case signInRejected
    }

    public var kind: Kind
    /// The OAuth `error` field, e.g. `invalid_grant`.
    public var error: String?
    /// Microsoft's AADSTS numbers (`error_codes`).
    public var codes: [Int]
    /// HTTP status of the token endpoint, if it answered.
    public var httpStatus: Int?
    /// How long the provider asked us to wait (`Retry-After`).
    public var retryAfter: Duration?
    /// The provider's description, or Mailroom's own explanation when the failure is local. Never a token.
    public var detail: String?
    /// Microsoft's trace and correlation IDs, which its support asks for.
    public var traceID: String?
    public var correlationID: String?

    public init(
        kind: Kind, error: String? = nil, codes: [Int] = [], httpStatus: Int? = nil, retryAfter: Duration? = nil,
        detail: String? = nil, traceID: String? = nil, correlationID: String? = nil
    ) {
        self.kind = kind
        self.error = error
        self.codes = codes
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
        self.detail = detail
        self.traceID = traceID
        self.correlationID = correlationID
    }

    /// One line for logs and the admin's detail: error, AADSTS code, status and the provider's first line.
    public var description: String {
        var parts: [String] = []
        if let error { parts.append(error) }
        if let code = codes.first { parts.append("AADSTS\(code)") }
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        var text = parts.isEmpty ? kind.rawValue : parts.joined(separator: " ")
        if let detail, let first = detail.split(whereSeparator: \.isNewline).first { text += ": \(first)" }
        return text
    }

    static func signIn(_ detail: String, error: String? = nil) -> OAuthFailure {
        OAuthFailure(kind: .signInRejected, error: error, detail: detail)
    }
}

/// Maps a token-endpoint answer to a ``OAuthFailure/Kind``.
public enum OAuthErrorClassifier {
    /// AADSTS codes that mean "retry later" whatever the `error` field says (protocols.md §1.6).
    static let transientCodes: Set<Int> = [50033, 50087, 70012, 90006, 90033, 90024, 90090, 90055, 50088, 50196, 50000]
    /// AADSTS codes no sign-in can fix: a tenant admin or the provider must act.
    static let providerActionCodes: Set<Int> = [
        90094, 90095, 650052, 650056, 650057, 53003, 530035, 53000, 53001, 53002, 50057, 50053, 50105, 50020, 50034, 51004,
    ]
    /// AADSTS codes of a broken app registration.
    static let appRegistrationCodes: Set<Int> = [7000222, 7000215, 700016, 50011, 500011, 7000112]

    public static func classify(status: Int?, error: String?, codes: [Int]) -> OAuthFailure.Kind {
        if let status, status == 429 || (500...599).contains(status) { return .transient }
        if codes.contains(where: transientCodes.contains) { return .transient }
        if codes.contains(where: appRegistrationCodes.contains) { return .appRegistration }
        if codes.contains(where: providerActionCodes.contains) { return .actionNeededAtProvider }
        switch error {
        case "invalid_grant", "interaction_required", "consent_required", "login_required":
            return .reauthorizationRequired
        case "invalid_client", "unauthorized_client":
            return .appRegistration
        case "admin_policy_enforced", "access_denied":
            return .actionNeededAtProvider
        case "temporarily_unavailable", "server_error":
            return .transient
        case "invalid_request", "invalid_scope", "unsupported_grant_type", "invalid_resource", "unsupported_response_type":
            return .configuration
        default:
            // An answer without a recognisable error: a proxy page, an outage.
            return status.map { (400...499).contains($0) } == true ? .configuration : .transient
        }
    }
}
