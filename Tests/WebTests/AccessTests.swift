import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
import Web

/// Who may see and change what: sign-in, sessions, roles and CSRF, on the real router and a real SQLite store.
@Suite("Signing in, roles and CSRF")
struct AccessTests {
    static func app(_ fixture: StoreFixture) throws -> some ApplicationProtocol {
        Application(router: try buildRouter(WebDependencies(
            store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil)))
    }

    static func form(_ pairs: [(String, String)]) -> ByteBuffer {
        let allowed = CharacterSet.alphanumerics
        return ByteBuffer(string: pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&"))
    }

    @Test("Strangers are sent to the sign-in page, which says how to create the first admin; the API answers 401")
    func strangers() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "access-strangers")
        try await Self.app(fixture).test(.router) { client in
            let tickets = try await client.execute(uri: "/tickets", method: .get)
            #expect(tickets.status == .seeOther)
            #expect(tickets.headers[.location] == "/signin?next=%2Ftickets")
            let signin = try await client.execute(uri: "/signin", method: .get)
            #expect(String(buffer: signin.body).contains("mailroom admin create --email you@example.com"))
            #expect(signin.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            let api = try await client.execute(uri: "/api/v1/tickets", method: .get)
            #expect(api.status == .unauthorized)
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test("Sign-in: the form token must match the browser's cookie, wrong passwords are refused and then throttled, the next page stays on this site, and signing out ends the session")
    func signInAndOut() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "access-signin")
        _ = try await Accounts(store: fixture.store, cost: 4).create(email: "lead@example.com", name: "Lead", role: .admin, password: "long enough password")
        try await Self.app(fixture).test(.router) { client in
            let page = try await client.execute(uri: "/signin", method: .get)
            let cookie = try #require(page.headers[.setCookie]).components(separatedBy: ";")[0]
            let token = String(cookie.dropFirst("mailroom_signin_form=".count))
            func post(_ password: String, token: String, cookie: String?, next: String = "/tickets") async throws -> TestResponse {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                if let cookie { headers[.cookie] = cookie }
                return try await client.execute(
                    uri: "/signin", method: .post, headers: headers,
                    body: Self.form([("email", "lead@example.com"), ("password", password), ("form_token", token), ("next", next)]))
            }
            // Another site's form cannot sign this browser in: it has no matching cookie.
            #expect(try await post("long enough password", token: token, cookie: nil).status == .forbidden)
            let wrong = try await post("wrong password", token: token, cookie: cookie)
            #expect(wrong.status == .unauthorized)
            #expect(String(buffer: wrong.body).contains("The email or password is wrong."))
            let good = try await post("long enough password", token: token, cookie: cookie, next: "//evil.example/")
            #expect(good.status == .seeOther)
            #expect(good.headers[.location] == "/tickets", "sign-in never sends the browser to another site")
            let session = try #require(good.headers[values: .setCookie].first { $0.hasPrefix("mailroom_session=") })
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax"))
            let sessionCookie = session.components(separatedBy: ";")[0]
            let tickets = try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: sessionCookie])
            #expect(tickets.status == .ok)
            let html = String(buffer: tickets.body)
            #expect(html.contains("Lead"))
            let csrf = try #require(FakeBrowser.inputs(in: html).first { $0.0 == "csrf" }?.1)
            // Signing out is a form too; without the token it is refused.
            #expect(try await client.execute(uri: "/signout", method: .post, headers: [.cookie: sessionCookie, .contentType: "application/x-www-form-urlencoded"]).status == .forbidden)
            let out = try await client.execute(
                uri: "/signout", method: .post, headers: [.cookie: sessionCookie, .contentType: "application/x-www-form-urlencoded"],
                body: Self.form([("csrf", csrf)]))
            #expect(out.status == .seeOther)
            #expect(try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: sessionCookie]).status == .seeOther)

            for _ in 0..<5 { _ = try await post("still wrong", token: token, cookie: cookie) }
            let locked = try await post("long enough password", token: token, cookie: cookie)
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Wait 15 minutes"))
        }
    }

    @Test("Agents work tickets but see no channel settings; admins get the reauthorization banner on every page; a form without its CSRF token changes nothing")
    func rolesBannerAndCSRF() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "access-roles")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "help@example.com", name: "Help", imapHost: "imap.example.com", username: "help@example.com").validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: "help@example.com")), at: Date())
        try await fixture.store.setHealth(mailbox.id, .incoming, ConnectionHealth(state: .reauthorizationRequired, cause: "x", fix: "y"))
        let agent = try await TestPeople.session(fixture.store, role: .agent)
        let admin = try await TestPeople.session(fixture.store, role: .admin)
        try await Self.app(fixture).test(.router) { client in
            let agentTickets = String(buffer: try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: agent.cookieHeader]).body)
            #expect(!agentTickets.contains("Admin › Channels › Email"))
            #expect(!agentTickets.contains("reauthorize-banner"), "agents cannot fix mailboxes; the banner is for admins")
            let forbidden = try await client.execute(uri: "/admin/channels/email", method: .get, headers: [.cookie: agent.cookieHeader])
            #expect(forbidden.status == .forbidden)
            #expect(String(buffer: forbidden.body).contains("Only admins"))
            #expect(try await client.execute(uri: "/api/v1/mailboxes", method: .get, headers: [.cookie: agent.cookieHeader]).status == .forbidden)

            let adminTickets = String(buffer: try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(adminTickets.contains("Please reauthorize your Email settings. Learn more about it <a href=\"/help/reauthorize\">here</a> or finish the setup in <a href=\"/admin/channels/email\">Email settings</a>"))
            let help = try await client.execute(uri: "/help/reauthorize", method: .get, headers: [.cookie: admin.cookieHeader])
            #expect(String(buffer: help.body).contains("Your Microsoft Office 365 credentials have expired. Please sign in again."))

            let paused = try await client.execute(
                uri: "/admin/channels/email/\(mailbox.id)/pause", method: .post,
                headers: [.cookie: admin.cookieHeader, .contentType: "application/x-www-form-urlencoded"], body: Self.form([("csrf", admin.csrf)]))
            #expect(paused.status == .seeOther)
            #expect(try await fixture.store.mailbox(mailbox.id)?.enabled == false)
            let pausedPage = String(buffer: try await client.execute(uri: "/admin/channels/email/\(mailbox.id)", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(pausedPage.contains(">Paused</span>"))
            #expect(pausedPage.contains("Resume fetching"))
            let pausedHealth = String(buffer: try await client.execute(
                uri: "/api/v1/mailboxes/\(mailbox.id)/health", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(pausedHealth.contains("\"paused\""), "the API reads a paused mailbox the way the page does")

            let forged = try await client.execute(
                uri: "/admin/channels/email/\(mailbox.id)/delete", method: .post,
                headers: [.cookie: admin.cookieHeader, .contentType: "application/x-www-form-urlencoded"], body: Self.form([("csrf", "guess")]))
            #expect(forged.status == .forbidden)
            #expect(try await fixture.store.mailbox(mailbox.id) != nil, "a forged form removes nothing")
            let removed = try await client.execute(
                uri: "/admin/channels/email/\(mailbox.id)/delete", method: .post,
                headers: [.cookie: admin.cookieHeader, .contentType: "application/x-www-form-urlencoded"], body: Self.form([("csrf", admin.csrf)]))
            #expect(removed.status == .seeOther)
            #expect(try await fixture.store.mailbox(mailbox.id) == nil)
            let after = String(buffer: try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(!after.contains("reauthorize-banner"), "the banner goes when no mailbox needs reauthorization")
        }
    }

    @Test("A Microsoft mailbox added with a password raises the banner at once, before the background job records «Migration to OAuth required»: the page and the banner agree")
    func bannerBeforeTheMarkIsRecorded() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "access-banner-migration")
        let mailbox = try await fixture.store.createMailbox(
            try MailboxDraft(email: "help@contoso.example", name: "Help", provider: .microsoft, username: "help@contoso.example").validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: "help@contoso.example")), at: Date())
        #expect(try await fixture.store.health(mailbox.id).isEmpty, "no state recorded yet")
        let admin = try await TestPeople.session(fixture.store, role: .admin)
        try await Self.app(fixture).test(.router) { client in
            let page = String(buffer: try await client.execute(
                uri: "/admin/channels/email/\(mailbox.id)", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(page.contains("Migration to OAuth required"))
            #expect(page.contains("id=\"reauthorize-banner\""), "the page says a sign-in is needed, so the banner does")
            let tickets = String(buffer: try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(tickets.contains("id=\"reauthorize-banner\""))

            try await fixture.store.setHealth(mailbox.id, .incoming, ConnectionHealth(state: .temporarilyFailing, cause: "x", fix: "y"))
            let outage = String(buffer: try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            #expect(!outage.contains("reauthorize-banner"), "the page reads «Temporarily failing», which no sign-in fixes")
        }
    }
}
