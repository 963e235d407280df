import ArgumentParser
import Crypto
import Engine
import Foundation
import IMAP
import LocalMailServers
import Logging
import MIME
import MailCorpus
import MailroomCore
import Storage

/// `mailroom-bench`: Mailroom's throughput beside peer programs measured in the same run, from the
/// repository alone: it generates its corpus, starts its own Dovecot and installs its peers.
@main
struct MailroomBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-bench", abstract: "Measures Mailroom beside peer programs on the same machine and data.",
        subcommands: [Ingest.self, Corpus.self, Latency.self, Fleet.self, LargeMessage.self])
}

/// Writes the corpus as `.eml` files, for looking at or for other tools.
struct Corpus: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the deterministic test corpus as .eml files and a manifest.")

    @Option(help: "Messages to write.") var count: Int = 10_000
    @Option(help: "Seed; the same seed gives the same bytes.") var seed: UInt64 = 42
    @Option(help: "Folder to write eml/ and manifest.json into.") var out: String = "corpus"

    func run() throws {
        let manifest = try CorpusFolder(url: URL(fileURLWithPath: out)).write(count: count, seed: seed)
        print("\(manifest.count) messages, \(String(format: "%.1f", Double(manifest.totalBytes) / 1e6)) MB, sha256 \(manifest.sha256)")
    }
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest the corpus from a private Dovecot: Mailroom's own sync path into a fresh SQLite store, beside imaplib + fast-mail-parser and mbsync, alternating.")

    @Option(help: "Writable folder for Dovecot, the corpus, the peers' virtual environment and their output (env BENCH_DIR).")
    var benchDir: String = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? "/tmp/mailroom-bench"

    @Option(help: "Messages in the corpus (seed 42).") var count: Int = 10_000
    @Option(help: "Timed rounds; each round runs every contender once, in turn; the median is reported.") var runs: Int = 3
    @Option(help: "UIDs per UID FETCH (serve's default).") var batch: Int = SyncSettings().fetchBatchSize
    @Option(help: "Run only the contenders whose name contains this text, or one of several separated by «|» (for profiling one of them).") var only: String?

    /// The peer scripts, found beside the sources so that `swift run` works from a clone in any folder.
    static let peerScripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("bench/peers").path

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let peers = Peers(benchDir: benchDir, scripts: Self.peerScripts)
        try peers.install()
        print("Preparing a \(count)-message corpus (seed 42) and Dovecot in \(benchDir)")
        let folder = CorpusFolder(url: URL(fileURLWithPath: benchDir).appendingPathComponent("corpus"))
        let manifest = try folder.write(count: count, seed: 42)
        let files = try folder.files()
        let server = try await BenchMailServer.start(root: "\(benchDir)/dovecot", corpus: files)
        defer { server.stop() }
        let port = server.imapPort
        let imap = IMAPServer(host: "127.0.0.1", port: port, security: .none)
        let messages = try files.map { Array(try Data(contentsOf: $0)) }
        let expect = count, batch = batch

        // PostgreSQL as the integration tests run it: a private cluster on loopback (fsync off, as for every test).
        let postgresRoot = "\(benchDir)/postgres"
        try? FileManager.default.removeItem(atPath: postgresRoot)
        try FileManager.default.createDirectory(atPath: postgresRoot, withIntermediateDirectories: true)
        let postgres = try await PostgresCluster.start(in: postgresRoot, port: try LoopbackPort.free())
        defer { postgres.stop() }
        var postgresRuns = 0
        var emails: [IncomingEmail]?
        let all: [(name: String, run: () async throws -> Double)] = [
            ("imaplib + fast-mail-parser: fetch + parse (peer)", { try peers.imaplib(port: port, expect: expect, batch: batch) }),
            ("Mailroom ingest: fetch + parse + thread + store (SQLite), the path `serve` runs", {
                try await ingest(port: port, expect: expect, url: BenchStore.sqliteURL(in: benchDir), logger: logger)
            }),
            ("Mailroom ingest: the same into PostgreSQL", {
                postgresRuns += 1
                return try await ingest(port: port, expect: expect, url: try postgres.createDatabase("ingest\(postgresRuns)"), logger: logger)
            }),
            ("mbsync: fetch + Maildir, FSync no (peer)", { try peers.mbsync(port: port, fsync: false, expect: expect) }),
            ("mbsync: fetch + Maildir, FSync yes (peer)", { try peers.mbsync(port: port, fsync: true, expect: expect) }),
            ("Mailroom IMAP fetch only", { try await fetchOnly(server: imap, expect: expect, logger: logger) }),
            ("Mailroom MIME parse only (messages in memory)", { parseOnly(messages) }),
            ("Mailroom prepare only: parse, classify (messages in memory)", { prepareOnly(messages) }),
            ("Mailroom thread + store only (prepared emails, SQLite, archive synced per group)", {
                let prepared = emails ?? Self.prepared(messages)
                emails = prepared
                return try await storeOnly(prepared, logger: logger)
            }),
        ]
        let wanted = only.map { $0.split(separator: "|").map(String.init) }
        let contenders = all.filter { contender in wanted.map { $0.contains(where: contender.name.localizedCaseInsensitiveContains) } ?? true }
        guard !contenders.isEmpty else { throw ValidationError("no contender's name contains «\(only ?? "")»") }
        if contenders.contains(where: { $0.name.contains("store only") }) { emails = Self.prepared(messages) }
        // Dovecot builds its index and the page cache fills once, untimed.
        _ = try await fetchOnly(server: imap, expect: expect, logger: logger)
        var samples = Array(repeating: [Double](), count: contenders.count)
        var cpu = Array(repeating: [Double](), count: contenders.count)
        for round in 1...max(1, runs) {
            for (index, contender) in contenders.enumerated() {
                // What the contender before left dirty reaches the disk first, untimed: otherwise its writeback
                // queues in front of the next one's syncs (PostgreSQL's gigabyte slowed the store-only row by half).
                sync()
                let busy = try MachineCPU.busySeconds()
                samples[index].append(try await contender.run())
                cpu[index].append(try MachineCPU.busySeconds() - busy)
            }
            print("round \(round): " + samples.map { String(format: "%.2f", $0.last ?? 0) }.joined(separator: " / ") + " s")
        }
        let medians = samples.map { $0.sorted()[$0.count / 2] }
        let cpuMedians = cpu.map { $0.sorted()[$0.count / 2] }
        let memory = try await largeMessageMemory(port: port)
        let megabytes = Double(manifest.totalBytes) / 1e6
        print("")
        print("Corpus: \(count) messages, \(String(format: "%.1f", megabytes)) MB (sha256 \(manifest.sha256.prefix(12))…); Dovecot on loopback, plain IMAP; median of \(max(1, runs)) alternating round(s)")
        print("")
        print("| contender | seconds | msgs/s | MB/s | speed vs imaplib + fast-mail-parser | same round: median (lowest–highest) | CPU s, whole machine |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for (index, contender) in contenders.enumerated() {
            let seconds = medians[index]
            // Each round's pair ran back to back, so its ratio is judged in one state of this shared machine, whose
            // speed drifts between rounds by more than the difference measured.
            let paired = zip(samples[0], samples[index]).map { $0 / $1 }
            print(String(format: "| %@ | %.2f | %.0f | %.1f | %.2f× | %.2f× (%.2f–%.2f) | %.2f |", contender.name, seconds, Double(count) / seconds,
                         megabytes / seconds, medians[0] / seconds, median(paired), paired.min() ?? .nan, paired.max() ?? .nan, cpuMedians[index]))
        }
        print("")
        print(String(format: "Peak memory above idle while `serve`'s sync path files one %.1f MB message: %.1f MB (%.1f× its size)",
                     Double(memory.size) / 1e6, Double(memory.peakAboveIdle) / 1e6, Double(memory.peakAboveIdle) / Double(memory.size)))
        let render = Self.renderTimes(messages)
        print(String(format: "Opening a message renders its HTML from its raw bytes (filing no longer does): %d of the corpus's messages have HTML; "
                     + "per message %.0f µs median, %.0f µs at the 99th percentile, %.0f µs at most", render.count, render.percentile(50), render.percentile(99), render.percentile(100)))
    }

    /// What filing leaves to a reader: parsing a message again and sanitizing its HTML, in microseconds, for each
    /// message of the corpus that has HTML and is rendered that way (up to one raw piece; a larger one keeps its HTML).
    static func renderTimes(_ messages: [[UInt8]]) -> (count: Int, percentile: (Double) -> Double) {
        var times: [Double] = []
        for message in messages where message.count <= SQLStore.rawPieceSize {
            let start = ContinuousClock.now
            guard IncomingEmail.renderedHTML(raw: message) != nil else { continue }
            times.append((ContinuousClock.now - start).seconds * 1e6)
        }
        let percentiles = Percentiles(times)
        return (times.count, { percentiles($0) })
    }

    /// Puts a 25 MB message in the folder «Large» and has a process of its own file it (see ``LargeMessage``).
    func largeMessageMemory(port: Int) async throws -> (size: Int, peakAboveIdle: Int) {
        let message = LargeMessage.message(megabytes: 25)
        let appender = try await IMAPAppender.connect(port: port, user: BenchMailServer.user, password: BenchMailServer.password)
        try await appender.recreate("Large")
        _ = try await appender.append(message, to: "Large")
        await appender.logout()
        let bench = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try CleanSpawn.run([bench, "large-message", "--port", String(port), "--bench-dir", benchDir])
        let words = result.output.split(whereSeparator: \.isWhitespace)
        guard result.status == 0, let index = words.firstIndex(of: "peak-above-idle-kib"), index + 1 < words.count, let kib = Int(words[index + 1]) else {
            throw BenchFailure("the large-message run failed: \(result.output)")
        }
        return (message.count, kib * 1024)
    }

    func parseOnly(_ messages: [[UInt8]]) -> Double {
        let start = ContinuousClock.now
        var attachments = 0
        for message in messages { attachments += MessageParser.parse(message).attachments.count }
        precondition(attachments > 0)
        return (ContinuousClock.now - start).seconds
    }

    func prepareOnly(_ messages: [[UInt8]]) -> Double {
        let start = ContinuousClock.now
        var attachments = 0
        for message in messages { attachments += MailboxSyncer.incomingEmail(raw: message, receivedAt: Date()).attachments.count }
        precondition(attachments > 0)
        return (ContinuousClock.now - start).seconds
    }

    /// The store's share: emails prepared beforehand, filed in the groups `serve` commits.
    /// The emails the store-only contender files, prepared once and outside any timed or CPU-counted window.
    static func prepared(_ messages: [[UInt8]]) -> [IncomingEmail] {
        messages.enumerated().map { index, raw in
            var email = MailboxSyncer.incomingEmail(raw: raw, receivedAt: Date())
            email.sourceUID = UInt32(index + 1)
            return email
        }
    }

    func storeOnly(_ emails: [IncomingEmail], logger: Logger) async throws -> Double {
        return try await BenchStore.withMailbox(url: BenchStore.sqliteURL(in: benchDir), imapPort: 143, logger: logger) { store, _, mailbox in
            // Groups as the syncer closes them: at the size or the byte bound, whichever comes first.
            let settings = SyncSettings()
            var groups: [[IncomingEmail]] = [[]], bytes = 0
            for email in emails {
                groups[groups.count - 1].append(email)
                bytes += email.raw.count
                guard settings.closesGroup(emails: groups[groups.count - 1].count, bytes: bytes) else { continue }
                groups.append([])
                bytes = 0
            }
            let start = ContinuousClock.now
            for var slice in groups where !slice.isEmpty {
                let mark = SyncWatermark(uidValidity: 1, lastUID: slice.last?.sourceUID ?? 0, source: "bench")
                // As `serve` files them: raw bytes into the archive and on disk first, then the commit.
                if let locations = try await store.archive(slice.map(\.raw)) {
                    for (index, location) in zip(slice.indices, locations) { slice[index].archived = location }
                }
                _ = try await store.ingest(slice, mailbox: mailbox.id, folder: "INBOX", watermark: mark)
            }
            let seconds = (ContinuousClock.now - start).seconds
            guard try await store.messageCount() == emails.count else { throw ValidationError("store-only filed too few messages") }
            return seconds
        }
    }

    func fetchOnly(server: IMAPServer, expect: Int, logger: Logger) async throws -> Double {
        let start = ContinuousClock.now
        let client = try await IMAPClient.connect(to: server, logger: logger)
        try await client.login(username: BenchMailServer.user, password: BenchMailServer.password)
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

    /// A fresh store, one mailbox, and `MailboxSyncer.sync`: what `mailroom serve` does on a poll.
    func ingest(port: Int, expect: Int, url: String, logger: Logger) async throws -> Double {
        try await BenchStore.withMailbox(url: url, imapPort: port, logger: logger) { [batch] store, vault, mailbox in
            guard let incoming = mailbox.incoming else { throw ValidationError("the bench mailbox has no IMAP server") }
            let syncer = MailboxSyncer(store: store, vault: vault, settings: SyncSettings(fetchBatchSize: batch), logger: logger)
            let start = ContinuousClock.now
            let report = try await syncer.sync(mailbox, server: incoming)
            let seconds = (ContinuousClock.now - start).seconds
            let filed = try await store.messageCount()
            guard report.fetched == expect, filed == expect else {
                throw ValidationError("ingest filed \(filed) (fetched \(report.fetched)) of \(expect) messages")
            }
            return seconds
        }
    }
}
