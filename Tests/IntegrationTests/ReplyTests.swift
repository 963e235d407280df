import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import MailroomTestSupport
import MIME
import MailroomCore
import Storage
import Testing
import Web

/// A password mailbox on the test Dovecot with one customer email filed, and an outbox that sends through the
/// test Postfix (SMTP AUTH via Dovecot), which delivers customer mail back into Dovecot over LMTP.
struct ReplyWorld: Sendable {
    let fixture: StoreFixture
    let dovecot: Dovecot
    let postfix: Postfix
    let mailbox: Mailbox
    let ticket: TicketNumber
    let customer: String
    let customerMessageID: String
    let queue: OutboundQueue
    let replies: ReplyService

    static func make(customer: String? = nil, subject: String = "Drucker brennt 🔥") async throws -> ReplyWorld {
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let fixture = try await StoreFixture.make(.sqlite, name: "reply")
        let user = uniqueUser("support")
        try dovecot.setUser(user, password: "pw-\(user)")
        let relayUser = uniqueUser("relay")
        try dovecot.setUser(relayUser, password: "Relay-Pass-\(relayUser)")
        let customer = customer ?? "\(uniqueUser("kunde"))@\(Postfix.customerDomain)"
        let messageID = "\(UUID().uuidString)@customer.example"
        let raw = Array("""
            From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <\(customer)>
            To: Support <\(user)@helpdesk.example>
            Subject: =?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?=
            Date: Sun, 29 Nov 2026 10:00:00 +0000
            Message-ID: <\(messageID)>
            References: <older-\(messageID)>
            MIME-Version: 1.0
            Content-Type: text/plain; charset=utf-8

            Der Drucker im 2. Stock brennt.

            """.utf8)
        try dovecot.deliver([raw], to: user)
        let mailbox = try await fixture.addMailbox(user: user, password: "pw-\(user)", dovecot: dovecot)
        _ = try await fixture.syncer(dovecot: dovecot).sync(mailbox, server: #require(mailbox.incoming))
        let ticket = try #require(try await fixture.store.tickets(limit: 1, offset: 0).first).number
        let queue = OutboundQueue(
            store: fixture.store,
            relay: SMTPRelay(host: "localhost", port: postfix.submissionPort, security: .startTLS, username: relayUser, password: "Relay-Pass-\(relayUser)"),
            settings: OutboundSettings(firstRetryDelay: .seconds(30), trustedCertificatesPEMFile: dovecot.caFile), logger: fixture.logger)
        return ReplyWorld(
            fixture: fixture, dovecot: dovecot, postfix: postfix, mailbox: mailbox, ticket: ticket, customer: customer,
            customerMessageID: messageID, queue: queue, replies: ReplyService(store: fixture.store, outbound: nil))
    }

    /// The messages delivered to the customer's mailbox, parsed, waiting up to `timeout` for `count` of them.
    func delivered(count: Int, timeout: Duration = .seconds(30)) async throws -> [ParsedMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let dir = dovecot.maildir(customer, folder: nil)
            var files: [URL] = []
            for sub in ["new", "cur"] {
                let path = dir.appendingPathComponent(sub)
                files += ((try? FileManager.default.contentsOfDirectory(at: path, includingPropertiesForKeys: nil)) ?? [])
            }
            if files.count >= count || ContinuousClock.now > deadline {
                return try files.map { MessageParser.parse(Array(try Data(contentsOf: $0))) }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    func delivery(_ delivery: Delivery) async throws -> Delivery {
        try #require(try await fixture.store.deliveries(ticket: ticket)[delivery.messageRowID])
    }
}

@Suite("Replies through the outbox, Postfix and Dovecot", .serialized)
struct ReplyTests {
    @Test("A reply reaches the customer's mailbox once, threaded (In-Reply-To, References, «Re:» with the ticket token), with a non-ASCII subject, recipient name and attachment name")
    func replyIsDelivered() async throws {
        let world = try await ReplyWorld.make()
        let pdf = Array((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let delivery = try await world.replies.reply(
            to: world.ticket, text: "Wir kümmern uns darum — der Techniker ist unterwegs.",
            attachments: [OutgoingAttachment(filename: "Rechnung März.pdf", contentType: "application/pdf", bytes: pdf)])
        #expect(delivery.state == .queued)
        await world.queue.sendDue()
        #expect(try await world.delivery(delivery).state == .sent)

        let messages = try await world.delivered(count: 1)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.subject == "Re: [#\(world.ticket)] Drucker brennt 🔥")
        #expect(message.inReplyTo == [world.customerMessageID])
        #expect(message.references.contains(world.customerMessageID))
        #expect(message.from.first?.name == world.mailbox.name)
        #expect(message.to.first?.name == "Jörg Müller")
        #expect(message.to.first?.email == world.customer)
        #expect(message.from.first?.email == world.mailbox.email)
        #expect(message.textBody?.contains("Wir kümmern uns darum") == true)
        let attachment = try #require(message.attachments.first)
        #expect(attachment.filename == "Rechnung März.pdf")
        #expect(attachment.data == pdf)

        // On the ticket: the reply, marked sent; the next pass sends nothing again.
        let detail = try #require(try await world.fixture.store.ticket(world.ticket))
        #expect(detail.messages.last?.direction == .outgoing)
        await world.queue.sendDue()
        #expect(try await world.delivered(count: 2, timeout: .seconds(2)).count == 1)
    }

    @Test("A permanent 550 from the server marks the reply failed with the server's reason, on the ticket")
    func permanentFailureIsShown() async throws {
        let world = try await ReplyWorld.make(customer: Postfix.refusedRecipient)
        let delivery = try await world.replies.reply(to: world.ticket, text: "Hello")
        await world.queue.sendDue()
        let after = try await world.delivery(delivery)
        #expect(after.state == .failed)
        #expect(after.lastError?.contains("550 5.1.1") == true)
        #expect(after.attempts == 1)
    }

    @Test("While Postfix is down the reply waits, retried with backoff; once it is back the reply is delivered exactly once")
    func outageIsRetried() async throws {
        let world = try await ReplyWorld.make()
        try world.postfix.stop()
        let delivery: Delivery
        do {
            delivery = try await world.replies.reply(to: world.ticket, text: "Sent during an outage")
            await world.queue.sendDue()
        } catch {
            try await world.postfix.start()
            throw error
        }
        let waiting = try await world.delivery(delivery)
        #expect(waiting.state == .queued)
        #expect(waiting.lastError != nil)
        #expect(waiting.nextAttemptAt > Date().addingTimeInterval(20))
        // Not due yet: nothing is attempted.
        await world.queue.sendDue()
        #expect(try await world.delivery(delivery).attempts == 1)
        try await world.postfix.start()
        await world.queue.sendDue(now: Date().addingTimeInterval(60))
        #expect(try await world.delivery(delivery).state == .sent)
        #expect(try await world.delivered(count: 1).count == 1)
        #expect(try await world.delivered(count: 2, timeout: .seconds(2)).count == 1)
    }

    @Test("An out-of-office reply from the customer is filed on the ticket, marked as automatic, and nothing is sent back")
    func automaticRepliesAreMarkedNotAnswered() async throws {
        let world = try await ReplyWorld.make(subject: "Loop check")
        let oof = Array("""
            From: \(world.customer)
            To: \(world.mailbox.email)
            Subject: Automatic reply: Loop check [#\(world.ticket)]
            Auto-Submitted: auto-replied
            X-Auto-Response-Suppress: All
            Message-ID: <oof-\(UUID().uuidString)@customer.example>
            In-Reply-To: <\(world.customerMessageID)>
            Date: Sun, 29 Nov 2026 11:00:00 +0000

            I am out of the office until Monday.

            """.utf8)
        let user = try #require(world.mailbox.incoming?.username)
        try world.dovecot.deliver([oof], to: user)
        _ = try await world.fixture.syncer(dovecot: world.dovecot).sync(world.mailbox, server: #require(world.mailbox.incoming))
        let detail = try #require(try await world.fixture.store.ticket(world.ticket))
        #expect(detail.messages.count == 2)
        #expect(detail.messages.last?.automatic == .autoReply)
        #expect(try await world.fixture.store.dueDeliveries(now: Date(), limit: 10).isEmpty)
    }

    @Test("An empty reply, or one for a ticket whose mailbox was removed, is refused with a message and nothing is queued")
    func badRepliesAreRefused() async throws {
        let world = try await ReplyWorld.make()
        await #expect(throws: ReplyError.self) { try await world.replies.reply(to: world.ticket, text: "   \n") }
        _ = try await world.fixture.store.removeMailbox(world.mailbox.id)
        let error = await #expect(throws: ReplyError.self) { try await world.replies.reply(to: world.ticket, text: "Hi") }
        #expect(error?.description.contains("mailbox was removed") == true)
        #expect(try await world.fixture.store.dueDeliveries(now: Date(), limit: 10).isEmpty)
    }
}

@Suite("The reply form on the ticket page")
struct ReplyFormTests {
    @Test("Sending from the ticket page queues the reply and shows it with its delivery state; an empty reply is refused with a message")
    func replyForm() async throws {
        let world = try await ReplyWorld.make(subject: "Form test")
        let dependencies = WebDependencies(
            store: world.fixture.store, mailboxes: MailboxService(store: world.fixture.store, vault: world.fixture.vault), inbound: nil,
            replies: world.replies)
        let app = Application(router: try buildRouter(dependencies))
        let session = try await TestPeople.session(world.fixture.store, role: .agent)
        let cookie: HTTPFields = [.cookie: session.cookieHeader]
        try await app.test(.router) { client in
            let forged = try await client.execute(
                uri: "/tickets/\(world.ticket)/replies", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: session.cookieHeader],
                body: ByteBuffer(string: "text=Forged"))
            #expect(forged.status == .forbidden, "a reply without the CSRF token is refused")
            let empty = try await client.execute(
                uri: "/tickets/\(world.ticket)/replies", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: session.cookieHeader],
                body: ByteBuffer(string: "csrf=\(session.csrf)&text=+++"))
            #expect(empty.status == .unprocessableContent)
            #expect(String(buffer: empty.body).contains("Write a reply before sending it."))

            let sent = try await client.execute(
                uri: "/tickets/\(world.ticket)/replies", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: session.cookieHeader],
                body: ByteBuffer(string: "csrf=\(session.csrf)&text=Thanks%2C+we+are+on+it+%C3%A4%C3%B6%C3%BC"))
            #expect(sent.status == .seeOther)
            let page = try await client.execute(uri: "/tickets/\(world.ticket)", method: .get, headers: cookie)
            let html = String(buffer: page.body)
            #expect(html.contains("Thanks, we are on it äöü"))
            #expect(html.contains("Sending…"))

            await world.queue.sendDue()
            let after = String(buffer: try await client.execute(uri: "/tickets/\(world.ticket)", method: .get, headers: cookie).body)
            #expect(after.contains("class=\"delivery sent\""))
        }
    }
}

@Suite("Replies from a mailbox's own server, signed in with OAuth", .serialized)
struct OAuthReplyTests {
    @Test("A Microsoft mailbox («Both») sends its reply through its own SMTP server with XOAUTH2 and a token longer than 2,048 bytes; the customer gets it once")
    func replyWithXOAuth2() async throws {
        let world = try await OAuthWorld.make(name: "oauth-reply")
        let postfix = try await TestServers.shared.postfix()
        let account = await world.emulator.workAccount("sender")
        let signIn = try await world.signIn(.microsoft, as: account)
        #expect(signIn.grant.accessToken.utf8.count > 2048)
        let customer = "\(uniqueUser("client"))@\(Postfix.customerDomain)"
        let customerID = "\(UUID().uuidString)@customer.example"
        try world.dovecot.deliver([simpleMessage(id: customerID, subject: "Where is my order?", from: "Client <\(customer)>")], to: account)
        let draft = MailboxDraft(
            email: account, name: "Contoso Support", provider: .microsoft, usage: .both, imapHost: "localhost", imapPort: world.dovecot.imapsPort,
            imapSecurity: .tls, username: account, smtpHost: "localhost", smtpPort: postfix.submissionPort, smtpSecurity: .starttls)
        let mailbox = try await MailboxService(store: world.fixture.store, vault: world.fixture.vault).add(draft, grant: signIn.grant)
        #expect(mailbox.outgoing?.authentication == .oauth2)
        guard case .success = await world.syncer.syncAndRecord(mailbox) else {
            Issue.record("fetching failed: \(try await world.health(mailbox))")
            return
        }
        let ticket = try #require(try await world.fixture.store.tickets(limit: 1, offset: 0).first).number
        let queue = OutboundQueue(
            store: world.fixture.store, relay: nil, vault: world.fixture.vault, tokens: world.tokens,
            settings: OutboundSettings(trustedCertificatesPEMFile: world.dovecot.caFile), logger: world.logs.logger("outbound"))
        let delivery = try await ReplyService(store: world.fixture.store, outbound: nil).reply(to: ticket, text: "It ships today.")
        await queue.sendDue()
        let after = try #require(try await world.fixture.store.deliveries(ticket: ticket)[delivery.messageRowID])
        #expect(after.state == .sent, "\(after.lastError ?? "")")
        let maildir = world.dovecot.maildir(customer, folder: nil).appendingPathComponent("new")
        var files: [URL] = []
        for _ in 0..<100 where files.isEmpty {
            files = (try? FileManager.default.contentsOfDirectory(at: maildir, includingPropertiesForKeys: nil)) ?? []
            if files.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(files.count == 1)
        let message = MessageParser.parse(Array(try Data(contentsOf: try #require(files.first))))
        #expect(message.inReplyTo == [customerID])
        #expect(message.from.first?.email == account)
        #expect(!world.logs.text.contains(signIn.grant.accessToken))
    }
}
