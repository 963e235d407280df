import Foundation
import Logging

/// Sign-in and token refresh against one provider profile: the OAuth2 authorization-code flow with PKCE S256,
/// state and nonce; code exchange; id_token verification; refresh with rotation.
public struct OAuthClient: Sendable {
    public let profile: ProviderProfile
    let http: OAuthHTTP
    let verifier: IDTokenVerifier
    let states: SignInStates
    let logger: Logger

    public init(profile: ProviderProfile, http: OAuthHTTP = OAuthHTTP(), verifier: IDTokenVerifier? = nil, states: SignInStates = SignInStates(), logger: Logger = Logger(label: "mailroom.oauth")) {
        self.profile = profile
        self.http = http
        self.verifier = verifier ?? IDTokenVerifier(http: http)
        self.states = states
        self.logger = logger
    }

    /// Fetches a discovery document (`…/.well-known/openid-configuration`).
    public static func discover(_ url: URL, http: OAuthHTTP = OAuthHTTP()) async throws -> DiscoveryDocument {
        let response = try await http.send(.GET, url)
        guard response.status == 200, let document = try? JSONDecoder().decode(DiscoveryDocument.self, from: response.body) else {
            throw OAuthFailure(kind: response.status >= 500 ? .transient : .configuration, httpStatus: response.status,
                               detail: "No usable OpenID Connect discovery document at \(url.absoluteString).")
        }
        if let problem = document.problem(fetchedFrom: url) {
            throw OAuthFailure(kind: .configuration, httpStatus: response.status,
                               detail: "The OpenID Connect discovery document at \(url.absoluteString) is not usable. \(problem)")
        }
        return document
    }

    /// Starts a sign-in: remembers state, PKCE verifier and nonce, and returns the URL to send the browser to.
    ///
    /// - Parameters:
    ///   - session: the admin's session ID; only that session may finish the sign-in.
    ///   - loginHint: the expected account, pre-filled at the provider (reauthorization).
    ///   - context: returned with the result, e.g. which mailbox the sign-in is for.
    /// - Throws: ``OAuthFailure`` (`transient`) when the sign-in cannot be kept (the shared store is unreachable).
    public func startSignIn(redirectURI: String, session: String, loginHint: String? = nil, context: String = "", now: Date = Date()) async throws -> URL {
        let signIn = PendingSignIn(
            state: Randomness.token(), pkce: PKCE(), nonce: Randomness.token(), redirectURI: redirectURI,
            session: session, provider: profile.key, createdAt: now, context: context)
        do {
            try await states.remember(signIn)
        } catch {
            throw OAuthFailure(kind: .transient, detail: "The sign-in could not be kept: \(error)")
        }
        var items = [
            URLQueryItem(name: "client_id", value: profile.clientID),
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "redirect_uri", value: redirectURI),
            URLQueryItem(name: "response_mode", value: "query"),
            URLQueryItem(name: "scope", value: profile.scopes.joined(separator: " ")),
            URLQueryItem(name: "state", value: signIn.state),
            URLQueryItem(name: "nonce", value: signIn.nonce),
            URLQueryItem(name: "code_challenge", value: signIn.pkce.challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        items += profile.extraAuthorizationParameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        if let loginHint { items.append(URLQueryItem(name: "login_hint", value: loginHint)) }
        var components = URLComponents(url: profile.authorizationEndpoint, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.queryItems = (components.queryItems ?? []) + items
        // URLComponents leaves "+" alone in queries; providers read it as a space.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.url ?? profile.authorizationEndpoint
    }

    /// Finishes a sign-in from the callback's query parameters: checks the state, exchanges the code, verifies the
    /// id_token. Nothing is stored here; the caller stores the grant only after testing the connection with it.
    public func finishSignIn(callback query: [String: String], session: String, now: Date = Date()) async throws -> CompletedSignIn {
        guard let state = query["state"], !state.isEmpty else {
            throw OAuthFailure.signIn("The identity provider sent the browser back without the sign-in state. Start the sign-in again.", error: "invalid_state")
        }
        let signIn = try await states.take(state: state, session: session, now: now)
        return try await complete(signIn, callback: query, now: now)
    }

    /// Finishes a sign-in whose state was already taken (see ``OAuthProviders/finishSignIn(callback:session:now:)``).
    func complete(_ signIn: PendingSignIn, callback query: [String: String], now: Date) async throws -> CompletedSignIn {
        if let error = query["error"] {
            let description = query["error_description"]
            let kind: OAuthFailure.Kind = error == "access_denied" ? .signInRejected : OAuthErrorClassifier.classify(status: nil, error: error, codes: [])
            throw OAuthFailure(kind: kind, error: error, detail: description ?? "The sign-in was not completed.")
        }
        guard let code = query["code"], !code.isEmpty else {
            throw OAuthFailure.signIn("The identity provider sent the browser back without an authorization code.")
        }
        let tokens = try await TokenEndpoint(profile: profile, http: http).exchange(code: code, verifier: signIn.pkce.verifier, redirectURI: signIn.redirectURI)
        guard let idToken = tokens.idToken else {
            throw OAuthFailure(kind: .configuration, detail: "The identity provider returned no id_token; the «openid» scope must be allowed for this app.")
        }
        let identity = try await verifier.verify(idToken, profile: profile, nonce: signIn.nonce, now: now)
        let grant = TokenGrant(
            provider: profile.kind, tenant: identity.tenantID ?? profile.tenant, account: identity.address, subject: identity.subject,
            scopes: tokens.scope.map { $0.split(separator: " ").map(String.init) } ?? profile.scopes,
            accessToken: tokens.accessToken, accessTokenExpiresAt: now.addingTimeInterval(TimeInterval(tokens.expiresIn ?? 3600)),
            refreshToken: tokens.refreshToken, obtainedAt: now, source: profile.key)
        logger.info("OAuth sign-in completed", metadata: ["provider": "\(profile.key)", "account": "\(identity.address)"])
        return CompletedSignIn(identity: identity, grant: grant, context: signIn.context)
    }

    /// Renews the access token. The returned grant carries the rotated refresh token when the provider sent one,
    /// and keeps the old one when it did not (Google). The caller must persist it before using the new access token.
    public func refresh(_ grant: TokenGrant, now: Date = Date()) async throws -> TokenGrant {
        guard let refreshToken = grant.refreshToken else {
            throw OAuthFailure(kind: .reauthorizationRequired, detail: "The provider gave Mailroom no refresh token, so access ends with the access token. Sign in again.")
        }
        // Microsoft wants one resource per token request; the mail scopes share one, and OIDC scopes are ignored.
        let scopes = profile.kind == .microsoft ? grant.scopes.filter { $0.contains("://") || $0 == "offline_access" } : []
        let tokens = try await TokenEndpoint(profile: profile, http: http).refresh(refreshToken: refreshToken, scopes: scopes)
        var renewed = grant
        renewed.accessToken = tokens.accessToken
        renewed.accessTokenExpiresAt = now.addingTimeInterval(TimeInterval(tokens.expiresIn ?? 3600))
        renewed.refreshToken = tokens.refreshToken ?? refreshToken
        renewed.refreshedAt = now
        if let scope = tokens.scope { renewed.scopes = scope.split(separator: " ").map(String.init) }
        return renewed
    }
}
