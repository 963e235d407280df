import Foundation
import HTTPTypes
import Hummingbird
import MailroomCore

/// Signing in and out of Mailroom's pages.
struct SessionController: Sendable {
    let dependencies: WebDependencies
    let pages: PagesController
    let accounts: Accounts
    /// Ties the sign-in form to the browser that loaded it (double-submit), so no other site can sign a browser in.
    static let formCookie = "mailroom_signin_form"
    /// How long a sign-in lasts.
    static let lifetime: TimeInterval = 12 * 3600

    /// The sign-in page and form: public (the form carries its own double-submit token).
    func registerPublic(on router: some RouterMethods<AppRequestContext>) {
        router.get("signin", use: form)
        router.post("signin", use: signIn)
    }

    /// Signing out: for the signed-in, with the CSRF token.
    func register(on router: some RouterMethods<AppRequestContext>) {
        router.post("signout", use: signOut)
    }

    @Sendable func form(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.session != nil {
            return Response(status: .seeOther, headers: [.location: SessionMiddleware.safeNext(request.uri.queryParameters["next"].map(String.init) ?? "/tickets")])
        }
        return try await render(request: request, context: context, email: "", error: nil, status: .ok)
    }

    private func render(request: Request, context: AppRequestContext, email: String, error: String?, status: HTTPResponse.Status) async throws -> Response {
        // One token per browser while its cookie lives: a second load of the page (another tab, the favicon's
        // redirect) must not invalidate the form already shown.
        let existing = request.cookies[Self.formCookie]?.value ?? ""
        let token = existing.count == 64 && existing.allSatisfy(\.isHexDigit) ? existing : RandomToken.hex()
        var view: [String: Any] = [
            "form_token": token, "email": email,
            "next": SessionMiddleware.safeNext(request.uri.queryParameters["next"].map(String.init) ?? "/tickets"),
        ]
        if let error { view["error"] = error }
        if try await dependencies.store.userCount() == 0 { view["no_users"] = true }
        var response = try await pages.page(.signIn, title: "Sign in", nav: "", view, context: context, status: status).response(from: request, context: context)
        response.headers[.setCookie] = "\(Self.formCookie)=\(token); Path=/signin; HttpOnly; SameSite=Strict; Max-Age=3600\(secure)"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    struct SignInForm: Decodable {
        var email: String
        var password: String
        var form_token: String
        var next: String?
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard let form = try? URLEncodedFormDecoder().decode(SignInForm.self, from: String(buffer: body)) else {
            return try await render(request: request, context: context, email: "", error: "Enter your email and password.", status: .badRequest)
        }
        guard let expected = request.cookies[Self.formCookie]?.value, SessionMiddleware.constantTimeEqual(form.form_token, expected) else {
            return try await render(request: request, context: context, email: form.email, error: "The sign-in form expired. Please try again.", status: .forbidden)
        }
        let user: User
        switch try await accounts.authenticate(email: form.email, password: form.password, client: context.clientAddress) {
        case .accepted(let accepted): user = accepted
        case .refused:
            context.logger.notice("Sign-in refused", metadata: ["email": "\(form.email)"])
            return try await render(request: request, context: context, email: form.email, error: "The email or password is wrong.", status: .unauthorized)
        case .throttled(let reason):
            var response = try await render(request: request, context: context, email: form.email, error: reason.message, status: reason.status)
            response.headers[.retryAfter] = "\(reason.retryAfterSeconds)"
            return response
        }
        let token = try await dependencies.store.startSession(user: user, lifetime: Self.lifetime, at: Date())
        context.logger.info("Signed in", metadata: ["user": "\(user.email)", "role": "\(user.role.rawValue)"])
        var headers = HTTPFields()
        headers[.location] = SessionMiddleware.safeNext(form.next ?? "/tickets")
        headers.append(HTTPField(name: .setCookie, value: "\(sessionCookie)=\(token); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(Int(Self.lifetime))\(secure)"))
        headers.append(HTTPField(name: .setCookie, value: "\(Self.formCookie)=; Path=/signin; HttpOnly; SameSite=Strict; Max-Age=0"))
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let token = request.cookies[sessionCookie]?.value { try await dependencies.store.endSession(token: token) }
        var headers = HTTPFields()
        headers[.location] = "/signin"
        headers[.setCookie] = "\(sessionCookie)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\(secure)"
        return Response(status: .seeOther, headers: headers)
    }

    private var https: Bool { dependencies.publicURL?.hasPrefix("https:") == true }
    private var secure: String { https ? "; Secure" : "" }
    private var sessionCookie: String { SessionMiddleware.cookie(https: https) }
}
