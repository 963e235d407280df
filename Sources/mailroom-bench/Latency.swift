import ArgumentParser
import Crypto
import Engine
import Foundation
import LocalMailServers
import Logging
import MailroomCore
import Storage

/// `mailroom-bench latency`: how long a new email takes to become a ticket with push, beside a raw IDLE client's
/// APPEND → `* N EXISTS` on the same Dovecot, in alternating turns. Mailroom runs in this process exactly as
/// `mailroom serve` builds it (a ``LeaseKeeper`` and ``InboundSync`` with push on and a 60 s poll interval, on a
/// SQLite ``SQLStore``), so only push can file the mail in time.
struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "APPEND → ticket committed (Mailroom push, SQLite) beside APPEND → * N EXISTS (a raw IDLE client), alternating; p50/p95/p99.")

    @Option(help: "Writable folder for Dovecot and the database (env BENCH_DIR).")
    var benchDir: String = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? "/tmp/mailroom-bench"

    @Option(help: "Messages per contender, spread evenly over the rounds.") var messages: Int = 200
    @Option(help: "Rounds; each runs every contender's share of messages in turn.") var rounds: Int = 4
    @Option(help: "Seconds to wait after each message is done before the next (Dovecot holds a change notice for 0.5 s after the last).")
    var gap: Double = 0.75
    @Option(help: "Milliseconds between the bench's looks at Mailroom's database.") var pollMilliseconds: Int = 1

    func validate() throws {
        guard messages >= rounds, rounds >= 1 else { throw ValidationError("--messages must be at least --rounds, and --rounds at least 1.") }
        guard gap >= 0, pollMilliseconds >= 1 else { throw ValidationError("--gap must not be negative and --poll-milliseconds at least 1.") }
    }

    func run() async throws {
        try Prerequisite.install([.dovecot, .openssl, .python])
        let logger = Self.logger
        let users = ["mailroom1", "peer1"]
        say("Starting Dovecot in \(benchDir)/latency")
        let server = try await UsersMailServer.start(root: "\(benchDir)/latency/dovecot", users: users, sessions: 20) { _ in nil }
        defer { server.stop() }
        let folder = "\(benchDir)/latency/store-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/mailroom.sqlite"
        let database = try await Database.open(.sqlite(path: path), logger: logger)
        let samples = try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            let vault = Vault(key: SymmetricKey(size: .bits256))
            _ = try await MailboxService(store: store, vault: vault).add(
                MailboxDraft(email: "support@helpdesk.example", name: "Latency", imapHost: "127.0.0.1", imapPort: server.imapPort,
                             imapSecurity: TransportSecurity.none, username: users[0]),
                password: UsersMailServer.password(of: users[0]))
            // The bench's own connection: it reads while Mailroom writes, as another process would.
            let watchDatabase = try await Database.open(.sqlite(path: path), logger: logger)
            return try await watchDatabase.withRunning { watchDatabase in
                let watch = CommitWatch(store: SQLStore(database: watchDatabase), interval: .milliseconds(pollMilliseconds))
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    // What `mailroom serve` runs for inbound mail: the lease keeper, then the inbound worker.
                    let leases = LeaseKeeper(store: store, settings: .init(node: NodeID("mailroom-bench"), leaseTime: .seconds(30)), logger: logger)
                    let inbound = InboundSync(store: store, vault: vault, settings: SyncSettings(pollInterval: .seconds(60), push: true),
                                              leases: leases, logger: logger)
                    group.addTask { try await leases.run() }
                    group.addTask { try await inbound.run() }
                    defer { group.cancelAll() }
                    return try await measure(server: server, users: users, watch: watch)
                }
            }
        }
        report(samples)
    }

    static var logger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }

    /// Both contenders' samples in milliseconds, per round.
    struct Samples {
        var mailroom: [[Double]] = []
        var peer: [[Double]] = []
    }

    private func measure(server: UsersMailServer, users: [String], watch: CommitWatch) async throws -> Samples {
        let peer = try await IdlePeer.start(
            script: "\(Ingest.peerScripts)/idle_exists.py", port: server.imapPort, user: users[1],
            password: UsersMailServer.password(of: users[1]), output: "\(benchDir)/latency/peer.out")
        defer { peer.stop() }
        let toMailroom = try await IMAPAppender.connect(port: server.imapPort, user: users[0], password: UsersMailServer.password(of: users[0]))
        let toPeer = try await IMAPAppender.connect(port: server.imapPort, user: users[1], password: UsersMailServer.password(of: users[1]))
        var sent = (mailroom: 0, peer: 0)
        /// One message to Mailroom's mailbox; milliseconds from APPEND to the commit the bench saw.
        func mailroomOnce() async throws -> Double {
            sent.mailroom += 1
            let start = try await toMailroom.append(TestMessage.bytes(to: "support@helpdesk.example", number: sent.mailroom, tag: "latency"))
            let seen = try await watch.messages(atLeast: sent.mailroom, timeout: .seconds(60))
            return Monotonic.milliseconds(from: start, to: seen)
        }
        /// One message to the peer's mailbox; milliseconds from APPEND to the peer reading `* N EXISTS`.
        func peerOnce() async throws -> Double {
            sent.peer += 1
            let start = try await toPeer.append(TestMessage.bytes(to: "peer@helpdesk.example", number: sent.peer, tag: "peer"))
            return Monotonic.milliseconds(from: start, to: try await peer.exists(atLeast: sent.peer))
        }
        // Untimed: Mailroom's session signs in and reaches IDLE (its first pass finds an empty INBOX), and both
        // mailboxes' indexes exist before the first timed message.
        for _ in 0..<2 {
            _ = try await mailroomOnce()
            _ = try await peerOnce()
            try await Task.sleep(for: .milliseconds(Int64(gap * 1000)))
        }
        var samples = Samples()
        for round in 0..<rounds {
            let share = messages / rounds + (round < messages % rounds ? 1 : 0)
            var peerRound: [Double] = [], mailroomRound: [Double] = []
            for _ in 0..<share {
                peerRound.append(try await peerOnce())
                try await Task.sleep(for: .milliseconds(Int64(gap * 1000)))
            }
            for _ in 0..<share {
                mailroomRound.append(try await mailroomOnce())
                try await Task.sleep(for: .milliseconds(Int64(gap * 1000)))
            }
            samples.peer.append(peerRound)
            samples.mailroom.append(mailroomRound)
            say(String(format: "round %d: p50 raw IDLE client %.1f ms, Mailroom %.1f ms (%d messages each)",
                         round + 1, median(peerRound), median(mailroomRound), share))
        }
        await toMailroom.logout()
        await toPeer.logout()
        return samples
    }

    private func report(_ samples: Samples) {
        let peer = Percentiles(samples.peer.flatMap { $0 }), mailroom = Percentiles(samples.mailroom.flatMap { $0 })
        say("")
        say("Dovecot \(dovecotVersion()) on loopback, plain IMAP; \(messages) messages per contender, one at a time, in \(rounds) alternating rounds, \(gap) s apart; Mailroom's commits seen by polling its database every \(pollMilliseconds) ms")
        say("")
        say("| contender | p50 ms | p95 ms | p99 ms | median of round p50s ms |")
        say("|---|---:|---:|---:|---:|")
        say(String(format: "| raw IDLE client (bench/peers/idle_exists.py): APPEND → `* N EXISTS` read (peer) | %.1f | %.1f | %.1f | %.1f |",
                     peer(50), peer(95), peer(99), median(samples.peer.map(median))))
        say(String(format: "| Mailroom push (InboundSync as `serve` runs it, SQLite): APPEND → ticket committed | %.1f | %.1f | %.1f | %.1f |",
                     mailroom(50), mailroom(95), mailroom(99), median(samples.mailroom.map(median))))
        say("")
        say(String(format: "Mailroom's p50 is %.1f ms behind the raw client's (target: within 20 ms).", mailroom(50) - peer(50)))
    }
}

/// `dovecot --version`'s first word, for the figures' caption.
func dovecotVersion() -> String {
    let output = (try? CleanSpawn.run(["dovecot", "--version"]))?.output ?? "?"
    return output.split(separator: " ").first.map(String.init) ?? "?"
}
