import Engine
import Foundation
import IdentityEmulator
import MailroomTestSupport
import MIME
import MailroomCore
import OAuth
import Storage
import Testing

/// A mailbox that fetches from the test Dovecot and sends through its own server, the test Postfix (SMTP AUTH via
/// Dovecot), with one customer email filed as a ticket and a reply to it waiting in the outbox. The fault matrix
/// uses it too.
struct OutgoingWorld: Sendable {
    let fixture: StoreFixture
    let dovecot: Dovecot
    let postfix: Postfix
    let mailbox: Mailbox
    let ticket: TicketNumber
    let customer: String
    let queue: OutboundQueue
    let logs: LogCapture

    /// The outbox waits this long after the first temporary failure.
    static let retryDelay: Duration = .seconds(30)

    /// A password mailbox (provider «Other», usage «Both»): the same password fetches and sends.
    static func password(_ name: String, customer: String? = nil) async throws -> (world: OutgoingWorld, user: String, password: String) {
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let fixture = try await StoreFixture.make(.sqlite, name: name)
        let user = uniqueUser("sender")
        let password = "Sender-Pass-\(user)"
        try dovecot.setUser(user, password: password)
        let customer = customer ?? "\(uniqueUser("kunde"))@\(Postfix.customerDomain)"
        try dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "Bestellung", from: "Kunde <\(customer)>")], to: user)
        let draft = MailboxDraft(
            email: "\(user)@helpdesk.example", name: "Support", provider: .other, usage: .both, imapHost: "localhost",
            imapPort: dovecot.imapsPort, imapSecurity: .tls, username: user,
            smtpHost: "localhost", smtpPort: postfix.submissionPort, smtpSecurity: .starttls)
        let mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(draft, password: password)
        guard case .success = await fixture.syncer(dovecot: dovecot).syncAndRecord(mailbox) else {
            throw TestFailure("fetching failed: \(String(describing: try await fixture.store.health(mailbox.id)[.incoming]))")
        }
        let logs = LogCapture()
        let world = try await make(fixture: fixture, dovecot: dovecot, postfix: postfix, mailbox: mailbox, customer: customer, tokens: nil, logs: logs)
        return (world, user, password)
    }

    /// A Microsoft mailbox signed in with OAuth (usage «Both»), fetching once so its ticket exists.
    static func oauth(_ name: String) async throws -> (world: OutgoingWorld, oauth: OAuthWorld, account: String) {
        let oauth = try await OAuthWorld.make(name: name)
        let postfix = try await TestServers.shared.postfix()
        let account = await oauth.emulator.workAccount("sender")
        let signIn = try await oauth.signIn(.microsoft, as: account)
        let customer = "\(uniqueUser("client"))@\(Postfix.customerDomain)"
        try oauth.dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "Order", from: "Client <\(customer)>")], to: account)
        let draft = MailboxDraft(
            email: account, name: "Contoso Support", provider: .microsoft, usage: .both, imapHost: "localhost", imapPort: oauth.dovecot.imapsPort,
            imapSecurity: .tls, username: account, smtpHost: "localhost", smtpPort: postfix.submissionPort, smtpSecurity: .starttls)
        let mailbox = try await MailboxService(store: oauth.fixture.store, vault: oauth.fixture.vault).add(draft, grant: signIn.grant)
        guard case .success = await oauth.syncer.syncAndRecord(mailbox) else {
            throw TestFailure("fetching failed: \(try await oauth.health(mailbox))")
        }
        let world = try await make(
            fixture: oauth.fixture, dovecot: oauth.dovecot, postfix: postfix, mailbox: mailbox, customer: customer, tokens: oauth.tokens, logs: oauth.logs)
        return (world, oauth, account)
    }

    private static func make(
        fixture: StoreFixture, dovecot: Dovecot, postfix: Postfix, mailbox: Mailbox, customer: String, tokens: TokenKeeper?, logs: LogCapture
    ) async throws -> OutgoingWorld {
        let ticket = try #require(try await fixture.store.tickets(limit: 1, offset: 0).first).number
        let queue = OutboundQueue(
            store: fixture.store, relay: nil, vault: fixture.vault, tokens: tokens,
            settings: OutboundSettings(firstRetryDelay: retryDelay, trustedCertificatesPEMFile: dovecot.caFile), logger: logs.logger("outbound"))
        return OutgoingWorld(fixture: fixture, dovecot: dovecot, postfix: postfix, mailbox: mailbox, ticket: ticket, customer: customer, queue: queue, logs: logs)
    }

    func reply(_ text: String) async throws -> Delivery {
        try await ReplyService(store: fixture.store, outbound: nil).reply(to: ticket, text: text)
    }

    func delivery(_ delivery: Delivery) async throws -> Delivery {
        try #require(try await fixture.store.deliveries(ticket: ticket)[delivery.messageRowID])
    }

    func outgoing() async throws -> ConnectionHealth {
        try await fixture.store.health(mailbox.id)[.outgoing] ?? ConnectionHealth()
    }

    func incoming() async throws -> ConnectionHealth {
        try await fixture.store.health(mailbox.id)[.incoming] ?? ConnectionHealth()
    }

    /// The activity log's entries about sending.
    func outgoingActivity() async throws -> [ActivityEntry] {
        try await fixture.store.activity(mailbox.id, limit: 100).filter { $0.text.hasPrefix("Outgoing:") }
    }

    /// The customer's delivered messages, waiting up to `timeout` for `count` of them.
    func delivered(count: Int, timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while true {
            let dir = dovecot.maildir(customer, folder: nil)
            var total = 0
            for sub in ["new", "cur"] {
                total += ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(sub).path)) ?? []).count
            }
            if total >= count || ContinuousClock.now > deadline { return total }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// A pass late enough for replies waiting after one temporary failure.
    func retryPass() async {
        await queue.sendDue(now: Date().addingTimeInterval(Double(Self.retryDelay.components.seconds) * 2))
    }
}

private struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, then `cleanup` whether `body` threw or not.
private func withCleanup<T>(_ cleanup: () async throws -> Void, _ body: () async throws -> T) async throws -> T {
    let result: Result<T, any Error>
    do { result = .success(try await body()) } catch { result = .failure(error) }
    try await cleanup()
    return try result.get()
}

@Suite("Outgoing connection health: the outbox records how sending through the mailbox's own server went", .serialized)
struct OutgoingHealthTests {
    @Test("A wrong password at Postfix submission: «Reauthorization required» with the exact cause, the reply waits; with the password fixed the next pass connects and sends it once")
    func wrongPassword() async throws {
        let (world, user, password) = try await OutgoingWorld.password("out-password")
        try await world.fixture.store.replacePassword(world.mailbox.id, with: try world.fixture.vault.seal("Wrong-\(password)", for: .password(of: world.mailbox.email)), at: Date())
        let delivery = try await world.reply("Ihre Bestellung ist unterwegs.")
        await world.queue.sendDue()

        let health = try await world.outgoing()
        #expect(health.state == .reauthorizationRequired)
        #expect(health.cause == "The outgoing mail server rejected the username or password for «\(user)».")
        #expect(health.fix?.contains("enter the password again") == true)
        #expect(health.detail?.hasPrefix("AUTH 535 5.7.8") == true, "\(health.detail ?? "")")
        let waiting = try await world.delivery(delivery)
        #expect(waiting.state == .queued)
        #expect(waiting.lastError?.contains("535") == true)
        let failedEntry = try #require(try await world.outgoingActivity().first { $0.kind == HealthState.reauthorizationRequired.rawValue })
        #expect(failedEntry.text.contains("rejected the username or password"))
        #expect(failedEntry.text.contains("535 5.7.8"))
        #expect(!failedEntry.text.contains(password))
        // Fetching is judged on its own; the outbox wrote only the outgoing direction.
        #expect(try await world.incoming().state == .connected)

        try await world.fixture.store.replacePassword(world.mailbox.id, with: try world.fixture.vault.seal(password, for: .password(of: world.mailbox.email)), at: Date())
        await world.retryPass()
        let healed = try await world.outgoing()
        #expect(healed.state == .connected)
        #expect(healed.cause == nil)
        #expect(try await world.delivery(delivery).state == .sent)
        #expect(try await world.delivered(count: 1) == 1)
        #expect(try await world.delivered(count: 2, timeout: .seconds(2)) == 1)
        #expect(try await world.outgoingActivity().contains { $0.kind == HealthState.connected.rawValue && $0.text == "Outgoing: Sending works (localhost:\(world.postfix.submissionPort))." })
        #expect(!world.logs.text.contains(password))
    }

    @Test("Postfix stopped: «Temporarily failing», never a reauthorization prompt; the reply waits and goes out once Postfix is back")
    func serverDown() async throws {
        let (world, _, _) = try await OutgoingWorld.password("out-down")
        let delivery = try await world.reply("Sent during an outage")
        try await withCleanup({ try await world.postfix.start() }) {
            try world.postfix.stop()
            await world.queue.sendDue()
            let health = try await world.outgoing()
            #expect(health.state == .temporarilyFailing)
            #expect(health.state != .reauthorizationRequired && !health.state.needsAdmin)
            #expect(health.cause == "The outgoing mail server at localhost:\(world.postfix.submissionPort) could not be reached or is temporarily unavailable.")
            #expect(health.detail?.contains("network error") == true, "\(health.detail ?? "")")
            #expect(try await world.delivery(delivery).state == .queued)
            #expect(try await world.outgoingActivity().contains { $0.kind == HealthState.temporarilyFailing.rawValue })
        }
        await world.retryPass()
        #expect(try await world.outgoing().state == .connected)
        #expect(try await world.delivery(delivery).state == .sent)
    }

