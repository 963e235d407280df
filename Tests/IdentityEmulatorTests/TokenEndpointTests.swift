import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import IdentityEmulator

@Suite("Microsoft token endpoint: codes, PKCE, client auth, refresh rotation")
struct TokenEndpointTests {
    @Test("a code is single use (AADSTS54005)")
    func codeReuse() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let code = try #require(try await microsoftSignIn(client, account: "support@contoso.example")["code"])
            #expect(try await redeemMicrosoftCode(client, code: code).status == .ok)
            let again = try await redeemMicrosoftCode(client, code: code)
            expectMicrosoftError(again, status: .badRequest, error: "invalid_grant", code: 54005)
            #expect(Set(again.object.keys) == ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"])
        }
    }

    @Test("wrong code_verifier (AADSTS501481), wrong redirect_uri (AADSTS50011), expired code (AADSTS70008)")
    func codeChecks() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let code = try #require(try await microsoftSignIn(client, account: "support@contoso.example")["code"])
            let wrongVerifier = try await redeemMicrosoftCode(client, code: code, verifier: String(repeating: "x", count: 43))
            expectMicrosoftError(wrongVerifier, status: .badRequest, error: "invalid_grant", code: 501481)
            let missingVerifier = try await microsoftToken(
                client, [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Fixture.redirect)])
            expectMicrosoftError(missingVerifier, status: .badRequest, error: "invalid_grant", code: 501481)

            let wrongRedirect = try await microsoftToken(
                client,
                [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://localhost:8080/oauth/callback"),
                 ("code_verifier", Fixture.verifier)])
            expectMicrosoftError(wrongRedirect, status: .badRequest, error: "invalid_grant", code: 50011)

            await emulator.advanceClock(by: 601)
            let expired = try await redeemMicrosoftCode(client, code: code)
            expectMicrosoftError(expired, status: .badRequest, error: "invalid_grant", code: 70008)

            let garbage = try await redeemMicrosoftCode(client, code: "not-a-code")
            expectMicrosoftError(garbage, status: .badRequest, error: "invalid_grant", code: 9002313)
        }
    }

    @Test("a code issued in one tenant is rejected at another (AADSTS700005)")
    func codeTenantBound() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let code = try #require(try await microsoftSignIn(client, tenant: "contoso.example", account: "support@contoso.example")["code"])
            let response = try await redeemMicrosoftCode(client, tenant: "fabrikam.example", code: code)
            expectMicrosoftError(response, status: .badRequest, error: "invalid_grant", code: 700005)
        }
    }

    @Test("client authentication and request errors")
    func clientErrors() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let wrongSecret = try await postForm(
                client, "/common/oauth2/v2.0/token",
                [("client_id", Fixture.microsoftClient.id), ("client_secret", "wrong"), ("grant_type", "refresh_token"), ("refresh_token", "x")])
            expectMicrosoftError(wrongSecret, status: .unauthorized, error: "invalid_client", code: 7000215)

            let unknown = try await postForm(
                client, "/common/oauth2/v2.0/token", [("client_id", "nope"), ("client_secret", "x"), ("grant_type", "refresh_token")])
            expectMicrosoftError(unknown, status: .badRequest, error: "unauthorized_client", code: 700016)

            let noSecret = try await postForm(client, "/common/oauth2/v2.0/token", [("client_id", Fixture.microsoftClient.id), ("grant_type", "refresh_token")])
            expectMicrosoftError(noSecret, status: .unauthorized, error: "invalid_client", code: 7000218)

            let unsupported = try await microsoftToken(client, [("grant_type", "password")])
            expectMicrosoftError(unsupported, status: .badRequest, error: "unsupported_grant_type", code: 70003)

            let missing = try await microsoftToken(client, [])
            expectMicrosoftError(missing, status: .badRequest, error: "invalid_request", code: 900144)

            let googleClientHere = try await postForm(
                client, "/common/oauth2/v2.0/token",
                [("client_id", Fixture.googleClient.id), ("client_secret", Fixture.googleClient.secret), ("grant_type", "refresh_token")])
            expectMicrosoftError(googleClientHere, status: .badRequest, error: "unauthorized_client", code: 700016)

            let notForm = try parseJSON(
                try await client.execute(
                    uri: "/common/oauth2/v2.0/token", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: "{\"grant_type\":\"refresh_token\"}")))
            expectMicrosoftError(notForm, status: .badRequest, error: "invalid_request", code: 900144)
        }
    }

    @Test("refresh rotates: a new refresh token each time, the old one rejected at once (AADSTS70000)")
    func refreshRotation() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            let first = try #require(tokens.string("refresh_token"))

            let refreshed = try await refreshMicrosoft(client, first)
            #expect(refreshed.status == .ok)
            let second = try #require(refreshed.string("refresh_token"))
            #expect(second != first)
            #expect(refreshed.string("access_token") != tokens.string("access_token"))
            #expect(refreshed.string("id_token") != nil)

            let reused = try await refreshMicrosoft(client, first)
            expectMicrosoftError(reused, status: .badRequest, error: "invalid_grant", code: 70000)
            #expect(await emulator.refreshTokenUsage(first) == RefreshTokenUsage(accepted: 1, rejected: 1))
            #expect(await emulator.refreshTokenUsage(second) == RefreshTokenUsage(accepted: 0, rejected: 0))
            #expect(await emulator.liveRefreshTokenCount(account: "support@contoso.example") == 1)

            let third = try await refreshMicrosoft(client, second)
            #expect(third.status == .ok)

            let unknown = try await refreshMicrosoft(client, "0.Agarbage")
            expectMicrosoftError(unknown, status: .badRequest, error: "invalid_grant", code: 9002313)

            let audit = await emulator.tokenRequests()
            #expect(audit.map(\.grantType) == ["authorization_code", "refresh_token", "refresh_token", "refresh_token", "refresh_token"])
            #expect(audit.map(\.outcome) == ["success", "success", "invalid_grant", "success", "invalid_grant"])
            #expect(audit[2].errorCode == 70000)
            #expect(audit[2].refreshTokenFingerprint == IdentityEmulator.fingerprint(of: first))
            #expect(audit[1].account == "support@contoso.example")
        }
    }

    @Test("refresh may narrow the scope, not widen it")
    func refreshScopes() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            let narrowed = try await microsoftToken(
                client,
                [("grant_type", "refresh_token"), ("refresh_token", tokens.string("refresh_token") ?? ""),
                 ("scope", "https://outlook.office.com/SMTP.Send offline_access")])
            #expect(narrowed.status == .ok)
            #expect(narrowed.string("scope") == "https://outlook.office.com/SMTP.Send offline_access")
            let widened = try await microsoftToken(
                client,
                [("grant_type", "refresh_token"), ("refresh_token", narrowed.string("refresh_token") ?? ""),
                 ("scope", "https://graph.microsoft.com/Mail.Read")])
            expectMicrosoftError(widened, status: .badRequest, error: "invalid_scope", code: 70011)
        }
    }

    @Test("expires_in follows the configured access-token lifetime")
    func lifetime() async throws {
        let emulator = Fixture.emulator()
        await emulator.setAccessTokenLifetime(120)
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            #expect(tokens.int("expires_in") == 120)
        }
    }
}
