/// The obsolete but widespread `LOGIN` mechanism (draft-murchison-sasl-login).
///
/// The server prompts `Username:` then `Password:`; we answer by prompt order and, when the prompt
/// text is recognisable, by its content, so servers that vary the wording still work.
public struct SASLLogin: SASLMechanism, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The login name.
    public var username: String
    private var password: String
    private var step = 0

    /// Creates a LOGIN mechanism. The password is never printed.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var name: String { "LOGIN" }

    public mutating func initialResponse() -> [UInt8]? { nil }

    public mutating func respond(to challenge: [UInt8]) throws -> [UInt8] {
        let prompt = String(decoding: challenge, as: UTF8.self).lowercased()
        defer { self.step += 1 }
        if prompt.hasPrefix("user") { return Array(self.username.utf8) }
        if prompt.hasPrefix("pass") { return Array(self.password.utf8) }
        switch self.step {
        case 0: return Array(self.username.utf8)
        case 1: return Array(self.password.utf8)
        default: throw SASLError(.unexpectedChallenge, mechanism: self.name)
        }
    }

    public var description: String { "SASLLogin(username: \(self.username), password: <redacted>)" }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["username": self.username, "password": "<redacted>"])
    }
}
