import ArgumentParser
import Crypto
import Engine
import Foundation
import IMAP
import Logging
import MIME
import MailroomCore
import Storage

/// `mailroom-bench`: Mailroom's throughput beside the peer baselines of `../shared/bench`, measured in one run.
@main
struct MailroomBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-bench", abstract: "Benchmarks against the peer baselines in ../shared/bench.",
        subcommands: [Ingest.self])
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest the corpus from the bench Dovecot into a fresh SQLite store (fetch, parse, store), beside mbsync on the same data.")

    @Option(help: "The shared folder with bench/ (env MAILROOM_SHARED_DIR).")
    var shared: String = ProcessInfo.processInfo.environment["MAILROOM_SHARED_DIR"] ?? "../shared"

    @Option(help: "Writable folder for the bench Dovecot, corpus and results (env BENCH_DIR).")
    var benchDir: String = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? "/tmp/mailroom-bench"

    @Option(help: "Messages in the corpus (seed 42).")
    var count: Int = 10_000

    @Option(help: "Timed runs of each contender; the median is reported.")
    var runs: Int = 1

    @Option(help: "UIDs per UID FETCH.")
    var batch: Int = 100

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let sharedDir = URL(fileURLWithPath: shared).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: "\(sharedDir)/bench/env.sh") else {
            throw ValidationError("No bench harness at \(sharedDir)/bench. Pass --shared PATH (the folder holding bench/).")
        }
        let environment = ["BENCH_DIR": benchDir]
        let shell = Shell(shared: sharedDir, environment: environment)
        print("Preparing: Dovecot and a \(count)-message corpus (seed 42) in \(benchDir)")
        try shell.run("bench/dovecot/start.sh")
        let manifestPath = "\(benchDir)/corpus/manifest.json"
        let manifest = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))) as? [String: Any]
        if manifest?["count"] as? Int != count || manifest?["imap_bytes_crlf"] == nil {
            try shell.run("python3 bench/corpus/make_corpus.py --count \(count) --seed 42 && python3 bench/corpus/load_maildir.py")
        }
        let loaded = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))) as? [String: Any]
        let rawBytes = (loaded?["total_bytes"] as? Int) ?? 0
        let megabytes = Double(rawBytes) / 1e6

        var rows: [Row] = []
        // Warm the page cache and Dovecot's index once, untimed.
        try shell.run("MBSYNC_FSYNC=no BENCH_QUIET=1 bench/baselines/mbsync_sync.sh none")

        rows.append(Row(name: "mbsync 1.4, plain, FSync no (peer)", seconds: try median(runs) {
            try shell.timed("MBSYNC_FSYNC=no BENCH_QUIET=1 BENCH_EXPECT=\(count) bench/baselines/mbsync_sync.sh none")
        }))
        rows.append(Row(name: "mbsync 1.4, plain, FSync yes (peer)", seconds: try median(runs) {
            try shell.timed("MBSYNC_FSYNC=yes BENCH_QUIET=1 BENCH_EXPECT=\(count) bench/baselines/mbsync_sync.sh none")
        }))
        let server = IMAPServer(host: "127.0.0.1", port: 10143, security: .none)
        rows.append(Row(name: "Mailroom IMAP fetch only (no parse, no store)", seconds: try await medianAsync(runs) {
            try await fetchOnly(server: server, expect: count, logger: logger)
        }))
        let files = try corpusFiles("\(benchDir)/corpus/eml")
        rows.append(Row(name: "Mailroom MIME parse only (files in memory)", seconds: try medianPlain(runs) {
            let start = ContinuousClock.now
            var attachments = 0
            for file in files { attachments += MessageParser.parse(file).attachments.count }
            precondition(attachments > 0)
            return (ContinuousClock.now - start).seconds
        }))
        rows.append(Row(name: "Mailroom ingest: fetch + parse + store (SQLite, FULL sync)", seconds: try await medianAsync(runs) {
            try await ingest(expect: count, logger: logger)
        }))

        let mbsync = rows[0].seconds
        print("")
        print("Corpus: \(count) messages, \(String(format: "%.1f", megabytes)) MB raw; Dovecot on 127.0.0.1:10143 (plain); median of \(runs) run(s)")
        print("")
        print("| contender | seconds | msgs/s | MB/s | speed vs mbsync FSync no |")
        print("|---|---:|---:|---:|---:|")
        for row in rows {
            print(String(format: "| %@ | %.2f | %.0f | %.1f | %.2f× |", row.name, row.seconds, Double(count) / row.seconds, megabytes / row.seconds, mbsync / row.seconds))
        }
    }

    struct Row {
        var name: String
        var seconds: Double
    }

    func median(_ runs: Int, _ body: () throws -> Double) throws -> Double {
        var samples: [Double] = []
        for _ in 0..<max(1, runs) { samples.append(try body()) }
        return samples.sorted()[samples.count / 2]
    }

    func medianPlain(_ runs: Int, _ body: () throws -> Double) throws -> Double { try median(runs, body) }

    func medianAsync(_ runs: Int, _ body: () async throws -> Double) async throws -> Double {
        var samples: [Double] = []
        for _ in 0..<max(1, runs) { samples.append(try await body()) }
        return samples.sorted()[samples.count / 2]
    }

    func corpusFiles(_ dir: String) throws -> [[UInt8]] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".eml") }.sorted()
            .map { Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\($0)"))) }
    }

    func fetchOnly(server: IMAPServer, expect: Int, logger: Logger) async throws -> Double {
        let start = ContinuousClock.now
        let client = try await IMAPClient.connect(to: server, logger: logger)
        try await client.login(username: "bench1", password: "bench1-secret")
        _ = try await client.select("INBOX", readOnly: true)
        let uids = try await client.uidSearch("ALL")
        var received = 0
        for chunk in stride(from: 0, to: uids.count, by: batch) {
            for try await message in client.uidFetch(UIDSet(uids: uids[chunk..<min(chunk + batch, uids.count)])) {
                received += message.body.isEmpty ? 0 : 1
            }
        }
        await client.logout()
        guard received == expect else { throw ValidationError("fetch-only received \(received) of \(expect) messages") }
        return (ContinuousClock.now - start).seconds
    }

    func ingest(expect: Int, logger: Logger) async throws -> Double {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await Database.open(.sqlite(path: dir.appendingPathComponent("bench.sqlite").path), logger: logger)
        return try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            let vault = Vault(key: SymmetricKey(size: .bits256))
            let mailbox = try await MailboxService(store: store, vault: vault).add(
                MailboxDraft(email: "bench1@helpdesk.example", name: "Bench", imapHost: "127.0.0.1", imapPort: 10143, imapSecurity: TransportSecurity.none,
                             username: "bench1"), password: "bench1-secret")
            guard let server = mailbox.incoming else { throw ValidationError("the bench mailbox has no IMAP server") }
            let syncer = MailboxSyncer(store: store, vault: vault, settings: SyncSettings(fetchBatchSize: batch), logger: logger)
            let start = ContinuousClock.now
            let report = try await syncer.sync(mailbox, server: server)
            let seconds = (ContinuousClock.now - start).seconds
            let filed = try await store.messageCount()
            guard report.fetched == expect, filed == expect else {
                throw ValidationError("ingest filed \(filed) (fetched \(report.fetched)) of \(expect) messages")
            }
            return seconds
        }
    }
}

/// Runs the shared harness's scripts with its environment.
struct Shell {
    var shared: String
    var environment: [String: String]

    @discardableResult
    func run(_ command: String) throws -> Double { try timed(command) }

    /// posix_spawn and waitpid: Foundation's Process lost the exit of scripts that start daemons (Dovecot) here.
    func timed(_ command: String) throws -> Double {
        let script = "set -e; cd \"\(shared)\"; . bench/env.sh; \(command)"
        let words: [String] = ["/bin/bash", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let pairs = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let env: [UnsafeMutablePointer<CChar>?] = pairs.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        let start = ContinuousClock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, env)
        guard spawned == 0 else { throw ValidationError("cannot run `\(command)`: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw ValidationError("`\(command)` failed with wait status \(status)") }
        return (ContinuousClock.now - start).seconds
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
