/// Google's and Microsoft's `XOAUTH2`: `user=<user>^Aauth=Bearer <token>^A^A` as the initial response.
///
/// On failure the server sends a JSON error challenge; the client must answer it with an empty response
/// before the server sends its final `NO`/`535` (protocols.md §0.4). The decoded challenge is kept in
/// ``serverError`` for the admin's detail.
public struct SASLXOAuth2: SASLMechanism, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The mailbox to open: for a shared mailbox, its address, while the token is the delegate's.
    public var user: String
    private var accessToken: String
    private var sent = false
    /// The server's error challenge, decoded, once it has refused the token.
    public private(set) var serverError: SASLOAuthError?

    public init(user: String, accessToken: String) {
        self.user = user
        self.accessToken = accessToken
    }

    public var name: String { "XOAUTH2" }

    public mutating func initialResponse() -> [UInt8]? {
        sent = true
        return Array("user=\(user)\u{01}auth=Bearer \(accessToken)\u{01}\u{01}".utf8)
    }

    public mutating func respond(to challenge: [UInt8]) throws -> [UInt8] {
        if !sent && challenge.isEmpty, let response = initialResponse() { return response }
        guard sent else { throw SASLError(.unexpectedChallenge, mechanism: name) }
        // An error challenge: remember it and answer empty, so the server can finish with its failure.
        serverError = SASLOAuthError(challenge: challenge) ?? SASLOAuthError(status: nil)
        return []
    }

    /// The decoded error challenge (``SASLOAuthError/summary``), e.g. `status 401, schemes bearer, scope mail`.
    public var failureDetail: String? { serverError.map { $0.summary(redacting: accessToken) } }

    public var description: String { "SASLXOAuth2(user: \(user), token: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["user": user, "accessToken": "<redacted>"]) }
}
