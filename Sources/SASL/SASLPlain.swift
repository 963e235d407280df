/// SASL `PLAIN` (RFC 4616): `[authzid] NUL authcid NUL passwd` as the initial response.
///
/// The password is only ever exposed through ``initialResponse()``; `description`,
/// `debugDescription` and `Mirror` redact it so logs and `dump` stay clean.
public struct SASLPlain: SASLMechanism, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Authorization identity (act-as user); `nil` means "same as authcid".
    public var authorizationIdentity: String?
    /// Authentication identity (the login name).
    public var authenticationIdentity: String
    private var password: String
    private var sent = false

    /// Creates a PLAIN mechanism.
    /// - Parameters:
    ///   - authorizationIdentity: Optional identity to act as (shared mailboxes); usually `nil`.
    ///   - authenticationIdentity: The user name.
    ///   - password: The secret; never printed.
    public init(authorizationIdentity: String? = nil, authenticationIdentity: String, password: String) {
        self.authorizationIdentity = authorizationIdentity
        self.authenticationIdentity = authenticationIdentity
        self.password = password
    }

    public var name: String { "PLAIN" }

    public mutating func initialResponse() -> [UInt8]? {
        self.sent = true
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.authenticationIdentity.utf8.count + self.password.utf8.count + 2)
        if let authz = self.authorizationIdentity { bytes.append(contentsOf: authz.utf8) }
        bytes.append(0)
        bytes.append(contentsOf: self.authenticationIdentity.utf8)
        bytes.append(0)
        bytes.append(contentsOf: self.password.utf8)
        return bytes
    }

    public mutating func respond(to challenge: [UInt8]) throws -> [UInt8] {
        // A server that did not accept SASL-IR sends an empty challenge: answer with the initial response once.
        if !self.sent && challenge.isEmpty, let response = self.initialResponse() { return response }
        throw SASLError(.unexpectedChallenge, mechanism: self.name)
    }

    public var description: String {
        "SASLPlain(authcid: \(self.authenticationIdentity), authzid: \(self.authorizationIdentity ?? "-"), password: <redacted>)"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["authenticationIdentity": self.authenticationIdentity, "password": "<redacted>"])
    }
}
