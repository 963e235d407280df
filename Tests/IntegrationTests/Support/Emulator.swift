import AsyncHTTPClient
import Foundation
import IdentityEmulator
import Logging
import NIOCore
import OAuth

/// The identity emulator in this test process, and the apps Mailroom is registered as there.
struct EmulatorFixture: Sendable {
    let running: RunningEmulator
    var emulator: IdentityEmulator { running.emulator }
    var baseURL: String { running.baseURL }
    static let redirectURI = "http://127.0.0.1:9/oauth/callback"
    static let microsoftClient = EmulatorClient(id: "mailroom-tests-ms", secret: "ms-client-secret-\(UUID().uuidString)", redirectURIs: [redirectURI], provider: .microsoft)
    static let googleClient = EmulatorClient(id: "mailroom-tests-google", secret: "google-client-secret-\(UUID().uuidString)", redirectURIs: [redirectURI], provider: .google)
    /// One work tenant per test process.
    static let tenantID = UUID().uuidString.lowercased()
    static let tenantDomain = "contoso.example"

    /// - Parameter gated: behind a connection gate, so a test can make the host refuse or swallow connections
    ///   (``IdentityEmulator/networkOutage(_:)``); such an emulator is the test's own, never the shared one.
    static func start(gated: Bool = false) async throws -> EmulatorFixture {
        var logger = Logger(label: "identity-emulator")
        logger.logLevel = .warning
        let emulator = IdentityEmulator(clients: [microsoftClient, googleClient], logger: logger)
        return EmulatorFixture(running: try await IdentityEmulator.start(emulator: emulator, gated: gated))
    }

    /// Where Dovecot's oauth2 passdb introspects tokens (RFC 7662, HTTP Basic).
    var introspectionURL: String {
        let credentials = EmulatorDemoData.introspectionCredentials
        return baseURL.replacingOccurrences(of: "http://", with: "http://\(credentials.clientID):\(credentials.secret)@") + "/introspect"
    }

    /// Mailroom's OAuth apps pointed at the emulator, as an operator configures them.
    func providers(microsoftTenant: String = "common", http: OAuthHTTP = OAuthHTTP(), logger: Logger = Logger(label: "oauth")) -> OAuthProviders {
        OAuthProviders([
            .microsoft: .profile(.microsoft(
                clientID: Self.microsoftClient.id, clientSecret: Self.microsoftClient.secret, tenant: microsoftTenant,
                authority: URL(string: baseURL)!)),
            .google: .discovery(URL(string: "\(baseURL)/google/.well-known/openid-configuration")!, kind: .google,
                                clientID: Self.googleClient.id, clientSecret: Self.googleClient.secret),
        ], http: http, logger: logger)
    }

    /// A new work account in the test tenant (unique, so faults on it touch no other test).
    func workAccount(_ prefix: String, delegateOf shared: String? = nil) async -> String {
        let address = "\(uniqueUser(prefix))@\(Self.tenantDomain)"
        await emulator.addAccount(.microsoftWork(address, displayName: "Test \(prefix)", tenantID: Self.tenantID, tenantDomain: Self.tenantDomain, delegatedMailbox: shared))
        return address
    }

    func personalAccount(_ prefix: String, domain: String = "hotmail.com") async -> String {
        let address = "\(uniqueUser(prefix))@\(domain)"
        await emulator.addAccount(.microsoftPersonal(address, displayName: "Personal \(prefix)"))
        return address
    }

    func googleAccount(_ prefix: String) async -> String {
        let address = "\(uniqueUser(prefix))@gmail.example"
        await emulator.addAccount(.google(address, displayName: "Google \(prefix)"))
        return address
    }
}

/// Plays the admin's browser at the identity provider: opens the authorize URL, picks an account on the sign-in
/// page, and returns where the provider sends the browser back.
enum FakeBrowser {
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    struct Page: Sendable {
        var status: Int
        var location: String?
        var body: String
        var setCookies: [String]
    }

    static func get(_ url: String, cookies: [String] = []) async throws -> Page {
        var request = HTTPClientRequest(url: url)
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        return try await send(request)
    }

    static func post(_ url: String, form: [(String, String)], cookies: [String] = []) async throws -> Page {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._*"))
        let body = form.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        return try await send(request)
    }

    private static func send(_ request: HTTPClientRequest) async throws -> Page {
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 << 20)
        return Page(status: Int(response.status.code), location: response.headers.first(name: "Location"),
                    body: String(buffer: body), setCookies: response.headers["Set-Cookie"])
    }

    /// Signs in as `account` at an authorize URL and returns the callback URL the provider redirects to.
    static func signIn(at authorizeURL: String, as account: String) async throws -> URL {
        let page = try await get(authorizeURL)
        guard page.status == 200 else { throw BrowserError("the sign-in page answered \(page.status): \(page.body.prefix(300))") }
        let (action, fields) = try form(in: page.body, selecting: account)
        let target = action.hasPrefix("http") ? action : (URL(string: action, relativeTo: URL(string: authorizeURL))?.absoluteString ?? action)
        let answer = try await post(target, form: fields)
        guard (300...399).contains(answer.status), let location = answer.location, let url = URL(string: location) else {
            throw BrowserError("the sign-in page did not redirect (\(answer.status)): \(answer.body.prefix(300))")
        }
        return url
    }

    /// The form on the picker page that signs in as `account`: its action and every field it submits.
    static func form(in html: String, selecting account: String) throws -> (action: String, fields: [(String, String)]) {
        let forms = html.components(separatedBy: "<form").dropFirst()
        for form in forms {
            let body = form.components(separatedBy: "</form>")[0]
            let fields = inputs(in: body)
            guard fields.contains(where: { $0.0 == "account" && $0.1.lowercased() == account.lowercased() }) else { continue }
            return (attribute("action", in: body) ?? "", fields)
        }
        throw BrowserError("no sign-in button for \(account) on the page")
    }

    static func inputs(in html: String) -> [(String, String)] {
        html.components(separatedBy: "<input").dropFirst().compactMap { tag in
            let tag = tag.components(separatedBy: ">")[0]
            guard let name = attribute("name", in: tag) else { return nil }
            return (name, attribute("value", in: tag) ?? "")
        }
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard let range = tag.range(of: "\(name)=\"") else { return nil }
        let rest = tag[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return unescape(String(rest[..<end]))
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func query(_ url: URL) -> [String: String] {
        var result: [String: String] = [:]
        for item in URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? [] { result[item.name] = item.value ?? "" }
        return result
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
