import Foundation
import Testing
@testable import OAuth

@Suite struct PKCETests {
    @Test func challengeMatchesRFC7636AppendixB() {
        let pkce = PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func verifiersAreLongRandomAndURLSafe() {
        let a = PKCE(), b = PKCE()
        #expect(a.verifier != b.verifier)
        // RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
        #expect((43...128).contains(a.verifier.count))
        #expect(a.verifier.allSatisfy { $0.isLetter || $0.isNumber || "-._~".contains($0) })
    }
}

@Suite struct ClassificationTests {
    /// protocols.md §1.4, §1.6, §2.2 and §6, one row per signal.
    @Test(arguments: [
        (400, "invalid_grant", [50173], OAuthFailure.Kind.reauthorizationRequired),
        (400, "invalid_grant", [700082], .reauthorizationRequired),
        (400, "invalid_grant", [65001], .reauthorizationRequired),
        (400, "interaction_required", [50076], .reauthorizationRequired),
        (400, "consent_required", [], .reauthorizationRequired),
        (400, "invalid_grant", [], .reauthorizationRequired),  // Google: "Token has been expired or revoked."
        (401, "invalid_client", [7000222], .appRegistration),
        (401, "invalid_client", [7000215], .appRegistration),
        (400, "unauthorized_client", [700016], .appRegistration),
        (400, "invalid_grant", [53003], .actionNeededAtProvider),  // conditional access: no sign-in fixes it
        (400, "invalid_grant", [50057], .actionNeededAtProvider),
        (400, "admin_policy_enforced", [], .actionNeededAtProvider),
        (503, "temporarily_unavailable", [], .transient),
        (429, nil, [], .transient),
        (500, "server_error", [], .transient),
        (400, "invalid_grant", [50033], .transient),  // RetryableError whatever the error field says
        (400, "invalid_scope", [70011], .configuration),
        (400, "unsupported_grant_type", [], .configuration),
        (502, nil, [], .transient),
    ] as [(Int, String?, [Int], OAuthFailure.Kind)])
    func tokenEndpointAnswers(status: Int, error: String?, codes: [Int], expected: OAuthFailure.Kind) {
        #expect(OAuthErrorClassifier.classify(status: status, error: error, codes: codes) == expected)
    }

    @Test func microsoftErrorBodyKeepsCodeTraceAndCorrelation() throws {
        let body = #"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-29 10:00:00Z","error_codes":[50173],"timestamp":"2026-11-29 10:00:00Z","trace_id":"t-1","correlation_id":"c-1"}"#
        let failure = TokenEndpoint.failure(.init(status: 400, headers: [], body: Data(body.utf8)))
        #expect(failure.kind == .reauthorizationRequired)
        #expect(failure.codes == [50173])
        #expect(failure.traceID == "t-1" && failure.correlationID == "c-1")
        #expect(failure.description == "invalid_grant AADSTS50173 HTTP 400: AADSTS50173: The provided grant has expired due to it being revoked.")
    }

    @Test func throttlingHonoursRetryAfter() {
        let failure = TokenEndpoint.failure(.init(status: 429, headers: [("Retry-After", "17")], body: Data("{}".utf8)))
        #expect(failure.kind == .transient)
        #expect(failure.retryAfter == .seconds(17))
        #expect(TokenEndpoint.parseRetryAfter("99999") == .seconds(3600))
        #expect(TokenEndpoint.parseRetryAfter("soon") == nil)
    }

    @Test("Retry-After as an HTTP date in its three forms; hostile bytes in it are no date, never a crash")
    func retryAfterDates() {
        func format(_ pattern: String, _ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = pattern
            return formatter.string(from: date)
        }
        let inTwoMinutes = Date().addingTimeInterval(120)
        for pattern in ["EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy"] {
            let value = format(pattern, inTwoMinutes)
            let wait = TokenEndpoint.parseRetryAfter(value)
            #expect(wait.map { $0 >= .seconds(110) && $0 <= .seconds(121) } == true, "\(value) → \(String(describing: wait))")
        }
        #expect(TokenEndpoint.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == .zero, "a date gone by: at once")
        // The bytes the OAuth fuzz target found trapping Foundation's DateFormatter.
        let hostile = String(decoding: [0x57, 0x65, 0x64, 0x2C, 0x20, 0x32, 0x31, 0xDF, 0xB0, 0x9C, 0x8B, 0xDF, 0xCD, 0xCF, 0xCE, 0x35, 0x20, 0x30, 0x7A,
                                        0x3A, 0x32, 0xFF, 0xFF, 0x7B, 0x25, 0x96, 0xC3, 0x3F, 0x10, 0x4D, 0x54] as [UInt8], as: UTF8.self)
        let failure = TokenEndpoint.failure(.init(status: 503, headers: [("Retry-After", hostile)], body: Data()))
        #expect(failure.kind == .transient)
        #expect(failure.retryAfter.map { $0 <= .seconds(3600) } ?? true)
    }

