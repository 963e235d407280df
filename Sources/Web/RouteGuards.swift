import Foundation
import HTTPTypes
import Hummingbird
import MailroomCore

/// The one spelling of a path that routing and authorization both see. The router drops empty segments, so
/// `/api/v1//mailboxes` would reach the same handler as `/api/v1/mailboxes`: anything not in its plain form is
/// refused or sent to its plain form before any route, role or session is looked at.
public enum CanonicalPath: Equatable, Sendable {
    case canonical
    /// The same place spelled plainly; safe to redirect a GET to.
    case redirect(String)
    /// Encoded slashes, backslashes, encoded dots or control characters: no honest client sends them.
    case refuse

    public static func judge(_ path: String) -> CanonicalPath {
        guard path.hasPrefix("/") else { return .refuse }
        let lowered = path.lowercased()
        if path.contains("\\") || lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("%2e") || lowered.contains("%00")
            || path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return .refuse
        }
        if path == "/" { return .canonical }
        var resolved: [Substring] = []
        var plain = true
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            switch segment {
            case "", ".": plain = false
            case "..":
                plain = false
                _ = resolved.popLast()
            default: resolved.append(segment)
            }
        }
        return plain ? .canonical : .redirect("/" + resolved.joined(separator: "/"))
    }
}

/// First of all middleware: the canonical-path rule above. A GET or HEAD is redirected (308) to the plain
/// spelling; anything else is refused with 400, since a redirected POST would repeat its body somewhere else.
struct CanonicalPathMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch CanonicalPath.judge(request.uri.path) {
        case .canonical:
            return try await next(request, context)
        case .redirect(let target) where request.method == .get || request.method == .head:
            let query = request.uri.query.map { "?" + $0 } ?? ""
            return Response(status: .permanentRedirect, headers: [.location: target + query])
        case .redirect, .refuse:
            throw HTTPError(.badRequest, message: "This address is not written in its plain form. Use the address without empty, «.» or «..» parts and without encoded slashes.")
        }
    }
}

/// Pages for signed-in people: a stranger is sent to the sign-in page (and back here after it).
struct SignedInPagesMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.session != nil else {
            let target = request.method == .get ? SessionMiddleware.safeNext(request.uri.description) : "/tickets"
            return Response(status: .seeOther, headers: [.location: "/signin?next=\(target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"])
        }
        return try await next(request, context)
    }
}

/// The API's door: the session cookie, or HTTP Basic credentials of a Mailroom user (checked by the same
/// throttled password check as the sign-in page). It takes JSON only: a cross-site page can send a form or
/// text/plain without asking, but not application/json, so a browser that cached Basic credentials cannot be made
/// to call the API by another site.
struct APIGateMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if context.session == nil, let (email, password) = SessionMiddleware.basicCredentials(request.headers[.authorization]) {
            switch try await accounts.authenticate(email: email, password: password, client: context.clientAddress) {
            case .accepted(let user):
                context.session = WebSession(user: user, csrfToken: "", expiresAt: Date())
                context.viaBasicAuth = true
            case .refused:
                context.logger.notice("API sign-in refused", metadata: ["email": "\(email)"])
                return try SessionMiddleware.apiError(.unauthorized, "The email or password is wrong.", request: request, context: context)
            case .throttled(let reason):
                var response = try SessionMiddleware.apiError(reason.status, reason.message, request: request, context: context)
                response.headers[.retryAfter] = "\(reason.retryAfterSeconds)"
                return response
            }
        }
        guard context.session != nil else {
            return try SessionMiddleware.apiError(.unauthorized, "Sign in first: send the HTTP Basic credentials of a Mailroom user, or the session cookie with an X-CSRF-Token header.", request: request, context: context)
        }
        if [.post, .put, .patch].contains(request.method), request.headers[.contentType]?.lowercased().hasPrefix("application/json") != true {
            return try SessionMiddleware.apiError(.unsupportedMediaType, "Send a JSON body with Content-Type: application/json.", request: request, context: context)
        }
        return try await next(request, context)
    }
}

/// Channel settings, sign-ins and connection tests: admins only. Placed on the route groups that hold them, so
/// no spelling of a path can reach them without it.
struct AdminOnlyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let message = "Only admins can see and change channel settings. Ask an admin of this Mailroom."
    /// Answer in JSON (the API) rather than with a page.
    let api: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.session?.user.isAdmin == true else {
            if api { return try SessionMiddleware.apiError(.forbidden, Self.message, request: request, context: context) }
            throw HTTPError(.forbidden, message: Self.message)
        }
        return try await next(request, context)
    }
}

/// Refuses any state-changing request from a browser session that does not carry the session's CSRF token (a
/// header, or the `csrf` field of a form). HTTP Basic callers carry no ambient cookie and need none.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let message = "This form has expired or did not come from Mailroom. Reload the page and try again."
    let api: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if ![.get, .head, .options].contains(request.method), !context.viaBasicAuth {
            var presented = request.headers[.csrfToken] ?? ""
            if presented.isEmpty, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                let body = try await request.collectBody(upTo: 1 << 20)
                presented = SessionMiddleware.formFields(String(buffer: body))["csrf"] ?? ""
            }
            guard let session = context.session, SessionMiddleware.constantTimeEqual(presented, session.csrfToken) else {
                if api { return try SessionMiddleware.apiError(.forbidden, Self.message, request: request, context: context) }
                throw HTTPError(.forbidden, message: Self.message)
            }
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}
