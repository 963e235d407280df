import Engine
import Foundation
import Logging
import MailroomCore
import MailroomTestSupport
import Storage
import Synchronization
import Testing

/// The workers of two nodes on one PostgreSQL: mailboxes split between their lease keepers, each reply attempted
/// by one of them, each notice sent by one.
@Suite("Workers of two nodes on one PostgreSQL", .serialized)
struct MultiNodeWorkerTests {
    static let logger: Logger = {
        var logger = Logger(label: "nodes")
        logger.logLevel = .critical
        return logger
    }()

    /// Another process's Store on the same database: its own connections.
    static func secondNode(_ fixture: StoreFixture) async throws -> SQLStore {
        let database = try await Database.open(try DatabaseURL(parsing: fixture.databaseURL), logger: fixture.logger)
        Task { try? await database.run() }
        return SQLStore(database: database)
    }

    static func mailboxes(_ fixture: StoreFixture, _ count: Int) async throws -> [Mailbox] {
        var created: [Mailbox] = []
        for index in 0..<count {
            let email = "desk\(index)@example.com"
            created.append(try await fixture.store.createMailbox(
                try MailboxDraft(email: email, name: "Desk \(index)", imapHost: "imap.example.com").validated(),
                incomingSecret: try fixture.vault.seal("pw", for: .password(of: email)), at: Date()))
        }
        return created
    }

    @Test("Lease keepers split ten mailboxes five and five, tell their observers, and a graceful stop hands them over")
    func leaseKeepers() async throws {
        let one = try await StoreFixture.make(.postgres, name: "keepers")
        let two = try await Self.secondNode(one)
        let ids = Set(try await Self.mailboxes(one, 10).map(\.id))
        let first = LeaseKeeper(store: one.store, settings: .init(node: NodeID("node-a"), leaseTime: .seconds(30)), logger: Self.logger)
        let second = LeaseKeeper(store: two, settings: .init(node: NodeID("node-b"), leaseTime: .seconds(30)), logger: Self.logger)
        let changes = Mutex(0)
        first.onChange { changes.withLock { $0 += 1 } }

        await first.heartbeat()
        #expect(first.held == ids, "alone, the first node holds everything")
        #expect(changes.withLock { $0 } == 1)
        await second.heartbeat()
        #expect(second.held.isEmpty, "everything is held; the newcomer waits for the surplus")
        await first.heartbeat()
        await second.heartbeat()
        #expect(first.held.count == 5 && second.held.count == 5)
        #expect(first.held.isDisjoint(with: second.held))
        #expect(first.held.union(second.held) == ids)
        #expect(changes.withLock { $0 } == 2, "giving up the surplus is a change")

        // A graceful stop: the running keeper lets go at once, and the other node takes everything at its next beat.
        let running = Task { try await first.run() }
        try await Task.sleep(for: .milliseconds(300))
        running.cancel()
        _ = try? await running.value
        #expect(first.held.isEmpty)
        await second.heartbeat()
        #expect(second.held == ids)
    }

    @Test("A second process started under a node name already in use holds nothing and sends nothing, and takes over when the first stops")
    func duplicateNodeName() async throws {
        let store = InMemoryStore()
        let mailbox = try await store.createMailbox(
            try MailboxDraft(email: "s@example.com", name: "S", imapHost: "imap.example.com").validated(), incomingSecret: SealedSecret(bytes: [1]), at: Date())
        let settings = LeaseKeeper.Settings(node: NodeID("node-a"), leaseTime: .seconds(30))
        let first = LeaseKeeper(store: store, settings: settings, logger: Self.logger)
        let second = LeaseKeeper(store: store, settings: settings, logger: Self.logger)
        await first.heartbeat()
        await second.heartbeat()
        #expect(first.held == [mailbox.id] && first.isCurrent && !first.nameTaken)
        #expect(second.held.isEmpty)
        #expect(!second.isCurrent, "the outbox sends nothing from a process whose name is taken")
        #expect(second.nameTaken)
        await first.heartbeat()
        #expect(first.held == [mailbox.id], "the first process keeps its mailboxes")

        // The first one stops gracefully: the second takes the name and its mailboxes at its next heartbeat.
        let running = Task { try await first.run() }
        try await Task.sleep(for: .milliseconds(300))
        running.cancel()
        _ = try? await running.value
        await second.heartbeat()
        #expect(second.held == [mailbox.id] && second.isCurrent && !second.nameTaken)
    }

