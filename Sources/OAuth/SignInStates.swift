import Foundation

/// What Mailroom remembers between sending the admin to the provider and the provider sending them back.
///
/// Kept server-side only: the browser carries nothing but the random `state`. Codable so a store shared by every
/// node can keep it (sealed: `pkce` and `nonce` are secrets until the sign-in is finished, and never logged).
public struct PendingSignIn: Sendable, Codable {
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

/// Where pending sign-ins are kept: in this process (``InMemorySignIns``), or in the database every node shares, so
/// a callback that reaches another node behind the load balancer still completes.
public protocol PendingSignInStore: Sendable {
    /// Keeps a sign-in until `expiresAt`.
    func remember(_ signIn: PendingSignIn, expiresAt: Date) async throws
    /// Takes a sign-in out, atomically and for good: of several callers with one state at most one gets it.
    /// Nil when the state is unknown, already taken, or expired at `now`.
    func take(state: String, now: Date) async throws -> PendingSignIn?
}

/// Single-use, short-lived sign-in states bound to the admin's session (RFC 6749 §10.12, RFC 9700 §4.7): the rules,
/// whatever keeps the states.
public struct SignInStates: Sendable {
    /// How long an admin may take at the provider's sign-in page.
    public let lifetime: TimeInterval
    let store: any PendingSignInStore

    public init(lifetime: TimeInterval = 600, store: any PendingSignInStore = InMemorySignIns()) {
        self.lifetime = lifetime
        self.store = store
    }

    /// How long past its lifetime a sign-in is still kept, only so a late callback hears «expired», not «unknown».
    static let explanationGrace: TimeInterval = 600

    func remember(_ signIn: PendingSignIn) async throws {
        try await store.remember(signIn, expiresAt: signIn.createdAt.addingTimeInterval(lifetime + Self.explanationGrace))
    }

    /// Takes a state out; it can never be used again, whatever the outcome.
    func take(state: String, session: String, now: Date) async throws -> PendingSignIn {
        let taken: PendingSignIn?
        do {
            taken = try await store.take(state: state, now: now)
        } catch {
            throw OAuthFailure(kind: .transient, detail: "The sign-in could not be looked up: \(error)")
        }
        guard let signIn = taken else {
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
}

/// Pending sign-ins in this process's memory: for a single node and the tests.
public actor InMemorySignIns: PendingSignInStore {
    private var pending: [String: (signIn: PendingSignIn, expiresAt: Date)] = [:]
    /// A bound on memory when sign-ins are started and abandoned.
    private let capacity = 10_000

    public init() {}

    public func remember(_ signIn: PendingSignIn, expiresAt: Date) {
        pending = pending.filter { $0.value.expiresAt > signIn.createdAt }
        if pending.count >= capacity, let oldest = pending.values.min(by: { $0.signIn.createdAt < $1.signIn.createdAt }) {
            pending[oldest.signIn.state] = nil
        }
        pending[signIn.state] = (signIn, expiresAt)
    }

    public func take(state: String, now: Date) -> PendingSignIn? {
        guard let kept = pending.removeValue(forKey: state), kept.expiresAt >= now else { return nil }
        return kept.signIn
    }
}
