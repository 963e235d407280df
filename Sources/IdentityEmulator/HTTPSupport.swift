import Foundation
import Hummingbird

/// Request parsing and response building shared by all routes.
enum HTTPSupport {
    /// Bodies larger than this are refused (no OAuth request comes near it).
    static let maxBodySize = 256 * 1024

    static func query(_ request: Request) -> [String: String] {
        FormCoding.parse(request.uri.query ?? "")
    }

    /// Parses an `application/x-www-form-urlencoded` body; any other content type counts as empty, as
    /// the providers ignore bodies they cannot read (and then report the missing parameter).
    static func form(_ request: inout Request) async -> [String: String] {
        guard let type = request.headers[.contentType]?.lowercased(), type.hasPrefix("application/x-www-form-urlencoded") else {
            return [:]
        }
        guard let buffer = try? await request.collectBody(upTo: maxBodySize) else { return [:] }
        return FormCoding.parse(String(buffer: buffer))
    }

    /// Parses a JSON object body into strings (numbers and booleans as their text, arrays joined by
    /// spaces), for the control API; nil when the body is not a JSON object.
    static func jsonObject(_ request: inout Request) async -> [String: String]? {
        guard let buffer = try? await request.collectBody(upTo: maxBodySize) else { return nil }
        let data = Data(String(buffer: buffer).utf8)
        if data.isEmpty { return [:] }
        guard let object = try? JSONDecoder().decode([String: LooseJSONScalar].self, from: data) else { return nil }
        return object.mapValues(\.text)
    }

    /// A request header by (case-insensitive) name.
    static func header(_ request: Request, _ name: String) -> String? {
        let lowered = name.lowercased()
        return request.headers.first { $0.name.canonicalName == lowered }?.value
    }

    /// The request's `Host`, used for issuer URLs when no base URL is configured.
    static func host(_ request: Request) -> String? { request.head.authority }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8",
            .cacheControl: "no-store, no-cache",
        ]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String, status: HTTPResponse.Status = .found) -> Response {
        Response(status: status, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// Sends an authorization response in the requested `response_mode`.
    static func authorizeResponse(_ redirect: AuthorizeRedirect) -> Response {
        switch redirect.mode {
        case .query:
            return self.redirect(FormCoding.appendQuery(to: redirect.redirectURI, redirect.parameters))
        case .fragment:
            return self.redirect(redirect.redirectURI + "#" + FormCoding.encode(redirect.parameters))
        case .formPost:
            return html(Pages.formPost(redirect))
        }
    }

    static func render(_ outcome: AuthorizeOutcome, provider: EmulatorProviderKind, action: String) -> Response {
        switch outcome {
        case .picker(let request):
            return html(Pages.picker(request, action: action))
        case .errorPage(let title, let message):
            return html(Pages.error(title: title, message: message, provider: provider), status: .badRequest)
        case .redirect(let redirect):
            return authorizeResponse(redirect)
        }
    }

    /// Renders a token-endpoint result (success JSON or the provider's error body).
    static func tokenResponse(
        _ result: Result<JSONValue, TokenError>, provider: EmulatorProviderKind, tenant: String?
    ) -> Response {
        switch result {
        case .success(let body):
            return json(body)
        case .failure(let error):
            let rendered = ErrorBodies.render(error, provider: provider, tenant: tenant, now: Date())
            var headers: HTTPFields = [:]
            if let retryAfter = rendered.retryAfter { headers[.retryAfter] = String(retryAfter) }
            if rendered.status == 401, provider == .google { headers[.wwwAuthenticate] = "Basic realm=\"oauth2\"" }
            return json(rendered.body, status: HTTPResponse.Status(code: rendered.status), headers: headers)
        }
    }

    static func tokenRequest(
        _ request: inout Request, provider: EmulatorProviderKind, tenant: String?, baseURL: String
    ) async -> TokenRequest {
        let form = await form(&request)
        return TokenRequest(
            provider: provider, tenant: tenant, form: form,
            basic: FormCoding.basicCredentials(request.headers[.authorization]), baseURL: baseURL)
    }
}

/// A JSON value read as text: the control API accepts `"on": true` as well as `"on": "true"`.
struct LooseJSONScalar: Decodable {
    let text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            text = value ? "true" : "false"
        } else if let value = try? container.decode(Int.self) {
            text = String(value)
        } else if let value = try? container.decode(Double.self) {
            text = String(value)
        } else if let value = try? container.decode(String.self) {
            text = value
        } else if let value = try? container.decode([String].self) {
            text = value.joined(separator: " ")
        } else if container.decodeNil() {
            text = ""
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unsupported value")
        }
    }
}
