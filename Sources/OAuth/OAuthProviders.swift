import Foundation
import Logging

/// How one provider is configured by the operator; discovery-based providers are resolved on first use, so a
/// provider that is unreachable at startup does not stop Mailroom.
public enum ProviderSource: Sendable {
    case profile(ProviderProfile)
    /// `scopes` nil: the provider kind's defaults.
    case discovery(URL, kind: IdentityProviderKind, clientID: String, clientSecret: String, scopes: [String]? = nil)
}

/// The OAuth apps this Mailroom is registered as, one per provider, shared by sign-in and token renewal so they
/// verify id_tokens with one key cache.
public actor OAuthProviders {
    private let sources: [IdentityProviderKind: ProviderSource]
    private var resolved: [IdentityProviderKind: OAuthClient] = [:]
    private let http: OAuthHTTP
    private let verifier: IDTokenVerifier
    public nonisolated let states: SignInStates
    private let logger: Logger

    public init(
        _ sources: [IdentityProviderKind: ProviderSource], http: OAuthHTTP = OAuthHTTP(), states: SignInStates = SignInStates(),
        logger: Logger = Logger(label: "mailroom.oauth")
    ) {
        self.sources = sources
        self.http = http
        self.verifier = IDTokenVerifier(http: http)
        self.states = states
        self.logger = logger
    }

    /// Which providers the operator configured.
    public nonisolated var configured: Set<IdentityProviderKind> { Set(sources.keys) }

    /// The client for a provider. Throws ``OAuthFailure`` (`configuration` when not configured, `transient` when
    /// its discovery document cannot be fetched right now).
    public func client(for kind: IdentityProviderKind) async throws -> OAuthClient {
        if let client = resolved[kind] { return client }
        guard let source = sources[kind] else {
            throw OAuthFailure(kind: .configuration, detail: "No OAuth app is configured for \(kind.rawValue); the operator must set its client ID and secret.")
        }
        let profile: ProviderProfile
        switch source {
        case .profile(let given):
            profile = given
        case .discovery(let url, let kind, let clientID, let clientSecret, let scopes):
            let document = try await OAuthClient.discover(url, http: http)
            profile = .fromDiscovery(document, kind: kind, clientID: clientID, clientSecret: clientSecret, scopes: scopes)
        }
        let client = OAuthClient(profile: profile, http: http, verifier: verifier, states: states, logger: logger)
        resolved[kind] = client
        return client
    }

    /// Finishes a sign-in started by any configured provider: the state says which one.
    public func finishSignIn(callback query: [String: String], session: String, now: Date = Date()) async throws -> CompletedSignIn {
        guard let state = query["state"], !state.isEmpty else {
            throw OAuthFailure.signIn("The identity provider sent the browser back without the sign-in state. Start the sign-in again.", error: "invalid_state")
        }
        let signIn = try await states.take(state: state, session: session, now: now)
        return try await client(for: signIn.provider).complete(signIn, callback: query, now: now)
    }
}
