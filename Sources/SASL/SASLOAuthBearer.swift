/// `OAUTHBEARER` (RFC 7628): a GS2 header naming the user, then `host`, `port` and `auth` key-values.
///
/// On failure the server sends a JSON error challenge (§3.2.2); the client answers with a single %x01
/// (§3.2.3) and then gets the final failure. The decoded challenge is kept in ``serverError``.
public struct SASLOAuthBearer: SASLMechanism, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var user: String
    public var host: String?
    public var port: Int?
    private var accessToken: String
    private var sent = false
    public private(set) var serverError: SASLOAuthError?

    public init(user: String, accessToken: String, host: String? = nil, port: Int? = nil) {
        self.user = user
        self.accessToken = accessToken
        self.host = host
        self.port = port
    }

    public var name: String { "OAUTHBEARER" }

    public mutating func initialResponse() -> [UInt8]? {
        sent = true
        // RFC 5801 saslname: "," and "=" in the authzid are escaped as =2C and =3D.
        let authzid = user.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
        var message = "n,a=\(authzid),\u{01}"
        if let host { message += "host=\(host)\u{01}" }
        if let port { message += "port=\(port)\u{01}" }
        message += "auth=Bearer \(accessToken)\u{01}\u{01}"
        return Array(message.utf8)
    }

    public mutating func respond(to challenge: [UInt8]) throws -> [UInt8] {
        if !sent && challenge.isEmpty, let response = initialResponse() { return response }
        guard sent else { throw SASLError(.unexpectedChallenge, mechanism: name) }
        serverError = SASLOAuthError(challenge: challenge) ?? SASLOAuthError(status: nil)
        return [0x01]
    }

    /// The decoded error challenge (``SASLOAuthError/summary``), e.g. `status 401, schemes bearer, scope mail`.
    public var failureDetail: String? { serverError.map { $0.summary(redacting: accessToken) } }

    public var description: String { "SASLOAuthBearer(user: \(user), token: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["user": user, "accessToken": "<redacted>"]) }
}
