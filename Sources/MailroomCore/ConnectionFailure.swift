/// A failure to reach or use a mail server, stated in protocol terms but free of any client library's types.
///
/// The Engine translates IMAP (later SMTP and OAuth) errors into this shape; ``Diagnosis`` turns it into a
/// health state. Keeping the two apart lets Diagnosis be tested without a network.
public struct ConnectionFailure: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// DNS, refused or reset connections, the server hanging up.
        case network
        case timeout
        /// The certificate check failed or the two sides share no TLS (a handshake that was merely cut short is
        /// `network`).
        case tls(TLSProblem)
        /// The server refused the credentials. `code` is the RFC 5530 response code, if any (e.g. AUTHENTICATIONFAILED).
        case authenticationRejected(code: ServerResponseCode?)
        /// The server does not allow this login method (LOGINDISABLED, PRIVACYREQUIRED).
        case loginNotAllowed(code: ServerResponseCode?)
        /// A subsystem is down (`[UNAVAILABLE]`).
        case serverUnavailable
        /// The folder could not be opened.
        case folderUnavailable(code: ServerResponseCode?)
        /// A command failed for another reason.
        case commandFailed(code: ServerResponseCode?)
        /// The server said something the client could not understand.
        case protocolError
        /// Mailroom cannot read its own stored credential (the secret key changed, or none is stored).
        case credentialUnreadable
        /// The identity provider refused to renew the access token; `problem` says who must act.
        case tokenRefused(TokenProblem)
        /// The mail server refused an access token the provider issued moments ago: the grant is fine, so the
        /// protocol is disabled or the account lacks permission on the mailbox (protocols.md §1.10, §6).
        case freshTokenRejected(code: ServerResponseCode?)
    }

    /// Who can fix a refused token renewal (mirrors the OAuth module's taxonomy without depending on it).
    public enum TokenProblem: String, Sendable, Equatable {
        /// The grant is dead: the mailbox owner signs in again.
        case reauthorization
        /// A tenant or provider admin must act; signing in again won't help.
        case providerAction
        /// Mailroom's app registration (client secret, app ID) is broken: the operator must fix the configuration.
        case appRegistration
        /// Mailroom's OAuth settings are wrong (scopes, redirect URI, no app configured for this provider).
        case configuration
        /// Outage, throttling or network: retried automatically.
        case transient
    }

    public var kind: Kind
    /// The server's own text (never contains our secrets: commands are named, never quoted).
    public var serverText: String?
    /// Which step failed, e.g. "connect", "LOGIN", "SELECT".
    public var step: String?
    /// How long the server or provider asked to be left alone (`Retry-After`); no attempt comes sooner.
    public var retryAfter: Duration?

    public init(kind: Kind, serverText: String? = nil, step: String? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.serverText = serverText
        self.step = step
        self.retryAfter = retryAfter
    }
}

extension ConnectionFailure {
    /// An outage behind the server (`[UNAVAILABLE]`, RFC 5530): whatever command met it, never a reason to sign in
    /// again, and a refused token with it is not a refused token.
    public var isOutage: Bool {
        switch kind {
        case .serverUnavailable: true
        case .authenticationRejected(let code), .loginNotAllowed(let code), .folderUnavailable(let code), .commandFailed(let code),
             .freshTokenRejected(let code):
            code == .unavailable
        default: false
        }
    }
}

/// The response codes (RFC 5530, RFC 9051 §7.1) Diagnosis reads, typed so that a branch on a code cannot be
/// misspelt; the IMAP module's codes are restated into these by the Engine.
public enum ServerResponseCode: Sendable, Hashable, CustomStringConvertible {
    case unavailable
    case authenticationFailed
    case authorizationFailed
    case expired
    case privacyRequired
    case contactAdmin
    case loginDisabled
    case noPerm
    case inUse
    case limit
    case overQuota
    case nonExistent
    case serverBug
    case cannot
    /// Any other code, by its name as the server sent it.
    case other(String)

    /// The code as it appears on the wire, e.g. `UNAVAILABLE`.
    public var description: String {
        switch self {
        case .unavailable: "UNAVAILABLE"
        case .authenticationFailed: "AUTHENTICATIONFAILED"
        case .authorizationFailed: "AUTHORIZATIONFAILED"
        case .expired: "EXPIRED"
        case .privacyRequired: "PRIVACYREQUIRED"
        case .contactAdmin: "CONTACTADMIN"
        case .loginDisabled: "LOGINDISABLED"
        case .noPerm: "NOPERM"
        case .inUse: "INUSE"
        case .limit: "LIMIT"
        case .overQuota: "OVERQUOTA"
        case .nonExistent: "NONEXISTENT"
        case .serverBug: "SERVERBUG"
        case .cannot: "CANNOT"
        case .other(let name): name.uppercased()
        }
    }
}

/// Why a TLS connection could not be made, for a cause that says exactly what to fix.
public enum TLSProblem: String, Sendable, Equatable {
    /// The chain does not lead to a trusted authority (self-signed, private CA, expired, revoked).
    case untrustedCertificate
    /// The certificate is for other names than the one Mailroom connects to.
    case wrongName
    /// No TLS version or cipher in common, or the port does not speak TLS from the first byte.
    case noCommonProtocol
    case other
}
