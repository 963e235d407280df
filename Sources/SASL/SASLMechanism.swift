/// A client-side SASL mechanism (RFC 4422), independent of the protocol that carries it.
///
/// Mechanisms work on raw bytes; the carrying protocol (IMAP `AUTHENTICATE`, SMTP `AUTH`)
/// is responsible for base64 framing, SASL-IR and cancellation. Keeping mechanisms this small
/// means new ones (XOAUTH2, OAUTHBEARER) can be added without touching the IMAP client.
///
/// Conforming types hold secrets, so they must redact them from `description`,
/// `debugDescription` and reflection (see ``SASLPlain`` for the pattern).
public protocol SASLMechanism: Sendable {
    /// The IANA mechanism name as sent on the wire, e.g. `PLAIN`.
    var name: String { get }

    /// The client-first message, or `nil` if the mechanism waits for a server challenge.
    ///
    /// An empty array is a legitimate (zero-length) initial response.
    mutating func initialResponse() -> [UInt8]?

    /// Answers one server challenge.
    ///
    /// Throwing makes the protocol layer cancel the exchange (`*` in IMAP).
    mutating func respond(to challenge: [UInt8]) throws -> [UInt8]

    /// What the server said about a failed exchange, for an admin's eyes, once the exchange is over
    /// (e.g. `status 401, schemes bearer, scope mail` from an XOAUTH2 error challenge).
    ///
    /// `nil` when the mechanism learned nothing beyond the protocol's own failure reply. Never
    /// contains a password or token.
    var failureDetail: String? { get }
}

extension SASLMechanism {
    /// Mechanisms without a server error channel (PLAIN, LOGIN) have nothing to add.
    public var failureDetail: String? { nil }
}
