import Foundation
import Hummingbird

/// Google OAuth 2.0 / OpenID Connect endpoints under `/google`: `/google/o/oauth2/v2/auth` (as
/// accounts.google.com), `/google/token` (as oauth2.googleapis.com), `/google/oauth2/v3/certs` and
/// `/google/.well-known/openid-configuration`.
struct GoogleRoutes: Sendable {
    let emulator: IdentityEmulator

    func register(on router: Router<BasicRequestContext>) {
        router.get("/google/o/oauth2/v2/auth") { request, _ in
            let outcome = await emulator.validateAuthorize(provider: .google, tenant: nil, parameters: HTTPSupport.query(request))
            return HTTPSupport.render(outcome, provider: .google, action: request.uri.path)
        }

        router.post("/google/o/oauth2/v2/auth") { request, _ in
            var request = request
            var form = await HTTPSupport.form(&request)
            let account = form.removeValue(forKey: "account")
            let cancelled = form.removeValue(forKey: "cancel") != nil
            let outcome = await emulator.completeAuthorize(
                provider: .google, tenant: nil, parameters: form, account: account, cancelled: cancelled)
            return HTTPSupport.render(outcome, provider: .google, action: request.uri.path)
        }

        router.post("/google/token") { request, _ in
            var request = request
            let baseURL = await emulator.baseURL(requestHost: HTTPSupport.host(request))
            let tokenRequest = await HTTPSupport.tokenRequest(&request, provider: .google, tenant: nil, baseURL: baseURL)
            let result = await emulator.handleToken(tokenRequest)
            return HTTPSupport.tokenResponse(result, provider: .google, tenant: nil)
        }

        router.get("/google/.well-known/openid-configuration") { request, _ in
            let baseURL = await emulator.baseURL(requestHost: HTTPSupport.host(request))
            return HTTPSupport.json(Self.configuration(baseURL: baseURL))
        }

        router.get("/google/oauth2/v3/certs") { _, _ in
            HTTPSupport.json(emulator.keys.googleJWKS())
        }
    }

    /// Google's discovery document, with the emulator's URLs.
    static func configuration(baseURL: String) -> JSONValue {
        let google = "\(baseURL)/google"
        return .object([
            ("issuer", .string(google)),
            ("authorization_endpoint", .string("\(google)/o/oauth2/v2/auth")),
            ("token_endpoint", .string("\(google)/token")),
            ("jwks_uri", .string("\(google)/oauth2/v3/certs")),
            ("response_types_supported", .array(["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"].map { .string($0) })),
            ("subject_types_supported", .array([.string("public")])),
            ("id_token_signing_alg_values_supported", .array([.string("RS256")])),
            ("scopes_supported", .array(["openid", "email", "profile"].map { .string($0) })),
            ("token_endpoint_auth_methods_supported", .array(["client_secret_post", "client_secret_basic"].map { .string($0) })),
            ("claims_supported", .array(["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"].map { .string($0) })),
            ("code_challenge_methods_supported", .array(["plain", "S256"].map { .string($0) })),
            ("grant_types_supported", .array(["authorization_code", "refresh_token"].map { .string($0) })),
        ])
    }
}
