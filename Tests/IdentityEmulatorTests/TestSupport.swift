import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import IdentityEmulator

/// Shared fixtures and helpers for driving the emulator over HTTP, as Mailroom's OAuth client would.
enum Fixture {
    static let microsoftClient = EmulatorDemoData.microsoftClient
    static let googleClient = EmulatorDemoData.googleClient
    static let redirect = "http://127.0.0.1:8080/oauth/callback"
    /// RFC 7636 Appendix B test vector, so PKCE is checked against an independent computation.
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let outlookScopes =
        "openid profile email offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send"
    static let googleScopes = "openid email profile https://mail.google.com/"
    static let base = "http://emulator.test"

    static func emulator(logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) -> IdentityEmulator {
        IdentityEmulator.demo(baseURL: base, logger: logger)
    }

    static func application(_ emulator: IdentityEmulator) -> some ApplicationProtocol {
        Application(router: emulator.makeRouter())
    }
}

func formEncode(_ pairs: [(String, String)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return pairs.map { key, value in
        "\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
    }.joined(separator: "&")
}

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

func basicHeader(_ id: String, _ secret: String) -> String {
    "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
}

/// A parsed JSON response.
struct JSONResponse {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let object: [String: Any]
    let text: String

    subscript(_ key: String) -> Any? { object[key] }
    func string(_ key: String) -> String? { object[key] as? String }
    func int(_ key: String) -> Int? { (object[key] as? NSNumber)?.intValue }
}

func parseJSON(_ response: TestResponse) throws -> JSONResponse {
    let text = String(buffer: response.body)
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    return JSONResponse(status: response.status, headers: response.headers, object: object, text: text)
}

/// Query (or fragment) items of a redirect Location.
func redirectParameters(_ location: String?) -> [String: String] {
    guard let location, let components = URLComponents(string: location) else { return [:] }
    var result: [String: String] = [:]
    for item in components.queryItems ?? [] { result[item.name] = item.value ?? "" }
    return result
}

struct AuthorizeOptions {
    var scope = Fixture.outlookScopes
    var state: String? = "st-123"
    var nonce: String? = "n-456"
    var challenge: String? = Fixture.challenge
    var method: String? = "S256"
    var redirect = Fixture.redirect
    var extra: [(String, String)] = []
}

func authorizeParameters(clientID: String, _ options: AuthorizeOptions) -> [(String, String)] {
    var pairs: [(String, String)] = [
        ("client_id", clientID), ("response_type", "code"), ("redirect_uri", options.redirect), ("scope", options.scope),
    ]
    if let state = options.state { pairs.append(("state", state)) }
    if let nonce = options.nonce { pairs.append(("nonce", nonce)) }
    if let challenge = options.challenge { pairs.append(("code_challenge", challenge)) }
    if let method = options.method { pairs.append(("code_challenge_method", method)) }
    return pairs + options.extra
}

/// Signs in through the picker (GET the page, POST the account) and returns the redirect parameters.
func signIn(
    _ client: some TestClientProtocol, path: String, clientID: String, account: String, options: AuthorizeOptions = AuthorizeOptions()
) async throws -> [String: String] {
    let parameters = authorizeParameters(clientID: clientID, options)
    let page = try await client.execute(uri: path + "?" + formEncode(parameters), method: .get)
    #expect(page.status == .ok)
    #expect(String(buffer: page.body).contains(account))
    let post = try await client.execute(
        uri: path, method: .post, headers: formHeaders,
        body: ByteBuffer(string: formEncode(parameters + [("account", account)])))
    #expect(post.status == .found)
    return redirectParameters(post.headers[.location])
}

func microsoftSignIn(
    _ client: some TestClientProtocol, tenant: String = "organizations", account: String, options: AuthorizeOptions = AuthorizeOptions()
) async throws -> [String: String] {
    try await signIn(
        client, path: "/\(tenant)/oauth2/v2.0/authorize", clientID: Fixture.microsoftClient.id, account: account, options: options)
}

func googleSignIn(_ client: some TestClientProtocol, account: String, options: AuthorizeOptions) async throws -> [String: String] {
    try await signIn(client, path: "/google/o/oauth2/v2/auth", clientID: Fixture.googleClient.id, account: account, options: options)
}

/// POSTs a form to a token endpoint.
func postForm(
    _ client: some TestClientProtocol, _ path: String, _ pairs: [(String, String)], headers: HTTPFields = [:]
) async throws -> JSONResponse {
    var all = formHeaders
    all.append(contentsOf: headers)
    let response = try await client.execute(uri: path, method: .post, headers: all, body: ByteBuffer(string: formEncode(pairs)))
    return try parseJSON(response)
}

func microsoftToken(
    _ client: some TestClientProtocol, tenant: String = "organizations", _ pairs: [(String, String)],
    clientAuth: Bool = true
) async throws -> JSONResponse {
    let auth: [(String, String)] =
        clientAuth ? [("client_id", Fixture.microsoftClient.id), ("client_secret", Fixture.microsoftClient.secret)] : []
    return try await postForm(client, "/\(tenant)/oauth2/v2.0/token", auth + pairs)
}

func redeemMicrosoftCode(
    _ client: some TestClientProtocol, tenant: String = "organizations", code: String, verifier: String = Fixture.verifier
) async throws -> JSONResponse {
    try await microsoftToken(
        client, tenant: tenant,
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Fixture.redirect), ("code_verifier", verifier)])
}

