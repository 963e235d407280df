import Engine
import Foundation
import IdentityEmulator
import MailroomCore
import MailroomTestSupport
import OAuth
import Synchronization
import Testing

/// A dead identity provider costs only its own mailboxes: a password mailbox beside an OAuth mailbox whose provider
/// refuses connections, or accepts them and never answers, keeps fetching at its poll interval.
@Suite("Fault isolation between mailboxes", .serialized)
struct FaultIsolationTests {
    @Test("The provider down: the OAuth mailbox is «Temporarily failing» after its first attempt; the password mailbox beside it files new mail within two poll intervals",
          arguments: NetworkOutage.allCases)
    func deadProvider(outage: NetworkOutage) async throws {
        let dovecot = try await TestServers.shared.dovecot()
        // A gated emulator of this test's own: the shared one must keep answering for every other test.
        let provider = try await EmulatorFixture.start(gated: true)
        let fixture = try await StoreFixture.make(.sqlite, name: "isolation")
        let logs = LogCapture()
        // A silent provider costs one request deadline per attempt; 6 s is long against the 1 s poll interval.
        let providers = provider.providers(http: OAuthHTTP(timeout: .seconds(6)), logger: logs.logger("oauth"))
        let tokens = TokenKeeper(store: fixture.store, vault: fixture.vault, providers: providers, logger: logs.logger("tokens"))

        let account = await provider.workAccount("isolated")
        let client = try await providers.client(for: .microsoft)
        let url = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s", loginHint: account)
        let callback = try await FakeBrowser.signIn(at: url.absoluteString, as: account)
        let signIn = try await providers.finishSignIn(callback: FakeBrowser.query(callback), session: "s")
        let oauthMailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(
            MailboxDraft(email: account, name: "OAuth", provider: .microsoft, usage: .incoming, imapHost: "localhost",
                         imapPort: dovecot.imapsPort, imapSecurity: .tls, username: account), grant: signIn.grant)
        let stored = try #require(try await fixture.store.grant(oauthMailbox.id))
        var expired = stored
        expired.accessTokenExpiresAt = Date(timeIntervalSinceNow: -1)
        #expect(try await fixture.store.replaceGrant(oauthMailbox.id, with: expired, expectedVersion: stored.version))

        let user = uniqueUser("beside")
        try dovecot.setUser(user, password: "pw-\(user)")
        let passwordMailbox = try await fixture.addMailbox(user: user, password: "pw-\(user)", dovecot: dovecot)

        try await provider.emulator.networkOutage(outage)
        let inbound = InboundSync(
            store: fixture.store, vault: fixture.vault, tokens: tokens,
            settings: SyncSettings(pollInterval: .seconds(1), trustedCertificatesPEMFile: dovecot.caFile), logger: logs.logger("sync"))
        let worker = Task { try await inbound.run() }
        defer { worker.cancel() }

        // Mail keeps arriving at the password mailbox while the provider is down; each is filed within two polls.
        var sawOAuthFailing = false
        // At least six rounds, and on until the OAuth attempt has ended (a silent provider holds it one deadline).
        var round = 0
        while round < 6 || (!sawOAuthFailing && round < 16) {
            round += 1
            try dovecot.deliver([simpleMessage(id: "isolated-\(round)-\(user)@customer.example", subject: "Round \(round)")], to: user)
            let deadline = ContinuousClock.now + .seconds(2) + .milliseconds(700)
            var filed = false
            while ContinuousClock.now < deadline {
                if try await fixture.store.messageCount() >= round { filed = true; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let count = try await fixture.store.messageCount()
            #expect(filed, "round \(round): the password mailbox's new mail waited longer than two poll intervals; \(count) filed; \(logs.text.suffix(3000))")
            if let health = try await fixture.store.health(oauthMailbox.id)[.incoming], health.consecutiveFailures > 0 {
                #expect(health.state == .temporarilyFailing, "\(health.state): \(health.cause ?? "")")
                #expect(health.fix == "Nothing to do yet: Mailroom retries automatically and no mail is lost.")
                sawOAuthFailing = true
            }
        }
        #expect(sawOAuthFailing, "the OAuth mailbox's state never changed")
        #expect(try await fixture.store.health(passwordMailbox.id)[.incoming]?.state == .connected)
        let detail = try await fixture.store.health(oauthMailbox.id)[.incoming]?.detail ?? ""
        #expect(detail.contains(outage == .refuseConnections ? "connection refused" : "timed out"), "detail: \(detail)")
        #expect(!detail.contains("imap") && !detail.contains("IMAP"), "the provider's outage is not the mail server's")
        try await provider.emulator.networkOutage(nil)
        worker.cancel()
        await provider.running.stop()
    }

    @Test("A token endpoint's 429 with Retry-After holds every later renewal of that mailbox until it has passed, across passes")
    func retryAfterAcrossPasses() async throws {
        let world = try await OAuthWorld.make(name: "retryafter")
        let clock = Mutex(Date())
        let tokens = TokenKeeper(store: world.fixture.store, vault: world.fixture.vault, providers: world.providers,
                                 logger: world.logs.logger("tokens"), now: { clock.withLock { $0 } })
        let syncer = MailboxSyncer(store: world.fixture.store, vault: world.fixture.vault, tokens: tokens,
                                   settings: SyncSettings(trustedCertificatesPEMFile: world.dovecot.caFile), logger: world.logs.logger("sync"))
        let account = await world.emulator.workAccount("throttled")
        let signIn = try await world.signIn(.microsoft, as: account)
        let mailbox = try await world.addMailbox(signIn, provider: .microsoft)
        try world.deliver(1, to: account, tag: "throttled")
        try await world.expireStoredAccessToken(mailbox)
        // Tests run one at a time: every refresh request to the shared emulator from here on is this mailbox's.
        let before = await world.emulator.emulator.tokenRequests().count
        func renewals() async -> Int {
            await world.emulator.emulator.tokenRequests().dropFirst(before).filter { $0.grantType == "refresh_token" }.count
        }

        let start = clock.withLock { $0 }
        await world.emulator.emulator.tokenEndpointOutage(.throttled(retryAfter: 120))
        defer { Task { await world.emulator.emulator.tokenEndpointOutage(nil) } }
        guard case .failure(let first) = await syncer.syncAndRecord(mailbox) else {
            Issue.record("a throttled renewal succeeded")
            return
        }
        #expect(first.retryAfter == .seconds(120))
        #expect(await renewals() == 1)
        #expect(try await world.health(mailbox).state == .temporarilyFailing)

        // The throttle ends at the provider, but Mailroom was told to wait 120 s: passes before then send nothing.
        await world.emulator.emulator.tokenEndpointOutage(nil)
        for seconds in [1.0, 60, 119] {
            clock.withLock { $0 = start.addingTimeInterval(seconds) }
            guard case .failure(let held) = await syncer.syncAndRecord(mailbox) else {
                Issue.record("a renewal went out before Retry-After had passed")
                return
            }
            #expect(held.retryAfter != nil)
        }
        #expect(await renewals() == 1, "no renewal request before Retry-After")
        #expect(try await world.health(mailbox).state == .temporarilyFailing)

        clock.withLock { $0 = start.addingTimeInterval(121) }
        guard case .success(let report) = await syncer.syncAndRecord(mailbox) else {
            Issue.record("fetching did not resume once Retry-After had passed: \(try await world.health(mailbox))")
            return
        }
        #expect(report.fetched == 1)
        #expect(await renewals() == 2)
        #expect(try await world.health(mailbox).state == .connected)
    }
}
