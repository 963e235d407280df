import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailroomCore
import MailroomTestSupport
import Testing
import Web

/// The router on the in-memory store: route checks in milliseconds, no database or mail server.
@Suite("Web routes on the in-memory store")
struct WebRoutesTests {
    static func app(_ store: InMemoryStore) throws -> some ApplicationProtocol {
        Application(router: try buildRouter(WebDependencies(store: store, mailboxes: MailboxService(store: store, vault: TestVault()), inbound: nil)))
    }

    /// A session straight from the store: the cookie and CSRF headers a signed-in browser sends.
    static func signedIn(_ store: InMemoryStore, role: UserRole) async throws -> HTTPFields {
        let user = try await Accounts(store: store, cost: 4).create(email: "\(role.rawValue)@web.test", name: role.displayName, role: role, password: "long enough password")
        let token = try await store.startSession(user: user, lifetime: 3600, at: Date())
        let session = try #require(try await store.session(token: token, at: Date()))
        return [.cookie: "mailroom_session=\(token)", HTTPField.Name("X-CSRF-Token")!: session.csrfToken]
    }

    @Test("Signed out, the channel settings send the browser to sign in; an agent gets 403; an admin sees the page")
    func channelSettingsByRole() async throws {
        let store = InMemoryStore()
        let agent = try await Self.signedIn(store, role: .agent)
        let admin = try await Self.signedIn(store, role: .admin)
        try await Self.app(store).test(.router) { client in
            let stranger = try await client.execute(uri: "/admin/channels/email", method: .get)
            #expect(stranger.status == .seeOther)
            #expect(stranger.headers[.location]?.hasPrefix("/signin") == true)
            #expect(try await client.execute(uri: "/admin/channels/email", method: .get, headers: agent).status == .forbidden)
            #expect(try await client.execute(uri: "/api/v1/mailboxes", method: .get, headers: agent).status == .forbidden)
            #expect(try await client.execute(uri: "/admin/channels/email", method: .get, headers: admin).status == .ok)
        }
    }

    @Test("Signing in through the form starts a session the pages accept; signing out ends it")
    func signInAndOut() async throws {
        let store = InMemoryStore()
        _ = try await Accounts(store: store, cost: 4).create(email: "lead@web.test", name: "Lead", role: .admin, password: "long enough password")
        try await Self.app(store).test(.router) { client in
            let page = try await client.execute(uri: "/signin", method: .get)
            let formCookie = try #require(page.headers[.setCookie]).components(separatedBy: ";")[0]
            let token = String(formCookie.dropFirst("mailroom_signin_form=".count))
            let answer = try await client.execute(
                uri: "/signin", method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: formCookie],
                body: ByteBuffer(string: "email=lead%40web.test&password=long+enough+password&form_token=\(token)&next=%2Ftickets"))
            #expect(answer.status == .seeOther)
            let session = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix("mailroom_session=") })
                .components(separatedBy: ";")[0]
            let tickets = try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: session])
            #expect(tickets.status == .ok)
            let csrf = try #require(try await store.session(token: String(session.dropFirst("mailroom_session=".count)), at: Date())).csrfToken
            let out = try await client.execute(
                uri: "/signout", method: .post, headers: [.cookie: session, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(csrf)"))
            #expect(out.status == .seeOther)
            #expect(try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: session]).status == .seeOther)
        }
    }

    @Test("/healthz answers 200 while the store answers and 503 when it does not")
    func healthz() async throws {
        let store = InMemoryStore()
        try await Self.app(store).test(.router) { client in
            let answering = try await client.execute(uri: "/healthz", method: .get)
            #expect(answering.status == .ok)
            await store.setReachable(false)
            let unreachable = try await client.execute(uri: "/healthz", method: .get)
            #expect(unreachable.status == .serviceUnavailable)
        }
    }
}
