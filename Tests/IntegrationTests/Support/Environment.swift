import Foundation

/// The servers this test process shares, started on first use and stopped at exit.
actor TestServers {
    static let shared = TestServers()
    private var dovecotTask: Task<Dovecot, any Error>?
    private var postgresTask: Task<Postgres, any Error>?
    private var postfixTask: Task<Postfix, any Error>?
    private var emulatorTask: Task<EmulatorFixture, any Error>?
    private var corpora: [String: URL] = [:]

    func dovecot() async throws -> Dovecot {
        if let dovecotTask { return try await dovecotTask.value }
        // Dovecot checks OAuth tokens with the emulator, so the emulator starts first.
        let task = Task {
            let emulator = try await self.emulator()
            return try await Dovecot(introspectionURL: emulator.introspectionURL)
        }
        dovecotTask = task
        return try await task.value
    }

    /// Postfix authenticating through the shared Dovecot (passwords only; OAuth tests start their own pair).
    func postfix() async throws -> Postfix {
        if let postfixTask { return try await postfixTask.value }
        let dovecot = try await dovecot()
        if let postfixTask { return try await postfixTask.value }
        let task = Task { try await Postfix(dovecot: dovecot) }
        postfixTask = task
        return try await task.value
    }

    /// The identity emulator, in this process, with the apps Mailroom is registered as.
    func emulator() async throws -> EmulatorFixture {
        if let emulatorTask { return try await emulatorTask.value }
        let task = Task { try await EmulatorFixture.start() }
        emulatorTask = task
        return try await task.value
    }

    func postgres() async throws -> Postgres {
        if let postgresTask { return try await postgresTask.value }
        let task = Task { try await Postgres() }
        postgresTask = task
        return try await task.value
    }

    /// Messages from the shared corpus generator (deterministic for a count and seed), in file order.
    func corpus(count: Int, seed: Int) throws -> [[UInt8]] {
        let key = "\(count)-\(seed)"
        let dir: URL
        if let cached = corpora[key] {
            dir = cached
        } else {
            dir = try TestPaths.temporaryDirectory("corpus-\(key)")
            let script = TestPaths.shared.appendingPathComponent("bench/corpus/make_corpus.py").path
            try ProcessRunner.run(["python3", script, "--count", String(count), "--seed", String(seed), "--out", dir.path])
            corpora[key] = dir
        }
        let eml = dir.appendingPathComponent("eml")
        let files = try FileManager.default.contentsOfDirectory(atPath: eml.path).filter { $0.hasSuffix(".eml") }.sorted()
        return try files.map { Array(try Data(contentsOf: eml.appendingPathComponent($0))) }
    }
}
