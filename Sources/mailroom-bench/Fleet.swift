import ArgumentParser
import Crypto
import Engine
import Foundation
import Logging
import MailCorpus
import MailroomCore
import Storage

/// `mailroom-bench fleet`: many mailboxes on `mailroom serve` processes (release binary, push on) against one
/// private Dovecot with a user per mailbox: how long until every mailbox's first message is filed, how fast new
/// mail then arrives, what the idle sessions cost in memory and CPU, and with several nodes on PostgreSQL how long
/// a SIGKILLed node's mailboxes wait for another node.
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mailboxes on `mailroom serve` nodes: time to file every mailbox's first message, new-mail latency, memory and CPU while idle; failover with --nodes > 1 (PostgreSQL).")

    @Option(help: "Writable folder for Dovecot, the databases and the nodes' logs (env BENCH_DIR).")
    var benchDir: String = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? "/tmp/mailroom-bench"

    @Option(help: "Mailboxes, one Dovecot user each, each with one message waiting.") var mailboxes: Int = 1000
    @Option(help: "`mailroom serve` processes: 1 on SQLite, more on a private PostgreSQL.") var nodes: Int = 1
    @Option(help: "Random mailboxes that get one new message each, one at a time, for the latency figures.") var newMail: Int = 100
    @Option(help: "Seconds the sessions sit in IDLE while memory and CPU are measured.") var idleSeconds: Int = 30
    @Option(help: "Seconds a node with zero mailboxes runs before its memory is read.") var baselineSeconds: Int = 10
    @Option(help: "MAILROOM_LEASE_SECONDS for the nodes when there are several.") var leaseSeconds: Int = 10
    @Option(help: "The `mailroom` binary (build it with `swift build -c release --product mailroom`).")
    var binary: String = "\(Fleet.packageRoot)/.build/release/mailroom"

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func validate() throws {
        guard mailboxes >= 1, nodes >= 1, newMail >= 0, newMail <= mailboxes else {
            throw ValidationError("--mailboxes and --nodes must be at least 1, and --new-mail at most --mailboxes.")
        }
        guard idleSeconds >= 1, baselineSeconds >= 1, (1...3600).contains(leaseSeconds) else {
            throw ValidationError("--idle-seconds and --baseline-seconds must be at least 1; --lease-seconds from 1 to 3600.")
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("No `mailroom` binary at \(binary). Build it: swift build -c release --product mailroom")
        }
    }

    func run() async throws {
        try Prerequisite.install(nodes > 1 ? [.dovecot, .openssl, .postgresql] : [.dovecot, .openssl])
        let logger = Latency.logger
        let files = FileLimit.raise()
        if files < UInt64(mailboxes + 256) {
            say("warning: the open-file limit is \(files); \(mailboxes) sessions need more (raise the hard limit: ulimit -Hn)")
        }
        let inotify = InotifyLimit.raise(to: 2 * mailboxes + 256)
        defer { InotifyLimit.restore(inotify) }
        let folder = "\(benchDir)/fleet-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let users = (1...mailboxes).map { String(format: "user%04d", $0) }
        say("Starting Dovecot with \(mailboxes) users, one message each, in \(folder)")
        let server = try await UsersMailServer.start(root: "\(folder)/dovecot", users: users, sessions: 2 * mailboxes) {
            TestMessage.bytes(to: "\($0)@helpdesk.example", number: 1, tag: "first-\($0)")
        }
        let database: FleetDatabase
        do {
            database = try await FleetDatabase.make(nodes: nodes, folder: folder)
        } catch {
            server.stop()
            throw error
        }
        let result: Result<FleetFigures, any Error>
        do {
            result = .success(try await database.withStore(logger: logger) { store in
                try await measure(store: store, database: database, server: server, folder: folder)
            })
        } catch {
            result = .failure(error)
        }
        server.stop()
        database.stop()
        let figures = try result.get()
        figures.print(mailboxes: mailboxes, nodes: nodes, database: database.kind, idleSeconds: idleSeconds)
        say("\nLogs and databases: \(folder)")
    }

    private func measure(store: SQLStore, database: FleetDatabase, server: UsersMailServer, folder: String) async throws -> FleetFigures {
        let key = SymmetricKey(size: .bits256)
        let vault = Vault(key: key)
        say("Adding \(mailboxes) mailboxes through the Storage API")
        var mailboxIDs: [MailboxID] = []
        for user in server.users {
            let mailbox = try await MailboxService(store: store, vault: vault).add(
                MailboxDraft(email: "\(user)@helpdesk.example", name: user, imapHost: "127.0.0.1", imapPort: server.imapPort,
                             imapSecurity: TransportSecurity.none, username: user),
                password: UsersMailServer.password(of: user))
            mailboxIDs.append(mailbox.id)
        }
        let userOf = Dictionary(uniqueKeysWithValues: zip(mailboxIDs, server.users))
        var environment = ["MAILROOM_SECRET_KEY": key.withUnsafeBytes { Data($0) }.base64EncodedString()]
        if nodes > 1 { environment["MAILROOM_LEASE_SECONDS"] = String(leaseSeconds) }
        var figures = FleetFigures()

        say("Memory of a node with zero mailboxes, after \(baselineSeconds) s")
        let empty = try NodeProcess.start(binary: binary, name: "bench-empty", database: database.emptyURL, environment: environment,
                                          log: "\(folder)/node-empty.log")
        try await Task.sleep(for: .seconds(baselineSeconds))
        figures.emptyKiB = try empty.sample().residentKiB
        await empty.stop()

        let watch = CommitWatch(store: store, interval: .milliseconds(2))
        let start = Monotonic.now()
        var fleet: [NodeProcess] = []
        for index in 1...nodes {
            fleet.append(try NodeProcess.start(binary: binary, name: "bench-node-\(index)", database: database.url, environment: environment,
                                               log: "\(folder)/node-\(index).log"))
        }
        do {
            try await observe(fleet: fleet, start: start, watch: watch, store: store, server: server, mailboxIDs: mailboxIDs, userOf: userOf, into: &figures)
        } catch {
            for node in fleet { await node.stop() }
            throw error
        }
        for node in fleet { await node.stop() }
        return figures
    }

    private func observe(
        fleet: [NodeProcess], start: UInt64, watch: CommitWatch, store: SQLStore, server: UsersMailServer,
        mailboxIDs: [MailboxID], userOf: [MailboxID: String], into figures: inout FleetFigures
    ) async throws {
        say("Nodes started; waiting for every mailbox's first message")
        var lastNote = start
        while true {
            let filed = try await watch.count()
            let now = Monotonic.now()
            if filed >= mailboxes { break }
            if now - lastNote > 10_000_000_000 {
                say("  \(filed) of \(mailboxes) filed after \(Int(Monotonic.milliseconds(from: start, to: now) / 1000)) s")
                lastNote = now
            }
            guard now - start < 1_800_000_000_000 else { throw CommitTimeout(filed: filed, expected: mailboxes, timeout: .seconds(1800)) }
            try await Task.sleep(for: .milliseconds(20))
        }
        figures.allFiledSeconds = Monotonic.milliseconds(from: start, to: Monotonic.now()) / 1000
        say(String(format: "  all filed after %.1f s", figures.allFiledSeconds))
        if fleet.count > 1 { figures.balancedSeconds = try await waitUntilBalanced(store: store, start: start) }
        try await Task.sleep(for: .seconds(2))

        say("New mail to \(newMail) random mailboxes, one at a time")
        var random = SeededRandom(seed: 15)
        var picked = Array(server.users.indices)
        for index in picked.indices.reversed() where index > 0 { picked.swapAt(index, Int(random.next() % UInt64(index + 1))) }
        var expected = try await watch.count()
        for index in picked.prefix(newMail) {
            let user = server.users[index]
            let appender = try await IMAPAppender.connect(port: server.imapPort, user: user, password: UsersMailServer.password(of: user))
            expected += 1
            let sent = try await appender.append(TestMessage.bytes(to: "\(user)@helpdesk.example", number: 2, tag: "new-\(user)"))
            let seen = try await watch.messages(atLeast: expected, timeout: .seconds(120))
            figures.newMailMilliseconds.append(Monotonic.milliseconds(from: sent, to: seen))
            await appender.logout()
        }

        say("\(mailboxes) sessions in IDLE for \(idleSeconds) s")
        let before = try fleet.map { try $0.sample() }
        try await Task.sleep(for: .seconds(idleSeconds))
        let after = try fleet.map { try $0.sample() }
        figures.nodeKiB = after.map(\.residentKiB)
        figures.nodeCorePercent = zip(after, before).map { $0.corePercent(since: $1) }

        if fleet.count > 1 {
            try await failover(fleet: fleet, store: store, watch: watch, server: server, userOf: userOf, into: &figures)
        }
    }

    /// Waits until every mailbox is leased and no node holds more than its share; seconds since the nodes started.
    private func waitUntilBalanced(store: SQLStore, start: UInt64) async throws -> Double {
        let share = (mailboxes + nodes - 1) / nodes
        while true {
            let holders = try await store.leaseHolders()
            let perNode = Dictionary(grouping: holders.values, by: { $0 }).mapValues(\.count)
            if holders.count == mailboxes, perNode.count == nodes, perNode.values.allSatisfy({ $0 <= share }) { break }
            guard Monotonic.now() - start < 600_000_000_000 else { throw BenchFailure("leases did not balance within 600 s: \(perNode)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let seconds = Monotonic.milliseconds(from: start, to: Monotonic.now()) / 1000
        say(String(format: "  leases balanced after %.1f s", seconds))
        return seconds
    }

    /// SIGKILLs the node holding the most leases, puts one new message in each of its mailboxes at once, and
    /// times from the kill until all of them are committed by the others.
    private func failover(
        fleet: [NodeProcess], store: SQLStore, watch: CommitWatch, server: UsersMailServer, userOf: [MailboxID: String],
        into figures: inout FleetFigures
    ) async throws {
        let holders = try await store.leaseHolders()
        let perNode = Dictionary(grouping: holders.keys, by: { holders[$0] ?? NodeID("") })
        guard let most = perNode.max(by: { $0.value.count < $1.value.count }),
              let victim = fleet.first(where: { $0.name == most.key.rawValue })
        else { throw BenchFailure("no node holds a lease") }
        let users = most.value.compactMap { userOf[$0] }
        say("SIGKILL \(victim.name), which holds \(users.count) leases; one new message to each of its mailboxes")
        // Signed in before the kill, so the clock runs only for what the fleet does.
        var appenders: [IMAPAppender] = []
        for user in users {
            appenders.append(try await IMAPAppender.connect(port: server.imapPort, user: user, password: UsersMailServer.password(of: user)))
        }
        let expected = try await watch.count() + users.count
        let killed = Monotonic.now()
        await victim.crash()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (appender, user) in zip(appenders, users) {
                group.addTask { _ = try await appender.append(TestMessage.bytes(to: "\(user)@helpdesk.example", number: 3, tag: "failover-\(user)")) }
            }
            try await group.waitForAll()
        }
        let appended = Monotonic.now()
        let seen = try await watch.messages(atLeast: expected, timeout: .seconds(600))
        for appender in appenders { await appender.logout() }
        figures.failover = FleetFigures.Failover(
            node: victim.name, mailboxes: users.count, appendSeconds: Monotonic.milliseconds(from: killed, to: appended) / 1000,
            allCommittedSeconds: Monotonic.milliseconds(from: killed, to: seen) / 1000)
    }
}
