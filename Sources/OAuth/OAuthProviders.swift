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
    /// A configured provider as the admin sees it.
    public struct Entry: Sendable {
        public var key: ProviderKey
        /// What «Sign in with …» says, e.g. «Keycloak».
        public var name: String
        public var source: ProviderSource

        public init(key: ProviderKey, name: String, source: ProviderSource) {
            self.key = key
            self.name = name
            self.source = source
        }
    }

    private let entries: [ProviderKey: Entry]
    /// Generic OpenID Connect providers in configuration order, for the «Other» sign-in buttons.
    public nonisolated let generic: [(key: ProviderKey, name: String)]
    private var resolved: [ProviderKey: OAuthClient] = [:]
    private let http: OAuthHTTP
    private let verifier: IDTokenVerifier
    public nonisolated let states: SignInStates
    private let logger: Logger

    /// One provider of each kind (the tests' and the emulator's shape).
    public init(
        _ sources: [IdentityProviderKind: ProviderSource], http: OAuthHTTP = OAuthHTTP(), states: SignInStates = SignInStates(),
        logger: Logger = Logger(label: "mailroom.oauth")
    ) {
        let entries = IdentityProviderKind.allCases.compactMap { kind in
            sources[kind].map { Entry(key: ProviderKey(kind), name: kind == .openIDConnect ? "OpenID Connect" : kind == .google ? "Google" : "Microsoft", source: $0) }
        }
        self.init(entries: entries, http: http, states: states, logger: logger)
    }

    public init(entries: [Entry], http: OAuthHTTP = OAuthHTTP(), states: SignInStates = SignInStates(), logger: Logger = Logger(label: "mailroom.oauth")) {
        var byKey: [ProviderKey: Entry] = [:]
        for entry in entries where byKey[entry.key] == nil { byKey[entry.key] = entry }
        self.entries = byKey
        var seen = Set<ProviderKey>()
        self.generic = entries.filter { $0.key.kind == .openIDConnect && seen.insert($0.key).inserted }.map { ($0.key, $0.name) }
        self.http = http
        self.verifier = IDTokenVerifier(http: http)
        self.states = states
        self.logger = logger
    }

    /// Which kinds of provider the operator configured.
    public nonisolated var configured: Set<IdentityProviderKind> { Set(entries.keys.map(\.kind)) }

    public nonisolated func isConfigured(_ key: ProviderKey) -> Bool { entries[key] != nil }

    /// The name «Sign in with …» uses for a provider; nil when it is not configured.
    public nonisolated func name(of key: ProviderKey) -> String? { entries[key]?.name }

    /// The client for the provider of a kind (for a generic one, the first configured).
    public func client(for kind: IdentityProviderKind) async throws -> OAuthClient {
        try await client(key: kind == .openIDConnect && entries[.openIDConnect] == nil ? (generic.first?.key ?? .openIDConnect) : ProviderKey(kind))
    }

    /// The client for a provider. Throws ``OAuthFailure`` (`configuration` when not configured, `transient` when
    /// its discovery document cannot be fetched right now).
    public func client(key: ProviderKey) async throws -> OAuthClient {
        if let client = resolved[key] { return client }
        guard let source = entries[key]?.source else {
            throw OAuthFailure(kind: .configuration, detail: "No OAuth app is configured for \(key); the operator must set its client ID and secret.")
        }
        var profile: ProviderProfile
        switch source {
        case .profile(let given):
            profile = given
        case .discovery(let url, let kind, let clientID, let clientSecret, let scopes):
            let document = try await OAuthClient.discover(url, http: http)
            profile = .fromDiscovery(document, kind: kind, clientID: clientID, clientSecret: clientSecret, scopes: scopes)
        }
        profile.key = key
        let client = OAuthClient(profile: profile, http: http, verifier: verifier, states: states, logger: logger)
        resolved[key] = client
        return client
    }

    /// Finishes a sign-in started by any configured provider: the state says which one.
    public func finishSignIn(callback query: [String: String], session: String, now: Date = Date()) async throws -> CompletedSignIn {
        guard let state = query["state"], !state.isEmpty else {
            throw OAuthFailure.signIn("The identity provider sent the browser back without the sign-in state. Start the sign-in again.", error: "invalid_state")
        }
        let signIn = try await states.take(state: state, session: session, now: now)
        return try await client(key: signIn.provider).complete(signIn, callback: query, now: now)
    }
}
