import Foundation
import LocalMailServers
import MailCorpus
import MailroomTestSupport

/// The servers this test process shares, started on first use and stopped at exit.
actor TestServers {
    static let shared = TestServers()
    private var dovecotTask: Task<Dovecot, any Error>?
    private var postfixTask: Task<Postfix, any Error>?
    private var emulatorTask: Task<EmulatorFixture, any Error>?
    private var corpora: [String: [[UInt8]]] = [:]

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

    /// The PostgreSQL every test target of this process shares.
    func postgres() async throws -> PostgresCluster {
        try await TestPostgres.shared.cluster()
    }

    /// Messages from the repository's corpus generator (deterministic for a count and seed), in order.
    func corpus(count: Int, seed: UInt64) -> [[UInt8]] {
        let key = "\(count)-\(seed)"
        if let cached = corpora[key] { return cached }
        let messages = CorpusGenerator.messages(count: count, seed: seed)
        corpora[key] = messages
        return messages
    }
}
