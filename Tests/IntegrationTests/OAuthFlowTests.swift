import Engine
import Foundation
import IMAP
import IdentityEmulator
import Logging
import MailroomCore
import MailroomTestSupport
import OAuth
import SASL
import Storage
import Testing

/// One test's world: the shared emulator and Dovecot, a fresh store, Mailroom's OAuth apps, and every log line.
struct OAuthWorld: Sendable {
    let emulator: EmulatorFixture
    let dovecot: Dovecot
    let fixture: StoreFixture
    let providers: OAuthProviders
    let tokens: TokenKeeper
    let syncer: MailboxSyncer
    let logs: LogCapture

    /// - Parameter now: the token keeper's clock (a test moving time moves the emulator's with it).
    static func make(_ backend: Backend = .sqlite, name: String = "oauth", now: @escaping @Sendable () -> Date = { Date() }) async throws -> OAuthWorld {
        let emulator = try await TestServers.shared.emulator()
        let dovecot = try await TestServers.shared.dovecot()
        let fixture = try await StoreFixture.make(backend, name: name)
        let logs = LogCapture()
        let providers = emulator.providers(logger: logs.logger("oauth"))
        let tokens = TokenKeeper(store: fixture.store, vault: fixture.vault, providers: providers, logger: logs.logger("tokens"), now: now)
        let syncer = MailboxSyncer(
            store: fixture.store, vault: fixture.vault, tokens: tokens,
            settings: SyncSettings(trustedCertificatesPEMFile: dovecot.caFile), logger: logs.logger("sync"))
        return OAuthWorld(emulator: emulator, dovecot: dovecot, fixture: fixture, providers: providers, tokens: tokens, syncer: syncer, logs: logs)
    }

    /// The whole sign-in over HTTP: authorize URL → the provider's sign-in page → code → token → verified id_token.
    func signIn(_ provider: IdentityProviderKind, as account: String, session: String = "session-1") async throws -> CompletedSignIn {
        let client = try await providers.client(for: provider)
        let url = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: session, loginHint: account)
        let callback = try await FakeBrowser.signIn(at: url.absoluteString, as: account)
        return try await providers.finishSignIn(callback: FakeBrowser.query(callback), session: session)
    }

    /// Stores an OAuth mailbox on the test Dovecot, as the callback does after its connection test.
    func addMailbox(_ signIn: CompletedSignIn, address: String? = nil, provider: MailProvider) async throws -> Mailbox {
        let email = address ?? signIn.identity.address
        let draft = MailboxDraft(
            email: email, name: "Support", provider: provider, usage: .incoming, imapHost: "localhost",
            imapPort: dovecot.imapsPort, imapSecurity: .tls, username: email)
        return try await MailboxService(store: fixture.store, vault: fixture.vault).add(draft, grant: signIn.grant)
    }

    func deliver(_ count: Int, to address: String, tag: String) throws {
        try dovecot.deliver((1...count).map { simpleMessage(id: "\(tag)-\($0)-\(UUID().uuidString)@customer.example", subject: "\(tag) \($0)") }, to: address)
    }

    func health(_ mailbox: Mailbox) async throws -> ConnectionHealth {
        try await fixture.store.health(mailbox.id)[.incoming] ?? ConnectionHealth()
    }

    /// Makes the stored access token look expired, so the next fetch must renew it.
    func expireStoredAccessToken(_ mailbox: Mailbox) async throws {
        let stored = try #require(try await fixture.store.grant(mailbox.id))
        var expired = stored
        expired.accessTokenExpiresAt = Date(timeIntervalSinceNow: -1)
        #expect(try await fixture.store.replaceGrant(mailbox.id, with: expired, expectedVersion: stored.version))
    }

    func openGrant(_ mailbox: Mailbox) async throws -> (refresh: String?, access: String, version: Int64) {
        let stored = try #require(try await fixture.store.grant(mailbox.id))
        return (try stored.refreshToken.map { try fixture.vault.open($0, for: .refreshToken(of: mailbox.email)) },
                try fixture.vault.open(stored.accessToken, for: .accessToken(of: mailbox.email)), stored.version)
    }
}

