import AsyncHTTPClient
import Foundation
import NIOCore

/// Plays the admin's browser at the identity provider: opens the authorize URL, picks an account on the sign-in
/// page, and returns where the provider sends the browser back.
public enum FakeBrowser {
    public static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    public struct Page: Sendable {
        public var status: Int
        public var location: String?
        public var body: String
        public var setCookies: [String]
    }

    public static func get(_ url: String, cookies: [String] = []) async throws -> Page {
        var request = HTTPClientRequest(url: url)
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        return try await send(request)
    }

    public static func post(_ url: String, form: [(String, String)], cookies: [String] = []) async throws -> Page {
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
    public static func signIn(at authorizeURL: String, as account: String) async throws -> URL {
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
    public static func form(in html: String, selecting account: String) throws -> (action: String, fields: [(String, String)]) {
        let forms = html.components(separatedBy: "<form").dropFirst()
        for form in forms {
            let body = form.components(separatedBy: "</form>")[0]
            let fields = inputs(in: body)
            guard fields.contains(where: { $0.0 == "account" && $0.1.lowercased() == account.lowercased() }) else { continue }
            return (attribute("action", in: body) ?? "", fields)
        }
        throw BrowserError("no sign-in button for \(account) on the page")
    }

    public static func inputs(in html: String) -> [(String, String)] {
        html.components(separatedBy: "<input").dropFirst().compactMap { tag in
            let tag = tag.components(separatedBy: ">")[0]
            guard let name = attribute("name", in: tag) else { return nil }
            return (name, attribute("value", in: tag) ?? "")
        }
    }

    public static func attribute(_ name: String, in tag: String) -> String? {
        guard let range = tag.range(of: "\(name)=\"") else { return nil }
        let rest = tag[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return unescape(String(rest[..<end]))
    }

    public static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    public static func query(_ url: URL) -> [String: String] {
        var result: [String: String] = [:]
        for item in URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? [] { result[item.name] = item.value ?? "" }
        return result
    }
}

public struct BrowserError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