    @Test func anHTMLErrorPageIsTransientNotReauthorization() {
        let failure = TokenEndpoint.failure(.init(status: 502, headers: [], body: Data("<html>Bad gateway</html>".utf8)))
        #expect(failure.kind == .transient)
        #expect(failure.detail?.contains("without an OAuth error") == true)
    }
}

@Suite struct TokenResponseTests {
    @Test func acceptsExpiresInAsNumberOrString() throws {
        let a = try JSONDecoder().decode(TokenResponse.self, from: Data(#"{"access_token":"a","token_type":"Bearer","expires_in":3599}"#.utf8))
        let b = try JSONDecoder().decode(TokenResponse.self, from: Data(#"{"access_token":"a","token_type":"Bearer","expires_in":"3599"}"#.utf8))
        #expect(a.expiresIn == 3599 && b.expiresIn == 3599)
        #expect(a.refreshToken == nil)
    }

    @Test func formEncodingEscapesReservedCharacters() {
        #expect(FormEncoding.encode([("scope", "a b/c"), ("x", "1+2&=")]) == "scope=a+b%2Fc&x=1%2B2%26%3D")
    }
}

@Suite struct SignInStartTests {
    let profile = ProviderProfile.microsoft(clientID: "app-id", clientSecret: "app-secret", tenant: "organizations",
                                            authority: URL(string: "https://login.example.test")!)

    @Test func authorizationURLCarriesPKCEStateNonceAndScopes() async throws {
        let client = OAuthClient(profile: profile)
        let url = try await client.startSignIn(redirectURI: "http://localhost:8080/oauth/callback", session: "s1", loginHint: "a+b@contoso.example")
        let components = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false))
        #expect(components.path == "/organizations/oauth2/v2.0/authorize")
        let query = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["response_type"] == "code")
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["code_challenge"]?.count == 43)
        #expect(query["prompt"] == "select_account")
        #expect(query["login_hint"] == "a+b@contoso.example")
        #expect(query["scope"] == "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access openid email profile")
        #expect((query["state"]?.count ?? 0) >= 43 && (query["nonce"]?.count ?? 0) >= 43)
        #expect(url.absoluteString.contains("a%2Bb%40contoso.example") || url.absoluteString.contains("a%2Bb@contoso.example"))
        #expect(!url.absoluteString.contains("app-secret"))
    }

    @Test func aStateWorksOnceOnlyInItsSessionAndNotAfterTenMinutes() async throws {
        let states = SignInStates(lifetime: 600)
        let client = OAuthClient(profile: profile, states: states)
        func state(_ url: URL) -> String {
            URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == "state" }?.value ?? ""
        }
        let start = Date()
        let first = state(try await client.startSignIn(redirectURI: "http://x/cb", session: "s1", now: start))
        // Another session cannot use it, and the attempt burns it.
        await #expect(throws: OAuthFailure.self) { try await states.take(state: first, session: "s2", now: start) }
        await #expect(throws: OAuthFailure.self) { try await states.take(state: first, session: "s1", now: start) }
        let second = state(try await client.startSignIn(redirectURI: "http://x/cb", session: "s1", now: start))
        await #expect(throws: OAuthFailure.self) { try await states.take(state: second, session: "s1", now: start.addingTimeInterval(601)) }
        let third = state(try await client.startSignIn(redirectURI: "http://x/cb", session: "s1", now: start))
        _ = try await states.take(state: third, session: "s1", now: start.addingTimeInterval(30))
        await #expect(throws: OAuthFailure.self) { try await states.take(state: third, session: "s1", now: start.addingTimeInterval(31)) }
    }

    @Test func aCallbackWithAnErrorIsReportedWithTheProvidersWords() async throws {
        let client = OAuthClient(profile: profile)
        let url = try await client.startSignIn(redirectURI: "http://x/cb", session: "s1")
        let state = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == "state" }?.value ?? ""
        let error = await #expect(throws: OAuthFailure.self) {
            try await client.finishSignIn(callback: ["state": state, "error": "access_denied", "error_description": "AADSTS65004: User declined to consent."], session: "s1")
        }
        #expect(error?.kind == .signInRejected)
        #expect(error?.detail == "AADSTS65004: User declined to consent.")
    }
}