@Suite("OAuth sign-in and fetching on real Dovecot through the identity emulator", .serialized)
struct OAuthFlowTests {
    @Test("A Microsoft work account, a personal hotmail.com account and a Google account sign in over HTTP; their mail is fetched with XOAUTH2",
          arguments: [IdentityProviderKind.microsoft, .openIDConnect, .google])
    func signInAndFetch(kind: IdentityProviderKind) async throws {
        let world = try await OAuthWorld.make(name: "signin")
        // .openIDConnect stands for the personal Microsoft account here (same provider, consumers tenant).
        let account: String
        let provider: IdentityProviderKind
        let mailProvider: MailProvider
        switch kind {
        case .microsoft: (account, provider, mailProvider) = (await world.emulator.workAccount("work"), .microsoft, .microsoft)
        case .google: (account, provider, mailProvider) = (await world.emulator.googleAccount("gmail"), .google, .google)
        case .openIDConnect: (account, provider, mailProvider) = (await world.emulator.personalAccount("personal"), .microsoft, .microsoft)
        }
        let signIn = try await world.signIn(provider, as: account)
        #expect(signIn.identity.address == account.lowercased())
        #expect(!signIn.identity.subject.isEmpty)
        #expect(signIn.grant.refreshToken != nil)
        switch kind {
        case .microsoft: #expect(signIn.identity.tenantID == EmulatorFixture.tenantID)
        case .openIDConnect: #expect(signIn.identity.tenantID == "9188040d-6c67-4c5b-b112-36a304b66dad")
        case .google: #expect(signIn.grant.provider == .google)
        }

        try world.deliver(3, to: account, tag: "signin-\(kind.rawValue)")
        let mailbox = try await world.addMailbox(signIn, provider: mailProvider)
        guard case .success(let report) = await world.syncer.syncAndRecord(mailbox) else {
            Issue.record("fetching failed: \(try await world.health(mailbox))")
            return
        }
        #expect(report.fetched == 3)
        #expect(try await world.fixture.store.ticketCount() == 3)
        #expect(try await world.health(mailbox).state == .connected)
        let stored = try #require(try await world.fixture.store.grant(mailbox.id))
        #expect(stored.account == account.lowercased())
        // Sealed at rest: the stored bytes are not the token.
        #expect(!String(decoding: stored.accessToken.bytes, as: UTF8.self).contains(signIn.grant.accessToken.prefix(20)))
    }

    @Test("OAUTHBEARER (RFC 7628) signs in to Dovecot with a token from the emulator; a dead token gets the decoded error detail")
    func oauthBearer() async throws {
        let world = try await OAuthWorld.make(name: "bearer")
        let account = await world.emulator.workAccount("bearer")
        let signIn = try await world.signIn(.microsoft, as: account)
        let server = IMAPServer(host: "localhost", port: world.dovecot.imapsPort, security: .tls, trustedCertificatesPEMFile: world.dovecot.caFile)
        let client = try await IMAPClient.connect(to: server, logger: world.logs.logger("imap"))
        #expect(await client.capabilities.contains("AUTH=OAUTHBEARER"))
        try await client.authenticate(mechanism: SASLOAuthBearer(user: account, accessToken: signIn.grant.accessToken, host: "localhost", port: world.dovecot.imapsPort))
        let status = try await client.select("INBOX", readOnly: true)
        #expect(status.uidValidity > 0)
        await client.logout()

        try await world.emulator.emulator.revokeTokens(account: account)
        let again = try await IMAPClient.connect(to: server, logger: world.logs.logger("imap"))
        let error = await #expect(throws: IMAPError.self) {
            try await again.authenticate(mechanism: SASLOAuthBearer(user: account, accessToken: signIn.grant.accessToken))
        }
        #expect(error?.kind == .authenticationFailed)
        #expect("\(error?.code.map { "\($0)" } ?? "")".uppercased() == "AUTHENTICATIONFAILED")
        #expect(error?.detail?.contains("invalid_token") == true)
        await again.close()
    }

    @Test("A delegate signs in and Mailroom fetches the shared mailbox it has access to, and only that one")
    func sharedMailbox() async throws {
        let world = try await OAuthWorld.make(name: "shared")
        let shared = "\(uniqueUser("helpdesk"))@\(EmulatorFixture.tenantDomain)"
        let delegate = await world.emulator.workAccount("agent", delegateOf: shared)
        let signIn = try await world.signIn(.microsoft, as: delegate)
        #expect(signIn.identity.address == delegate.lowercased())
        try world.deliver(2, to: shared, tag: "shared")
        let mailbox = try await world.addMailbox(signIn, address: shared, provider: .microsoft)
        #expect(mailbox.incoming?.username == shared)
        guard case .success(let report) = await world.syncer.syncAndRecord(mailbox) else {
            Issue.record("fetching the shared mailbox failed: \(try await world.health(mailbox))")
            return
        }
        #expect(report.fetched == 2)

        // Another account's mailbox is not opened with the delegate's token: the server refuses, and since the
        // token is fresh Mailroom says it is a permission problem, not an expired sign-in.
        let stranger = "\(uniqueUser("other"))@\(EmulatorFixture.tenantDomain)"
        let notDelegated = try await world.addMailbox(signIn, address: stranger, provider: .microsoft)
        guard case .failure = await world.syncer.syncAndRecord(notDelegated) else {
            Issue.record("a mailbox the delegate has no access to was opened")
            return
        }
        let health = try await world.health(notDelegated)
        #expect(health.state == .actionNeededAtProvider)
        #expect(health.cause?.contains("no access to this mailbox") == true)
    }
}
