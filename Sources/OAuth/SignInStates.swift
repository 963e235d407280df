import Foundation

/// What Mailroom remembers between sending the admin to the provider and the provider sending them back.
///
/// Kept server-side only: the browser carries nothing but the random `state`.
public struct PendingSignIn: Sendable {
    public let state: String
    let pkce: PKCE
    let nonce: String
    public let redirectURI: String
    /// The admin session that started the sign-in; a callback in any other session is refused.
    public let session: String
    /// Which provider the browser was sent to; the callback is finished with that provider's app.
    public let provider: ProviderKey
    public let createdAt: Date
    /// Caller-defined: which mailbox or setup step the sign-in is for.
    public let context: String
}

/// Single-use, short-lived sign-in states bound to the admin's session (RFC 6749 §10.12, RFC 9700 §4.7).
public actor SignInStates {
    private var pending: [String: PendingSignIn] = [:]
    /// How long an admin may take at the provider's sign-in page.
    public let lifetime: TimeInterval
    /// A bound on memory when sign-ins are started and abandoned.
    private let capacity = 10_000

    public init(lifetime: TimeInterval = 600) { self.lifetime = lifetime }

    func remember(_ signIn: PendingSignIn) {
        prune(now: signIn.createdAt)
        if pending.count >= capacity, let oldest = pending.values.min(by: { $0.createdAt < $1.createdAt }) {
            pending[oldest.state] = nil
        }
        pending[signIn.state] = signIn
    }

    /// Takes a state out; it can never be used again, whatever the outcome.
    func take(state: String, session: String, now: Date) throws -> PendingSignIn {
        guard let signIn = pending.removeValue(forKey: state) else {
            throw OAuthFailure.signIn("This sign-in link is unknown or was already used. Start the sign-in again.", error: "invalid_state")
        }
        guard now.timeIntervalSince(signIn.createdAt) <= lifetime else {
            throw OAuthFailure.signIn("The sign-in took longer than \(Int(lifetime / 60)) minutes and expired. Start the sign-in again.", error: "invalid_state")
        }
        guard signIn.session == session else {
            throw OAuthFailure.signIn("This sign-in was started in another browser session. Start the sign-in again here.", error: "invalid_state")
        }
        return signIn
    }

    private func prune(now: Date) {
        pending = pending.filter { now.timeIntervalSince($0.value.createdAt) <= lifetime }
    }
}
