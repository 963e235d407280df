import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Testing

@testable import IdentityEmulator

/// Claims of a Microsoft v2.0 id_token, verified with JWTKit against the emulator's JWKS.
struct MicrosoftIDClaims: JWTPayload {
    let iss: String
    let aud: AudienceClaim
    let exp: ExpirationClaim
    let iat: IssuedAtClaim
    let nbf: NotBeforeClaim
    let sub: String
    let oid: String
    let tid: String
    let ver: String
    let nonce: String?
    let email: String?
    let name: String?
    let preferred_username: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

func verifiedMicrosoftClaims(_ client: some TestClientProtocol, tenant: String, idToken: String) async throws -> MicrosoftIDClaims {
    let jwks = try await client.execute(uri: "/\(tenant)/discovery/v2.0/keys", method: .get)
    #expect(jwks.status == .ok)
    let keys = JWTKeyCollection()
    try await keys.add(jwksJSON: String(buffer: jwks.body))
    return try await keys.verify(idToken, as: MicrosoftIDClaims.self)
}

@Suite("Microsoft code flow")
struct MicrosoftFlowTests {
    @Test("work account: PKCE S256 code flow, tokens, id_token verified against JWKS")
    func workAccountFlow() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.state = "a b&c=d/é<x>"
            let redirect = try await microsoftSignIn(client, tenant: "organizations", account: "support@contoso.example", options: options)
            #expect(redirect["state"] == "a b&c=d/é<x>")
            let code = try #require(redirect["code"])

            let tokens = try await redeemMicrosoftCode(client, code: code)
            #expect(tokens.status == .ok)
            #expect(tokens.string("token_type") == "Bearer")
            #expect(tokens.int("expires_in") == 3600)
            #expect(tokens.int("ext_expires_in") == 3600)
            #expect(tokens.string("scope")?.contains("https://outlook.office.com/IMAP.AccessAsUser.All") == true)
            #expect(tokens.string("refresh_token")?.isEmpty == false)
            let access = try #require(tokens.string("access_token"))
            #expect(access.utf8.count > 2048)
            #expect(access.split(separator: ".").count == 3)
            #expect(tokens.headers[.cacheControl]?.contains("no-store") == true)

            let claims = try await verifiedMicrosoftClaims(client, tenant: "organizations", idToken: try #require(tokens.string("id_token")))
            #expect(claims.iss == "\(Fixture.base)/\(EmulatorDemoData.contosoTenantID)/v2.0")
            #expect(claims.aud.value == [Fixture.microsoftClient.id])
            #expect(claims.tid == EmulatorDemoData.contosoTenantID)
            #expect(claims.nonce == "n-456")
            #expect(claims.email == "support@contoso.example")
            #expect(claims.preferred_username == "support@contoso.example")
            #expect(claims.name == "Contoso Support")
            #expect(claims.ver == "2.0")
            #expect(claims.sub.count == 43)
        }
    }

    @Test("sub is pairwise per client, oid is not")
    func pairwiseSubject() async throws {
        let emulator = Fixture.emulator()
        let other = EmulatorClient(id: "other-app", secret: "s2", redirectURIs: [Fixture.redirect], provider: .microsoft)
        await emulator.addClient(other)
        let account = try #require(await emulator.account("support@contoso.example"))
        #expect(await emulator.subject(of: account, clientID: "other-app") != emulator.subject(of: account, clientID: Fixture.microsoftClient.id))
    }