    @Test("A recipient refused with 550 5.1.1 is about that reply: the reply fails with the server's reason, sending stays «Connected»")
    func refusedRecipientKeepsHealth() async throws {
        let (world, _, _) = try await OutgoingWorld.password("out-refused", customer: Postfix.refusedRecipient)
        let delivery = try await world.reply("Nobody reads this")
        await world.queue.sendDue()
        let after = try await world.delivery(delivery)
        #expect(after.state == .failed)
        #expect(after.lastError?.contains("550 5.1.1") == true)
        let health = try await world.outgoing()
        #expect(health.state == .connected, "\(health)")
        #expect(health.consecutiveFailures == 0)
        #expect(health.cause == nil)
        #expect(try await world.outgoingActivity().map(\.text) == ["Outgoing: Sending works (localhost:\(world.postfix.submissionPort))."])
    }

    @Test("OAuth mailbox with SMTP disabled for the account: after one renewal the fresh token is refused too, so «Action needed at your provider» (Authenticated SMTP), not a sign-in")
    func smtpDisabled() async throws {
        let (world, oauth, account) = try await OutgoingWorld.oauth("out-smtp-disabled")
        let emulator = oauth.emulator.emulator
        let delivery = try await world.reply("It ships today.")
        let before = try await oauth.openGrant(world.mailbox)
        try await withCleanup({ await emulator.setProtocolEnabled(account, .smtp, true) }) {
            await emulator.setProtocolEnabled(account, .smtp, false)
            await world.queue.sendDue()
            let health = try await world.outgoing()
            #expect(health.state == .actionNeededAtProvider, "\(health)")
            #expect(health.cause?.contains("Authenticated SMTP") == true)
            #expect(health.fix?.contains("Manage email apps › Authenticated SMTP") == true)
            #expect(health.fix?.contains("Set-CASMailbox") == true)
            #expect(health.detail?.contains("with a fresh token") == true, "\(health.detail ?? "")")
            // Exactly one renewal was spent, and the reply waits.
            #expect(try await oauth.openGrant(world.mailbox).access != before.access)
            #expect(try await world.delivery(delivery).state == .queued)
            #expect(try await world.outgoingActivity().contains { $0.kind == HealthState.actionNeededAtProvider.rawValue && $0.text.contains("Authenticated SMTP") })
            #expect(try await world.incoming().state == .connected)
        }
        await world.retryPass()
        #expect(try await world.outgoing().state == .connected)
        #expect(try await world.delivery(delivery).state == .sent)
        #expect(!world.logs.text.contains(before.access))
    }

    @Test("OAuth refresh token revoked: the provider refuses the renewal, so «Your Microsoft Office 365 credentials have expired. Please sign in again.»")
    func tokensRevoked() async throws {
        let (world, oauth, account) = try await OutgoingWorld.oauth("out-revoked")
        let delivery = try await world.reply("It ships today.")
        try await oauth.emulator.emulator.revokeTokens(account: account)
        await world.queue.sendDue()
        let health = try await world.outgoing()
        #expect(health.state == .reauthorizationRequired, "\(health)")
        #expect(health.cause == "Your Microsoft Office 365 credentials have expired. Please sign in again.")
        #expect(health.fix?.contains("«Sign in with Microsoft»") == true)
        #expect(health.detail?.contains("AADSTS50173") == true, "\(health.detail ?? "")")
        #expect(try await world.delivery(delivery).state == .queued)
        let entry = try #require(try await world.outgoingActivity().first { $0.kind == HealthState.reauthorizationRequired.rawValue })
        #expect(entry.text.contains("Your Microsoft Office 365 credentials have expired. Please sign in again."))
    }

    @Test("The operator's relay does not touch the mailbox's health")
    func relayLeavesHealthAlone() async throws {
        let world = try await ReplyWorld.make()
        let delivery = try await world.replies.reply(to: world.ticket, text: "Through the relay")
        await world.queue.sendDue()
        #expect(try await world.delivery(delivery).state == .sent)
        #expect(try await world.fixture.store.health(world.mailbox.id)[.outgoing] == nil)
        #expect(try await world.fixture.store.activity(world.mailbox.id, limit: 100).allSatisfy { !$0.text.hasPrefix("Outgoing:") })
    }
}