    @Test("A keeper whose database stops answering stops fetching when its renewal is too old to trust")
    func untrustedLeasesAreDropped() async throws {
        let store = InMemoryStore()
        let mailbox = try await store.createMailbox(
            try MailboxDraft(email: "s@example.com", name: "S", imapHost: "imap.example.com").validated(), incomingSecret: SealedSecret(bytes: [1]), at: Date())
        let keeper = LeaseKeeper(store: store, settings: .init(node: NodeID("node-a"), leaseTime: .milliseconds(600)), logger: Self.logger)
        await keeper.heartbeat()
        #expect(keeper.held == [mailbox.id])
        try await Task.sleep(for: .milliseconds(600))
        #expect(keeper.held.isEmpty, "⅚ of the lease time passed without a renewal")
    }

    @Test("MAILROOM_LEASE_SECONDS sets the lease time (default 30 s, heartbeat a third of it); nonsense is refused")
    func leaseSettings() throws {
        let node = NodeID("n")
        #expect(try LeaseKeeper.Settings(node: node, environment: [:]).leaseTime == .seconds(30))
        let short = try LeaseKeeper.Settings(node: node, environment: ["MAILROOM_LEASE_SECONDS": "9"])
        #expect(short.leaseTime == .seconds(9) && short.heartbeat == .seconds(3))
        for bad in ["0", "-5", "soon", "100000"] {
            #expect(throws: LeaseSettingsError.self) { try LeaseKeeper.Settings(node: node, environment: ["MAILROOM_LEASE_SECONDS": bad]) }
        }
    }

    @Test("Two nodes' outbound passes at once attempt each reply once")
    func outboxOnce() async throws {
        let one = try await StoreFixture.make(.postgres, name: "outboxnodes")
        let two = try await Self.secondNode(one)
        var queued: [Delivery] = []
        for (index, mailbox) in try await Self.mailboxes(one, 4).enumerated() {
            guard case .openedTicket(let ticket) = try await one.store.receive(simpleEmail(id: "c\(index)@example.com", subject: "Help"), mailbox: mailbox.id)
            else { return }
            for reply in 0..<3 {
                queued.append(try await one.store.enqueue(OutboundReply(
                    ticket: ticket, mailbox: mailbox.id, messageID: "o\(index)-\(reply)@mailroom.test", from: Person(name: nil, email: mailbox.email),
                    to: [Person(name: nil, email: "customer@example.com")], cc: [], subject: "Re: Help", textBody: "Hi",
                    envelopeFrom: mailbox.email, recipients: ["customer@example.com"], raw: Array("reply".utf8)), at: Date().addingTimeInterval(-1)))
            }
        }
        // No route (no relay, no own server): each attempt is recorded as such, once per reply.
        let first = OutboundQueue(store: one.store, relay: nil, settings: .init(node: NodeID("node-a")), logger: Self.logger)
        let second = OutboundQueue(store: two, relay: nil, settings: .init(node: NodeID("node-b")), logger: Self.logger)
        async let a: Void = first.sendDue()
        async let b: Void = second.sendDue()
        _ = await (a, b)
        for delivery in queued {
            let stored = try #require(try await one.store.deliveries(ticket: delivery.ticket)[delivery.messageRowID])
            #expect(stored.attempts == 1, "reply \(delivery.id)")
        }
    }

    @Test("Two nodes' notifiers at once record a notice once")
    func noticeOnce() async throws {
        let one = try await StoreFixture.make(.postgres, name: "noticenodes")
        let two = try await Self.secondNode(one)
        _ = try await one.store.createUser(email: "lead@example.com", name: "Lead", role: .admin, passwordHash: "not a hash", at: Date())
        let mailbox = try await Self.mailboxes(one, 1)[0]
        try await one.store.setHealth(mailbox.id, .incoming, ConnectionHealth(state: .reauthorizationRequired))
        let first = AdminNotifier(store: one.store, relay: nil, settings: .init(), logger: Self.logger)
        let second = AdminNotifier(store: two, relay: nil, settings: .init(), logger: Self.logger)
        async let a: Void = first.pass()
        async let b: Void = second.pass()
        _ = await (a, b)
        let notices = try await one.store.activity(mailbox.id, limit: 100).filter { $0.kind == "notice" }
        #expect(notices.count == 1)
        #expect(try await one.store.health(mailbox.id)[.incoming]?.notifiedState == .reauthorizationRequired)
    }
}
