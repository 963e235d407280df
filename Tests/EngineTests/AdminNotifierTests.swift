import Engine
import Foundation
import Logging
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

@Suite("Admin notices: once per episode, and said plainly when they cannot be sent")
struct AdminNotifierTests {
    @Test("Without a default outgoing server the notice is recorded as unsendable once per episode; a Basic Auth Microsoft mailbox is marked for migration; a transient failure waits for the alert delay")
    func oncePerEpisode() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "notifier")
        let store = fixture.store
        // The notifier only reads who the admins are; how their password is hashed is the Web module's business.
        _ = try await store.createUser(email: "lead@example.com", name: "Lead", role: .admin, passwordHash: "not a hash", at: Date())
        let other = try await store.createMailbox(
            try MailboxDraft(email: "help@example.com", name: "Help", imapHost: "imap.example.com", username: "help@example.com").validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: "help@example.com")), at: Date())
        let microsoft = try await store.createMailbox(
            try MailboxDraft(email: "ms@contoso.example", name: "MS", provider: .microsoft, username: "ms@contoso.example").validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: "ms@contoso.example")), at: Date())
        let notifier = AdminNotifier(store: store, relay: nil, settings: .init(transientAlertAfter: 3600), logger: Logger(label: "notifier"))
        func notices(_ id: MailboxID) async throws -> [String] {
            try await store.activity(id, limit: 100).filter { $0.kind == "notice" }.map(\.text)
        }

        await notifier.pass()
        #expect(try await store.health(microsoft.id)[.incoming]?.state == .migrationRequired, "the background job marks Basic Auth on Microsoft")
        #expect(try await notices(microsoft.id) == ["The admins could not be emailed: no default outgoing server is configured (MAILROOM_SMTP_URL)."])
        #expect(try await notices(other.id).isEmpty)

        // A temporary failure reaches the admins only once it has lasted the alert delay.
        let now = Date()
        try await store.setHealth(other.id, .incoming, ConnectionHealth(state: .temporarilyFailing, cause: "down", since: now))
        await notifier.pass(now: now.addingTimeInterval(60))
        #expect(try await notices(other.id).isEmpty)
        await notifier.pass(now: now.addingTimeInterval(3601))
        #expect(try await notices(other.id).count == 1)
        await notifier.pass(now: now.addingTimeInterval(3700))
        #expect(try await notices(other.id).count == 1, "one notice per episode, not one per pass")
        #expect(try await store.health(other.id)[.incoming]?.notifiedState == .temporarilyFailing)

        try await store.setHealth(other.id, .incoming, ConnectionHealth(state: .connected, lastSuccessAt: Date()))
        await notifier.pass()
        await notifier.pass()
        #expect(try await notices(other.id).count == 2, "and one when it recovers")
        #expect(try await store.health(other.id)[.incoming]?.notifiedState == nil)
    }

    @Test("A notifier pass that listed a Microsoft mailbox before its sign-in was replaced does not mark it for migration again")
    func staleCopyAfterSignIn() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "notifier-stale")
        let store = fixture.store
        let email = "ms@contoso.example"
        let before = try await store.createMailbox(
            try MailboxDraft(email: email, name: "MS", provider: .microsoft, username: email).validated(),
            incomingSecret: try fixture.vault.seal("pw", for: .password(of: email)), at: Date())
        // «Sign in with Microsoft»: the mailbox moves to OAuth and its health is reset, while a pass holds `before`.
        let grant = StoredGrant(
            provider: "microsoft", tenant: nil, account: email, subject: "sub", scopes: ["a"],
            accessToken: try fixture.vault.seal("access", for: .accessToken(of: email)), accessTokenExpiresAt: Date().addingTimeInterval(3600),
            refreshToken: try fixture.vault.seal("refresh", for: .refreshToken(of: email)), obtainedAt: Date(), refreshedAt: nil)
        var incoming = try #require(before.incoming)
        incoming.authentication = .oauth2
        let after = try await store.reconnect(before.id, Reconnection(
            provider: .microsoft, incoming: incoming, outgoing: nil, grant: grant, restartAt: nil, summary: "Signed in with Microsoft"), at: Date())
        let recorder = HealthRecorder(store: store, logger: Logger(label: "health"))
        await recorder.reset(after, .incoming, text: "Sign in with Microsoft works.")
        #expect(try await store.health(before.id)[.incoming]?.state == .connected)

        #expect(await recorder.applyConfiguration(before, .incoming) == false, "the copy still on Basic Auth is not what is saved")
        #expect(try await store.health(before.id)[.incoming]?.state == .connected)
        let notifier = AdminNotifier(store: store, relay: nil, settings: .init(), logger: Logger(label: "notifier"))
        await notifier.pass()
        #expect(try await store.health(before.id)[.incoming]?.state == .connected)
        // A pass that began after the reset on a session opened with the password: its result is judged by the
        // mailbox as it is now, not by the session's copy (seen once in the browser test of Case 1).
        let later = Date().addingTimeInterval(1)
        await recorder.succeeded(before, .incoming, works: "Fetching works.", startedAt: later, at: later)
        #expect(try await store.health(before.id)[.incoming]?.state == .connected)
        await recorder.failed(before, .incoming, Diagnosis.incoming(ConnectionFailure(kind: .timeout), server: incoming, provider: .microsoft),
                              startedAt: later.addingTimeInterval(1), at: later.addingTimeInterval(1))
        #expect(try await store.health(before.id)[.incoming]?.state == .temporarilyFailing, "not «Migration to OAuth required»")
    }
}