    @Test("personal account under /consumers gets an opaque EwB token and the consumer tenant id")
    func personalAccountFlow() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, tenant: "consumers", account: "mailroom.demo@outlook.com")
            let access = try #require(tokens.string("access_token"))
            #expect(access.hasPrefix("EwB"))
            #expect(access.count >= 1000)
            #expect(!access.contains("."))
            let claims = try await verifiedMicrosoftClaims(client, tenant: "consumers", idToken: try #require(tokens.string("id_token")))
            #expect(claims.tid == "9188040d-6c67-4c5b-b112-36a304b66dad")
            #expect(claims.iss == "\(Fixture.base)/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
        }
    }

    @Test("no refresh token without offline_access, no id_token without openid")
    func scopesDecideTokens() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(
                client, account: "support@fabrikam.example", scope: "https://outlook.office.com/IMAP.AccessAsUser.All")
            #expect(tokens["refresh_token"] == nil)
            #expect(tokens["id_token"] == nil)
            #expect(tokens.string("access_token") != nil)
        }
    }

    @Test("client authentication with HTTP Basic (RFC 6749 §2.3.1)")
    func basicClientAuth() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let redirect = try await microsoftSignIn(client, account: "support@contoso.example")
            let response = try await postForm(
                client, "/organizations/oauth2/v2.0/token",
                [("grant_type", "authorization_code"), ("code", redirect["code"] ?? ""), ("redirect_uri", Fixture.redirect),
                 ("code_verifier", Fixture.verifier)],
                headers: [.authorization: basicHeader(Fixture.microsoftClient.id, Fixture.microsoftClient.secret)])
            #expect(response.status == .ok)
        }
    }

    @Test("plain PKCE works too")
    func plainPKCE() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            let verifier = String(repeating: "v", count: 50)
            options.challenge = verifier
            options.method = "plain"
            let redirect = try await microsoftSignIn(client, account: "support@contoso.example", options: options)
            let tokens = try await redeemMicrosoftCode(client, code: redirect["code"] ?? "", verifier: verifier)
            #expect(tokens.status == .ok)
        }
    }

    @Test("discovery documents and JWKS")
    func discovery() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let specific = try parseJSON(
                try await client.execute(uri: "/contoso.example/v2.0/.well-known/openid-configuration", method: .get))
            #expect(specific.status == .ok)
            #expect(specific.string("issuer") == "\(Fixture.base)/\(EmulatorDemoData.contosoTenantID)/v2.0")
            #expect(specific.string("jwks_uri") == "\(Fixture.base)/\(EmulatorDemoData.contosoTenantID)/discovery/v2.0/keys")
            #expect(specific["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])

            let common = try parseJSON(try await client.execute(uri: "/common/v2.0/.well-known/openid-configuration", method: .get))
            #expect(common.string("issuer") == "\(Fixture.base)/{tenantid}/v2.0")
            #expect(common.string("token_endpoint") == "\(Fixture.base)/common/oauth2/v2.0/token")
            #expect(common.string("authorization_endpoint") == "\(Fixture.base)/common/oauth2/v2.0/authorize")

            let unknown = try await client.execute(uri: "/nowhere.example/v2.0/.well-known/openid-configuration", method: .get)
            #expect(unknown.status == .badRequest)

            let jwks = try parseJSON(try await client.execute(uri: "/common/discovery/v2.0/keys", method: .get))
            let keys = try #require(jwks["keys"] as? [[String: Any]])
            #expect(keys.count == 2)
            #expect(keys.allSatisfy { $0["kty"] as? String == "RSA" && $0["use"] as? String == "sig" && $0["kid"] is String && $0["n"] is String && $0["e"] as? String == "AQAB" })
        }
    }

    @Test("an emulator that starts empty accepts clients and accounts added at runtime")
    func runtimeAccounts() async throws {
        let emulator = IdentityEmulator(baseURL: Fixture.base)
        await emulator.addClient(EmulatorClient(id: "app-1", secret: "secret-1", redirectURIs: ["https://app.example/cb"], provider: .microsoft))
        await emulator.addAccount(.microsoftWork("Ops@Tailspin.Example", displayName: "Ops", tenantID: "11111111-2222-4333-8444-555555555555", tenantDomain: "tailspin.example"))
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.redirect = "https://app.example/cb"
            let redirect = try await signIn(
                client, path: "/tailspin.example/oauth2/v2.0/authorize", clientID: "app-1", account: "Ops@Tailspin.Example", options: options)
            let tokens = try await postForm(
                client, "/tailspin.example/oauth2/v2.0/token",
                [("client_id", "app-1"), ("client_secret", "secret-1"), ("grant_type", "authorization_code"),
                 ("code", redirect["code"] ?? ""), ("redirect_uri", "https://app.example/cb"), ("code_verifier", Fixture.verifier)])
            #expect(tokens.status == .ok)
        }
    }
}
