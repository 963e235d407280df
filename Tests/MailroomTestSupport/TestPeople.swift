import Foundation
import MailroomCore
import Storage
import Web

/// A signed-in browser as tests hold it: the session cookie and the CSRF token its forms carry.
public struct BrowserSession: Sendable {
    public var cookie: String
    public var csrf: String

    public init(cookie: String, csrf: String) {
        self.cookie = cookie
        self.csrf = csrf
    }

    public var cookieHeader: String { "mailroom_session=\(cookie)" }
}

/// The people tests sign in as, made the ways an operator makes them.
public enum TestPeople {
    public static let adminEmail = "admin@mailroom.test"
    public static let adminPassword = "correct horse battery staple"
    public static let agentEmail = "agent@mailroom.test"
    public static let agentPassword = "agent password 1234"

    /// `mailroom admin create` against a database (the operator's first step).
    public static func createAdmin(database: String, workdir: URL, email: String = adminEmail, password: String = adminPassword, role: String = "admin") throws {
        _ = try CLI.run(["admin", "create", "--database", database, "--email", email, "--name", "Ada Admin", "--role", role, "--password-stdin"],
                        input: password + "\n", workdir: workdir)
    }

    /// Signs in through the sign-in form of a running Mailroom, as a browser does.
    public static func signIn(base: String, email: String = adminEmail, password: String = adminPassword) async throws -> BrowserSession {
        let form = try await FakeBrowser.get("\(base)/signin")
        guard let formCookie = form.setCookies.first(where: { $0.hasPrefix("mailroom_signin_form=") }).map({ String($0.prefix { $0 != ";" }) }),
              let token = FakeBrowser.inputs(in: form.body).first(where: { $0.0 == "form_token" })?.1 else {
            throw BrowserError("the sign-in page has no form token: \(form.body.prefix(300))")
        }
        let answer = try await FakeBrowser.post(
            "\(base)/signin", form: [("email", email), ("password", password), ("form_token", token), ("next", "/tickets")], cookies: [formCookie])
        guard answer.status == 303,
              let session = answer.setCookies.first(where: { $0.hasPrefix("mailroom_session=") && !$0.hasPrefix("mailroom_session=;") }) else {
            throw BrowserError("sign-in as \(email) failed (\(answer.status)): \(answer.body.prefix(300))")
        }
        let cookie = String(session.dropFirst("mailroom_session=".count).prefix { $0 != ";" })
        let page = try await FakeBrowser.get("\(base)/tickets", cookies: ["mailroom_session=\(cookie)"])
        guard let csrf = FakeBrowser.inputs(in: page.body).first(where: { $0.0 == "csrf" })?.1 else {
            throw BrowserError("no CSRF token on the ticket list after signing in")
        }
        return BrowserSession(cookie: cookie, csrf: csrf)
    }

    /// A session straight from the store, for tests that drive the router in process.
    public static func session(_ store: SQLStore, role: UserRole = .admin, email: String? = nil) async throws -> BrowserSession {
        let address = email ?? (role == .admin ? adminEmail : agentEmail)
        let user = try await Accounts(store: store, cost: 4).create(
            email: address, name: role == .admin ? "Ada Admin" : "Art Agent", role: role, password: role == .admin ? adminPassword : agentPassword)
        let token = try await store.startSession(user: user, lifetime: 3600, at: Date())
        guard let session = try await store.session(token: token, at: Date()) else { throw BrowserError("the new session was not found") }
        return BrowserSession(cookie: token, csrf: session.csrfToken)
    }
}
