/// Errors raised by SASL mechanisms. Never carries credentials.
public struct SASLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The server sent a challenge the mechanism does not expect at this point.
        case unexpectedChallenge
        /// Input (e.g. a username) cannot be encoded for this mechanism, such as an embedded NUL.
        case invalidInput
    }

    /// The failure category.
    public var kind: Kind
    /// The mechanism name, for diagnostics.
    public var mechanism: String

    /// Creates an error for `mechanism`.
    public init(_ kind: Kind, mechanism: String) {
        self.kind = kind
        self.mechanism = mechanism
    }

    public var description: String {
        switch self.kind {
        case .unexpectedChallenge: "SASL \(self.mechanism): unexpected server challenge"
        case .invalidInput: "SASL \(self.mechanism): credentials cannot be encoded (NUL byte)"
        }
    }
}
