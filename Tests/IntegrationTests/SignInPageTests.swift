import Foundation
import IdentityEmulator
import MailroomTestSupport
import Testing

@Suite("«Sign in with Microsoft» through mailroom serve", .serialized)
struct SignInPageTests {
    @Test("The browser goes to the provider and back; Mailroom tests the connection with the new token, stores the mailbox, and its mail becomes tickets")
    func signInThroughServe() async throws {
        let emulator = try await TestServers.shared.emulator()
        let dovecot = try await TestServers.shared.dovecot()
        let account = await emulator.workAccount("serve")
        try dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "Printer on fire"),
                             simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "Invoice question")], to: account)
        let workdir = try TestPaths.temporaryDirectory("serve-signin")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let clientSecret = "serve-secret-\(UUID().uuidString)"
        let clientID = "serve-\(UUID().uuidString)"
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile, extraEnvironment: [
            "MAILROOM_MICROSOFT_CLIENT_ID": clientID, "MAILROOM_MICROSOFT_CLIENT_SECRET": clientSecret,
            "MAILROOM_MICROSOFT_AUTHORITY": emulator.baseURL,
        ])
        await emulator.emulator.addClient(EmulatorClient(
            id: clientID, secret: clientSecret, redirectURIs: ["http://127.0.0.1:\(server.port)/oauth/callback"], provider: .microsoft))
        try await server.waitUntilListening()
        let base = "http://127.0.0.1:\(server.port)"
        try TestPeople.createAdmin(database: database, workdir: workdir)
        let admin = try await TestPeople.signIn(base: base)
        func startSignIn() async throws -> FakeBrowser.Page {
            try await FakeBrowser.post("\(base)/oauth/start?provider=microsoft", form: [
                ("csrf", admin.csrf), ("name", "Support"), ("usage", "incoming"), ("imap_host", "localhost"),
                ("imap_port", String(dovecot.imapsPort)), ("email", account),
            ], cookies: [admin.cookieHeader])
        }

        let start = try await startSignIn()
        #expect(start.status == 303)
        let authorize = try #require(start.location)
        #expect(authorize.hasPrefix("\(emulator.baseURL)/common/oauth2/v2.0/authorize?"))
        let cookie = try #require(start.setCookies.first { $0.hasPrefix("mailroom_signin=") })
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))
        let session = String(cookie.prefix { $0 != ";" })

        let callback = try await FakeBrowser.signIn(at: authorize, as: account)
        #expect(callback.absoluteString.hasPrefix("\(base)/oauth/callback?"))
        let finished = try await FakeBrowser.get(callback.absoluteString, cookies: [session, admin.cookieHeader])
        #expect(finished.status == 303, "\(finished.body.prefix(500))")
        let mailboxPath = try #require(finished.location)
        #expect(mailboxPath.hasPrefix("/admin/channels/email/"))

        try await waitForTicketMessages(atLeast: 2, database: database, workdir: workdir, timeout: .seconds(60))
        let page = try await FakeBrowser.get(base + mailboxPath, cookies: [admin.cookieHeader])
        #expect(page.body.contains("Sign in with Microsoft as \(account)"))
        #expect(page.body.contains("Connected"))

        // The same callback again (a reload, or an attacker replaying it) is refused and stores nothing new.
        let replay = try await FakeBrowser.get(callback.absoluteString, cookies: [session, admin.cookieHeader])
        #expect(replay.status == 400)
        #expect(replay.body.contains("already used"))
        // A callback without the browser's sign-in cookie is refused too.
        let second = try await startSignIn()
        let secondCallback = try await FakeBrowser.signIn(at: try #require(second.location), as: account)
        let noCookie = try await FakeBrowser.get(secondCallback.absoluteString, cookies: [admin.cookieHeader])
        #expect(noCookie.status == 400)
        #expect(noCookie.body.contains("another browser session"))

        let code = FakeBrowser.query(callback)["code"] ?? "none"
        #expect(!server.log.contains(clientSecret))
        #expect(!server.log.contains(code))
        #expect(server.terminate() == 0)
    }
}
