import Foundation
import MailroomCore
import Storage
import Web

/// A signed-in browser as tests hold it: the session cookie and the CSRF token its forms carry.
struct BrowserSession: Sendable {
    var cookie: String
    var csrf: String
    var cookieHeader: String { "mailroom_session=\(cookie)" }
}

/// The people tests sign in as, made the ways an operator makes them.
enum TestPeople {
    static let adminEmail = "admin@mailroom.test"
    static let adminPassword = "correct horse battery staple"
    static let agentEmail = "agent@mailroom.test"
    static let agentPassword = "agent password 1234"

    /// `mailroom admin create` against a database (the operator's first step).
    static func createAdmin(database: String, workdir: URL, email: String = adminEmail, password: String = adminPassword, role: String = "admin") throws {
        _ = try CLI.run(["admin", "create", "--database", database, "--email", email, "--name", "Ada Admin", "--role", role, "--password-stdin"],
                        input: password + "\n", workdir: workdir)
    }

    /// Signs in through the sign-in form of a running Mailroom, as a browser does.
    static func signIn(base: String, email: String = adminEmail, password: String = adminPassword) async throws -> BrowserSession {
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
    static func session(_ store: SQLStore, role: UserRole = .admin, email: String? = nil) async throws -> BrowserSession {
        let address = email ?? (role == .admin ? adminEmail : agentEmail)
        let user = try await Accounts(store: store, cost: 4).create(
            email: address, name: role == .admin ? "Ada Admin" : "Art Agent", role: role, password: role == .admin ? adminPassword : agentPassword)
        let token = try await store.startSession(user: user, lifetime: 3600, at: Date())
        guard let session = try await store.session(token: token, at: Date()) else { throw BrowserError("the new session was not found") }
        return BrowserSession(cookie: token, csrf: session.csrfToken)
    }
}

extension WebDriver {
    /// Signs in through Mailroom's sign-in form, as a person does.
    func signIn(base: String, email: String = TestPeople.adminEmail, password: String = TestPeople.adminPassword) async throws {
        try await go("\(base)/signin")
        try await type("#signin-email", email)
        try await type("#signin-password", password)
        try await click("#signin-submit")
        try await waitFor("#current-user")
    }

    /// Loads `url` until its page contains every one of `texts` (the workers run in the background), and returns it.
    @discardableResult
    func reload(_ url: String, until texts: [String], timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var page = ""
        while ContinuousClock.now < deadline {
            try await go(url)
            page = try await source()
            if texts.allSatisfy(page.contains) { return page }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw BrowserError("\(url) never showed \(texts.filter { !page.contains($0) }); it shows: \(page.prefix(2000))")
    }
}
