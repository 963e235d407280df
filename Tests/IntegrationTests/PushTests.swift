import Engine
import Foundation
import MailroomCore
import MailroomTestSupport
import Testing

/// Push: one session per mailbox in IDLE (RFC 2177) against a real Dovecot. New mail is filed the moment the
/// server announces it, long before the poll interval; a session the server ends is opened again without the admin
/// seeing a failure; a server that stops announcing mail is caught by the reconciliation pass.
@Suite("Push: IDLE sessions against Dovecot", .serialized)
struct PushTests {
    struct World {
        let dovecot: Dovecot
        let fixture: StoreFixture
        let user: String
        let mailbox: Mailbox
        let logs: LogCapture
        let worker: Task<Void, any Error>

        /// A mailbox on Dovecot (through `port` when given: a proxy in front of Dovecot's plain port) and an
        /// InboundSync in push mode with a poll interval far longer than any wait in these tests.
        static func start(_ name: String, reconcile: Duration = .seconds(900), proxyPort: ((Dovecot) throws -> Int)? = nil) async throws -> World {
            let dovecot = try await TestServers.shared.dovecot()
            let fixture = try await StoreFixture.make(.sqlite, name: name)
            let user = uniqueUser(name)
            try dovecot.setUser(user, password: "pw-\(user)")
            try dovecot.ensureMaildir(user, folder: nil)
            let mailbox: Mailbox
            if let proxyPort {
                let draft = MailboxDraft(
                    email: "\(user)@helpdesk.example", name: "Support \(user)", provider: .other, usage: .incoming, imapHost: "127.0.0.1",
                    imapPort: try proxyPort(dovecot), imapSecurity: TransportSecurity.none, username: user)
                mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(draft, password: "pw-\(user)")
            } else {
                mailbox = try await fixture.addMailbox(user: user, password: "pw-\(user)", dovecot: dovecot)
            }
            let logs = LogCapture()
            let settings = SyncSettings(pollInterval: .seconds(60), trustedCertificatesPEMFile: dovecot.caFile, push: true, reconcileInterval: reconcile)
            let inbound = InboundSync(store: fixture.store, vault: fixture.vault, settings: settings, logger: logs.logger("push"))
            let worker = Task { try await inbound.run() }
            let world = World(dovecot: dovecot, fixture: fixture, user: user, mailbox: mailbox, logs: logs, worker: worker)
            try await world.waitUntil("the first pass") { try await fixture.store.health(mailbox.id)[.incoming]?.state == .connected }
            return world
        }

        func deliver(_ subject: String) throws {
            try dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: subject)], to: user)
        }

        /// Waits (up to `limit`) for `condition`; fails the test with the logs if it never holds.
        func waitUntil(_ what: String, limit: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("\(what) did not happen within \(limit): \(logs.text.suffix(3000))")
        }

        /// The mailbox never showed a failure: no failed attempt counted, and no failure in its activity log.
        func expectNoFailureShown(sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let health = try #require(try await fixture.store.health(mailbox.id)[.incoming], sourceLocation: sourceLocation)
            #expect(health.state == .connected, "\(health.state): \(health.cause ?? "")", sourceLocation: sourceLocation)
            #expect(health.consecutiveFailures == 0, sourceLocation: sourceLocation)
            let failures = try await fixture.store.activity(mailbox.id, limit: 100).filter {
                [HealthState.temporarilyFailing, .reauthorizationRequired, .actionNeededAtProvider].map(\.rawValue).contains($0.kind)
            }
            #expect(failures.isEmpty, "\(failures.map(\.text))", sourceLocation: sourceLocation)
        }

        func stop() async {
            worker.cancel()
            _ = await worker.result
        }
    }

    @Test("New mail becomes a ticket when Dovecot announces it, long before the 60-second poll could have fetched it")
    func newMailAtOnce() async throws {
        let world = try await World.start("push")
        for round in 1...3 {
            let before = ContinuousClock.now
            try world.deliver("Pushed \(round)")
            try await world.waitUntil("message \(round) filed") { try await world.fixture.store.messageCount() == round }
            // The bound proves push, not speed (the benchmark measures that): a poll would take 60 s.
            #expect(ContinuousClock.now - before < .seconds(20))
        }
        try await world.expectNoFailureShown()
        await world.stop()
    }

    @Test("Dovecot ends the session (doveadm kick kills its IMAP process): Mailroom reconnects, mail keeps arriving, and no failure is shown")
    func serverEndsSession() async throws {
        let world = try await World.start("kick")
        try world.deliver("Before the kick")
        try await world.waitUntil("the first message filed") { try await world.fixture.store.messageCount() == 1 }
        for round in 1...2 {
            _ = try world.dovecot.doveadm(["kick", world.user])
            try await Task.sleep(for: .milliseconds(300))
            try world.deliver("After kick \(round)")
            try await world.waitUntil("the message after kick \(round) filed") { try await world.fixture.store.messageCount() == round + 1 }
        }
        #expect(world.logs.text.contains("Session dropped; reconnecting"), "\(world.logs.text.suffix(2000))")
        try await world.expectNoFailureShown()
        await world.stop()
    }

    @Test("A server that never announces new mail in IDLE: the reconciliation pass files it, and the mailbox stays «Connected»")
    func silentServer() async throws {
        let proxy = ProxyHolder()
        let world = try await World.start("silent", reconcile: .seconds(3)) { dovecot in
            let started = try IMAPLineProxy(upstreamPort: dovecot.imapPort, swallowIdleAnnouncements: true)
            proxy.proxy = started
            return started.port
        }
        defer { proxy.proxy?.stop() }
        try world.deliver("Never announced")
        try await world.waitUntil("the unannounced message filed", limit: .seconds(30)) { try await world.fixture.store.messageCount() == 1 }
        #expect((proxy.proxy?.swallowed ?? 0) > 0, "the proxy swallowed no announcement, so this proved nothing")
        try await world.expectNoFailureShown()
        await world.stop()
    }

    final class ProxyHolder: @unchecked Sendable {
        var proxy: IMAPLineProxy?
    }
}