func googleToken(_ client: some TestClientProtocol, _ pairs: [(String, String)]) async throws -> JSONResponse {
    try await postForm(
        client, "/google/token",
        [("client_id", Fixture.googleClient.id), ("client_secret", Fixture.googleClient.secret)] + pairs)
}

/// Runs the Microsoft code flow for `account` and returns the token response.
func microsoftTokens(
    _ client: some TestClientProtocol, tenant: String = "organizations", account: String, scope: String = Fixture.outlookScopes
) async throws -> JSONResponse {
    var options = AuthorizeOptions()
    options.scope = scope
    let redirect = try await microsoftSignIn(client, tenant: tenant, account: account, options: options)
    let code = try #require(redirect["code"])
    let tokens = try await redeemMicrosoftCode(client, tenant: tenant, code: code)
    #expect(tokens.status == .ok)
    return tokens
}

func refreshMicrosoft(_ client: some TestClientProtocol, _ refreshToken: String, tenant: String = "organizations") async throws
    -> JSONResponse
{
    try await microsoftToken(client, tenant: tenant, [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
}

/// Checks the exact Microsoft error shape and returns the AADSTS code.
func expectMicrosoftError(
    _ response: JSONResponse, status: HTTPResponse.Status, error: String, code: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.string("error") == error, sourceLocation: sourceLocation)
    #expect((response["error_codes"] as? [NSNumber])?.map(\.intValue) == [code], sourceLocation: sourceLocation)
    #expect(response.string("error_uri") == "https://login.microsoftonline.com/error?code=\(code)", sourceLocation: sourceLocation)
    let description = response.string("error_description") ?? ""
    let lines = description.components(separatedBy: "\r\n")
    #expect(lines.count == 4, sourceLocation: sourceLocation)
    #expect(lines.first?.hasPrefix("AADSTS\(code): ") == true, sourceLocation: sourceLocation)
    #expect(lines.dropFirst().first == "Trace ID: \(response.string("trace_id") ?? "?")", sourceLocation: sourceLocation)
    #expect(lines.dropFirst(2).first == "Correlation ID: \(response.string("correlation_id") ?? "?")", sourceLocation: sourceLocation)
    let timestamp = response.string("timestamp") ?? ""
    #expect(lines.last == "Timestamp: \(timestamp)", sourceLocation: sourceLocation)
    #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/) != nil, sourceLocation: sourceLocation)
    #expect(response.string("trace_id")?.count == 36, sourceLocation: sourceLocation)
}

/// `GET /emulator/state`: accounts, faults, the clock's offset and the audit list.
func state(_ client: some TestClientProtocol) async throws -> JSONResponse {
    try parseJSON(try await client.execute(uri: "/emulator/state", method: .get))
}

/// `POST /emulator/control/<action>` with a JSON body, as a test driving a separately running emulator sends it.
func control(_ client: some TestClientProtocol, _ action: String, _ json: String) async throws -> JSONResponse {
    try parseJSON(
        try await client.execute(
            uri: "/emulator/control/\(action)", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: json)))
}

func introspect(
    _ client: some TestClientProtocol, token: String, service: String? = nil,
    credentials: (String, String)? = (EmulatorDemoData.introspectionCredentials.clientID, EmulatorDemoData.introspectionCredentials.secret)
) async throws -> JSONResponse {
    var headers: HTTPFields = [:]
    if let credentials { headers[.authorization] = basicHeader(credentials.0, credentials.1) }
    if let service { headers[.init("X-Dovecot-Auth-Service")!] = service }
    return try await postForm(client, "/introspect", [("token", token)], headers: headers)
}
