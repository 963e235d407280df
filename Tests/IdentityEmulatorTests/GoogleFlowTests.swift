import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Testing

@testable import IdentityEmulator

struct GoogleIDClaims: JWTPayload {
    let iss: String
    let azp: String
    let aud: AudienceClaim
    let sub: String
    let email: String?
    let email_verified: Bool?
    let name: String?
    let nonce: String?
    let iat: IssuedAtClaim
    let exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

@Suite("Google flow")
struct GoogleFlowTests {
    static let account = "mailroom.demo@gmail.com"

    func offlineOptions(consent: Bool = false) -> AuthorizeOptions {
        var options = AuthorizeOptions()
        options.scope = Fixture.googleScopes
        options.extra = [("access_type", "offline")] + (consent ? [("prompt", "consent")] : [])
        return options
    }

    func exchange(_ client: some TestClientProtocol, _ code: String) async throws -> JSONResponse {
        try await googleToken(
            client,
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Fixture.redirect), ("code_verifier", Fixture.verifier)])
    }

    @Test("code flow: ya29 token, id_token verified, refresh token only on the first offline exchange")
    func flow() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let page = try await client.execute(
                uri: "/google/o/oauth2/v2/auth?" + formEncode(authorizeParameters(clientID: Fixture.googleClient.id, offlineOptions())),
                method: .get)
            let html = String(buffer: page.body)
            #expect(html.contains("Identity emulator (Google)"))
            #expect(!html.contains("support@contoso.example"))

            let redirect = try await googleSignIn(client, account: Self.account, options: offlineOptions())
            #expect(redirect["state"] == "st-123")
            let code = try #require(redirect["code"])
            #expect(code.hasPrefix("4/0A"))

            let tokens = try await exchange(client, code)
            #expect(tokens.status == .ok)
            #expect(tokens.string("token_type") == "Bearer")
            #expect(tokens.int("expires_in") == 3600)
            #expect(tokens["ext_expires_in"] == nil)
            let access = try #require(tokens.string("access_token"))
            #expect(access.hasPrefix("ya29."))
            #expect(access.count >= 150)
            let refreshToken = try #require(tokens.string("refresh_token"))

            let certs = try await client.execute(uri: "/google/oauth2/v3/certs", method: .get)
            let keys = JWTKeyCollection()
            try await keys.add(jwksJSON: String(buffer: certs.body))
            let claims = try await keys.verify(try #require(tokens.string("id_token")), as: GoogleIDClaims.self)
            #expect(claims.iss == "\(Fixture.base)/google")
            #expect(claims.azp == Fixture.googleClient.id)
            #expect(claims.aud.value == [Fixture.googleClient.id])
            #expect(claims.email == Self.account)
            #expect(claims.email_verified == true)
            #expect(claims.nonce == "n-456")

            // Second offline authorization without prompt=consent: no new refresh token.
            let second = try await exchange(client, try #require(try await googleSignIn(client, account: Self.account, options: offlineOptions())["code"]))
            #expect(second.status == .ok)
            #expect(second["refresh_token"] == nil)
            // With prompt=consent: a new one.
            let third = try await exchange(client, try #require(try await googleSignIn(client, account: Self.account, options: offlineOptions(consent: true))["code"]))
            #expect(third.string("refresh_token") != nil)

            // Refresh returns no refresh token and the old one stays valid.
            for _ in 0..<2 {
                let refreshed = try await googleToken(client, [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
                #expect(refreshed.status == .ok)
                #expect(refreshed["refresh_token"] == nil)
                #expect(refreshed.string("access_token")?.hasPrefix("ya29.") == true)
            }
        }
    }

    @Test("online access gets no refresh token")
    func online() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.scope = Fixture.googleScopes
            let code = try #require(try await googleSignIn(client, account: Self.account, options: options)["code"])
            let tokens = try await exchange(client, code)
            #expect(tokens.status == .ok)
            #expect(tokens["refresh_token"] == nil)
        }
    }

    @Test("Google-shaped errors")
    func errors() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let code = try #require(try await googleSignIn(client, account: Self.account, options: offlineOptions())["code"])
            let tokens = try await exchange(client, code)
            let reused = try await exchange(client, code)
            #expect(reused.status == .badRequest)
            #expect(reused.text == "{\"error\":\"invalid_grant\",\"error_description\":\"Bad Request\"}")

            let unknownClient = try await postForm(
                client, "/google/token", [("client_id", "nope"), ("client_secret", "x"), ("grant_type", "refresh_token")])
            #expect(unknownClient.status == .unauthorized)
            #expect(unknownClient.text == "{\"error\":\"invalid_client\",\"error_description\":\"The OAuth client was not found.\"}")

            let wrongSecret = try await postForm(
                client, "/google/token", [("client_id", Fixture.googleClient.id), ("client_secret", "x"), ("grant_type", "refresh_token")])
            #expect(wrongSecret.status == .unauthorized)
            #expect(wrongSecret.text == "{\"error\":\"invalid_client\",\"error_description\":\"Unauthorized\"}")

            try await emulator.changePassword(account: Self.account)
            let dead = try await googleToken(client, [("grant_type", "refresh_token"), ("refresh_token", tokens.string("refresh_token") ?? "")])
            #expect(dead.status == .badRequest)
            #expect(dead.text == "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or revoked.\"}")

            // After the password change, the next offline sign-in yields a refresh token again.
            let again = try await exchange(client, try #require(try await googleSignIn(client, account: Self.account, options: offlineOptions())["code"]))
            #expect(again.string("refresh_token") != nil)
        }
    }

    @Test("discovery document")
    func discovery() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let document = try parseJSON(try await client.execute(uri: "/google/.well-known/openid-configuration", method: .get))
            #expect(document.string("issuer") == "\(Fixture.base)/google")
            #expect(document.string("token_endpoint") == "\(Fixture.base)/google/token")
            #expect(document.string("authorization_endpoint") == "\(Fixture.base)/google/o/oauth2/v2/auth")
            #expect(document.string("jwks_uri") == "\(Fixture.base)/google/oauth2/v3/certs")
            #expect(document["code_challenge_methods_supported"] as? [String] == ["plain", "S256"])
        }
    }
}
