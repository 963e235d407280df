import Foundation
import HTTPTypes
import Hummingbird
import MailroomCore

/// Who is asking: reads the session cookie into the context, and decides nothing. What a route needs (a
/// signed-in person, an admin, a CSRF token, the API's HTTP Basic) is the middleware of the route group it sits
/// in (see `RouteGuards.swift`), so no spelling of a path can skip a check.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// Under https the name carries the `__Host-` prefix: the browser then takes it only from this host, over
    /// https, for the whole site, so no subdomain or plain-http page can plant or shadow it.
    static func cookie(https: Bool) -> String { https ? "__Host-mailroom_session" : "mailroom_session" }
    let store: any AccountStore
    let https: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = request.cookies[Self.cookie(https: https)]?.value, let session = try await store.session(token: token, at: Date()) {
            context.session = session
        }
        return try await next(request, context)
    }

    /// Only a path on this site, so the sign-in page cannot be used to send people elsewhere.
    /// Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so `/\t/evil.example` is
    /// `//evil.example` to them: such a target, or one that parses with a scheme or a host, becomes `/tickets`.
    static func safeNext(_ target: String) -> String {
        let fallback = "/tickets"
        guard target.hasPrefix("/"), !target.hasPrefix("//"),
              !target.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || $0 == "\\" }),
              let parsed = URLComponents(string: target), parsed.scheme == nil, parsed.host == nil, parsed.user == nil
        else { return fallback }
        return target
    }

    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The fields of an `application/x-www-form-urlencoded` body; the first of repeated names wins.
    static func formFields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let key = String(parts[0]).removingPercentEncoding, fields[key] == nil,
                  let value = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { continue }
            fields[key] = value
        }
        return fields
    }

    /// Every value of a repeated field (checkboxes) of an `application/x-www-form-urlencoded` body.
    static func formValues(_ body: String, named name: String) -> [String] {
        body.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, String(parts[0]).removingPercentEncoding == name else { return nil }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !y.isEmpty else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func apiError(_ status: HTTPResponse.Status, _ message: String, request: Request, context: Context) throws -> Response {
        var response = try JSONResponse(value: APIResources.ErrorResource(error: message), status: status).response(from: request, context: context)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Basic realm=\"Mailroom\", charset=\"UTF-8\"" }
        return response
    }
}
