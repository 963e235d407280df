import Foundation
import HTTPTypes
import Hummingbird
import MailroomCore
import Storage

/// Who is asking, and may they: reads the session cookie (or HTTP Basic credentials on the API), sends strangers
/// to the sign-in page, keeps agents out of channel settings, and refuses any state-changing request from a
/// browser session that does not carry the session's CSRF token.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let cookie = "mailroom_session"
    let store: SQLStore
    let accounts: Accounts

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var request = request
        let path = request.uri.path
        let isAPI = path.hasPrefix("/api/")
        if let token = request.cookies[Self.cookie]?.value, let session = try await store.session(token: token, at: Date()) {
            context.session = session
        } else if isAPI, let (email, password) = Self.basicCredentials(request.headers[.authorization]) {
            let user: User
            switch try await accounts.authenticate(email: email, password: password) {
            case .accepted(let accepted): user = accepted
            case .refused:
                context.logger.notice("API sign-in refused", metadata: ["email": "\(email)"])
                return try Self.apiError(.unauthorized, "The email or password is wrong.", request: request, context: context)
            case .throttled:
                return try Self.apiError(.tooManyRequests, SignInThrottle.message, request: request, context: context)
            }
            context.session = WebSession(user: user, csrfToken: "", expiresAt: Date())
            context.viaBasicAuth = true
        }
        if Self.isPublic(path) { return try await next(request, context) }
        guard let session = context.session else {
            if isAPI {
                return try Self.apiError(.unauthorized, "Sign in first: send the HTTP Basic credentials of a Mailroom user, or the session cookie with an X-CSRF-Token header.", request: request, context: context)
            }
            let target = request.method == .get ? Self.safeNext(request.uri.description) : "/tickets"
            return Response(status: .seeOther, headers: [.location: "/signin?next=\(target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"])
        }
        if Self.isAdminOnly(path), !session.user.isAdmin {
            let message = "Only admins can see and change channel settings. Ask an admin of this Mailroom."
            if isAPI { return try Self.apiError(.forbidden, message, request: request, context: context) }
            throw HTTPError(.forbidden, message: message)
        }
        // The API takes JSON only. A cross-site page can send a form or text/plain without asking, but not
        // application/json: so a browser that cached Basic credentials cannot be made to call the API by another site.
        if isAPI, [.post, .put, .patch].contains(request.method), request.headers[.contentType]?.lowercased().hasPrefix("application/json") != true {
            return try Self.apiError(.unsupportedMediaType, "Send a JSON body with Content-Type: application/json.", request: request, context: context)
        }
        if ![.get, .head, .options].contains(request.method), !context.viaBasicAuth {
            var presented = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? ""
            if presented.isEmpty, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                let body = try await request.collectBody(upTo: 1 << 20)
                presented = Self.formFields(String(buffer: body))["csrf"] ?? ""
            }
            guard Self.constantTimeEqual(presented, session.csrfToken) else {
                let message = "This form has expired or did not come from Mailroom. Reload the page and try again."
                if isAPI { return try Self.apiError(.forbidden, message, request: request, context: context) }
                throw HTTPError(.forbidden, message: message)
            }
        }
        return try await next(request, context)
    }

    static func isPublic(_ path: String) -> Bool {
        path == "/signin" || path == "/healthz" || path == "/api/openapi.yaml" || path.hasPrefix("/help/") || path.hasPrefix("/static/") || path == "/favicon.ico"
    }

    static func isAdminOnly(_ path: String) -> Bool {
        path.hasPrefix("/admin") || path.hasPrefix("/oauth/") || path.hasPrefix("/api/v1/mailboxes") || path.hasPrefix("/api/v1/oauth")
    }

    /// Only a path on this site, so the sign-in page cannot be used to send people elsewhere.
    static func safeNext(_ target: String) -> String {
        guard target.hasPrefix("/"), !target.hasPrefix("//"), !target.hasPrefix("/\\"), !target.contains("\r"), !target.contains("\n") else { return "/tickets" }
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

/// Slows down password guessing: after five wrong passwords for one address within 15 minutes, that address
/// cannot sign in for 15 minutes.
actor SignInThrottle {
    static let message = "Too many wrong passwords for this address. Wait 15 minutes and try again."
    private var failures: [String: [Date]] = [:]
    let limit = 5
    let window: TimeInterval = 900

    func isLocked(_ email: String, now: Date = Date()) -> Bool {
        (failures[email.lowercased()]?.filter { now.timeIntervalSince($0) < window }.count ?? 0) >= limit
    }

    func failed(_ email: String, now: Date = Date()) {
        let key = email.lowercased()
        failures[key] = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window } + [now]
        if failures.count > 10_000 { failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } } }
    }

    func succeeded(_ email: String) { failures[email.lowercased()] = nil }
}