@Suite struct ProfileTests {
    @Test func discoveryGivesGoogleItsOfflineAccessAndAnyProviderItsEndpoints() {
        let document = DiscoveryDocument(
            issuer: "https://accounts.google.com", authorizationEndpoint: URL(string: "https://accounts.google.com/o/oauth2/v2/auth")!,
            tokenEndpoint: URL(string: "https://oauth2.googleapis.com/token")!, jwksURI: URL(string: "https://www.googleapis.com/oauth2/v3/certs")!)
        let google = ProviderProfile.fromDiscovery(document, kind: .google, clientID: "id", clientSecret: "secret")
        #expect(google.scopes == ["https://mail.google.com/", "openid", "email"])
        #expect(google.extraAuthorizationParameters.contains { $0 == ("access_type", "offline") })
        #expect(google.issuer == .exact("https://accounts.google.com"))
        let other = ProviderProfile.fromDiscovery(document, kind: .openIDConnect, clientID: "id", clientSecret: "secret", scopes: ["openid", "mail"])
        #expect(other.scopes == ["openid", "mail"])
        #expect(other.extraAuthorizationParameters.isEmpty)
    }

    @Test("A discovery document may not send secrets to plain http or to a non-web address")
    func discoveryEndpointsAreChecked() throws {
        func document(token: String, jwks: String = "https://id.example.com/keys", issuer: String = "https://id.example.com") throws -> DiscoveryDocument {
            DiscoveryDocument(issuer: issuer, authorizationEndpoint: try #require(URL(string: "https://id.example.com/authorize")),
                              tokenEndpoint: try #require(URL(string: token)), jwksURI: try #require(URL(string: jwks)))
        }
        let https = try #require(URL(string: "https://id.example.com/.well-known/openid-configuration"))
        let local = try #require(URL(string: "http://127.0.0.1:9400/.well-known/openid-configuration"))
        #expect(try document(token: "https://id.example.com/token").problem(fetchedFrom: https) == nil)
        // Fetched over https, a token endpoint (client secret, codes) or key set over plain http is a downgrade.
        #expect(try document(token: "http://id.example.com/token").problem(fetchedFrom: https)?.contains("token_endpoint «http://id.example.com/token» is plain http") == true)
        #expect(try document(token: "https://id.example.com/token", jwks: "http://evil.example/keys").problem(fetchedFrom: https)?.contains("jwks_uri") == true)
        // An operator who configured plain http (a local test provider) gets plain http.
        #expect(try document(token: "http://127.0.0.1:9400/token").problem(fetchedFrom: local) == nil)
        for bad in ["file:///etc/passwd", "ftp://id.example.com/token", "https:///token", "javascript:alert(1)"] {
            #expect(try document(token: bad).problem(fetchedFrom: local)?.contains("is not an http(s) address") == true, "\(bad)")
        }
        #expect(try document(token: "https://id.example.com/token", issuer: "").problem(fetchedFrom: https) == "It names no issuer.")
    }

    @Test func nationalCloudsAreConfiguration() {
        let us = ProviderProfile.microsoft(clientID: "id", clientSecret: "s", tenant: "contoso.onmicrosoft.us",
                                           authority: URL(string: "https://login.microsoftonline.us")!, resource: "https://outlook.office365.us")
        #expect(us.tokenEndpoint.absoluteString == "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token")
        #expect(us.jwksURI.absoluteString == "https://login.microsoftonline.us/contoso.onmicrosoft.us/discovery/v2.0/keys")
        #expect(us.scopes.first == "https://outlook.office365.us/IMAP.AccessAsUser.All")
        #expect(us.issuer == .microsoft(authority: "https://login.microsoftonline.us", tenant: "contoso.onmicrosoft.us"))
    }
}

@Suite struct GrantTests {
    @Test func renewsAheadOfExpiry() {
        let now = Date()
        var grant = TokenGrant(provider: .microsoft, tenant: nil, account: "a@b.c", subject: "s", scopes: [], accessToken: "secret-access",
                               accessTokenExpiresAt: now.addingTimeInterval(3600), refreshToken: "secret-refresh", obtainedAt: now)
        #expect(!grant.needsRefresh(now: now))
        #expect(grant.needsRefresh(now: now.addingTimeInterval(3600 - 299)))
        // A 60-second token is renewed with 12 seconds to spare, not 5 minutes early (which would be always).
        grant.accessTokenExpiresAt = now.addingTimeInterval(60)
        #expect(!grant.needsRefresh(now: now.addingTimeInterval(40)))
        #expect(grant.needsRefresh(now: now.addingTimeInterval(49)))
    }

    @Test func descriptionsNeverShowTokens() {
        let grant = TokenGrant(provider: .google, tenant: nil, account: "a@b.c", subject: "s", scopes: [], accessToken: "secret-access",
                               accessTokenExpiresAt: Date(), refreshToken: "secret-refresh", obtainedAt: Date())
        for text in ["\(grant)", String(reflecting: grant), "\(Mirror(reflecting: grant).children.map { "\($0.value)" })"] {
            #expect(!text.contains("secret-access") && !text.contains("secret-refresh"))
        }
        let profile = ProviderProfile.microsoft(clientID: "id", clientSecret: "client-secret-value")
        #expect(!"\(profile)".contains("client-secret-value"))
    }
}
