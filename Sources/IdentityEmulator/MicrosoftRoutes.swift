import Foundation
import Hummingbird

/// Microsoft identity platform v2.0 endpoints, at the same paths as on login.microsoftonline.com:
/// `/{tenant}/oauth2/v2.0/authorize`, `/{tenant}/oauth2/v2.0/token`,
/// `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`.
struct MicrosoftRoutes: Sendable {
    let emulator: IdentityEmulator

    func register(on router: Router<BasicRequestContext>) {
        router.get("/:tenant/oauth2/v2.0/authorize") { request, context in
            let tenant = context.parameters.get("tenant") ?? "common"
            let outcome = await emulator.validateAuthorize(
                provider: .microsoft, tenant: tenant, parameters: HTTPSupport.query(request))
            return HTTPSupport.render(outcome, provider: .microsoft, action: request.uri.path)
        }

        router.post("/:tenant/oauth2/v2.0/authorize") { request, context in
            var request = request
            let tenant = context.parameters.get("tenant") ?? "common"
            var form = await HTTPSupport.form(&request)
            let account = form.removeValue(forKey: "account")
            let cancelled = form.removeValue(forKey: "cancel") != nil
            let outcome = await emulator.completeAuthorize(
                provider: .microsoft, tenant: tenant, parameters: form, account: account, cancelled: cancelled)
            return HTTPSupport.render(outcome, provider: .microsoft, action: request.uri.path)
        }

        router.post("/:tenant/oauth2/v2.0/token") { request, context in
            var request = request
            let tenant = context.parameters.get("tenant") ?? "common"
            let baseURL = await emulator.baseURL(requestHost: HTTPSupport.host(request))
            let tokenRequest = await HTTPSupport.tokenRequest(&request, provider: .microsoft, tenant: tenant, baseURL: baseURL)
            let result = await emulator.handleToken(tokenRequest)
            return HTTPSupport.tokenResponse(result, provider: .microsoft, tenant: tenant)
        }

        router.get("/:tenant/v2.0/.well-known/openid-configuration") { request, context in
            let tenant = context.parameters.get("tenant") ?? "common"
            let baseURL = await emulator.baseURL(requestHost: HTTPSupport.host(request))
            guard let document = await emulator.microsoftConfiguration(tenant: tenant, baseURL: baseURL) else {
                let body = ErrorBodies.microsoftBody(
                    error: "invalid_tenant", code: 90002,
                    text: "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
                    suberror: nil, now: Date())
                return HTTPSupport.json(body, status: .badRequest)
            }
            return HTTPSupport.json(document)
        }

        router.get("/:tenant/discovery/v2.0/keys") { _, context in
            let tenant = context.parameters.get("tenant") ?? "common"
            guard await emulator.isKnownTenant(tenant) else {
                let body = ErrorBodies.microsoftBody(
                    error: "invalid_tenant", code: 90002, text: "Tenant '\(tenant)' not found.", suberror: nil, now: Date())
                return HTTPSupport.json(body, status: .badRequest)
            }
            return HTTPSupport.json(emulator.keys.microsoftJWKS())
        }
    }
}

extension IdentityEmulator {
    /// The OpenID Provider metadata Microsoft serves per tenant segment. For `common`/`organizations`
    /// the issuer is the template `{base}/{tenantid}/v2.0` (clients substitute the token's `tid`), as
    /// Microsoft does; `consumers` and specific tenants get their concrete tenant GUID.
    func microsoftConfiguration(tenant segment: String, baseURL: String) -> JSONValue? {
        guard isKnownTenant(segment) else { return nil }
        let specific = tenantID(forSegment: segment)
        let pathTenant = specific ?? segment.lowercased()
        let issuer = "\(baseURL)/\(specific ?? "{tenantid}")/v2.0"
        return .object([
            ("token_endpoint", .string("\(baseURL)/\(pathTenant)/oauth2/v2.0/token")),
            ("token_endpoint_auth_methods_supported", .array(["client_secret_post", "private_key_jwt", "client_secret_basic"].map { .string($0) })),
            ("jwks_uri", .string("\(baseURL)/\(pathTenant)/discovery/v2.0/keys")),
            ("response_modes_supported", .array(["query", "fragment", "form_post"].map { .string($0) })),
            ("subject_types_supported", .array([.string("pairwise")])),
            ("id_token_signing_alg_values_supported", .array([.string("RS256")])),
            ("response_types_supported", .array(["code", "id_token", "code id_token", "id_token token"].map { .string($0) })),
            ("scopes_supported", .array(["openid", "profile", "email", "offline_access"].map { .string($0) })),
            ("issuer", .string(issuer)),
            ("request_uri_parameter_supported", .bool(false)),
            ("authorization_endpoint", .string("\(baseURL)/\(pathTenant)/oauth2/v2.0/authorize")),
            ("http_logout_supported", .bool(true)),
            ("frontchannel_logout_supported", .bool(true)),
            ("claims_supported", .array(
                ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
                 "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
                 "c_hash", "email"].map { .string($0) })),
            ("tenant_region_scope", .null),
            ("cloud_instance_name", .string("microsoftonline.com")),
        ])
    }
}
