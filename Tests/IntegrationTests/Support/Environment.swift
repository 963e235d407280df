import Foundation

/// The servers this test process shares, started on first use and stopped at exit.
actor TestServers {
    static let shared = TestServers()
    private var dovecotTask: Task<Dovecot, any Error>?
    private var postgresTask: Task<Postgres, any Error>?
    private var corpora: [String: URL] = [:]

    func dovecot() async throws -> Dovecot {
        if let dovecotTask { return try await dovecotTask.value }
        let task = Task { try await Dovecot() }
        dovecotTask = task
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
