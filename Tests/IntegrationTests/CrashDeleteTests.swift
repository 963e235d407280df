import Foundation
import MailroomTestSupport
import Testing

@Suite("Delete after fetching through crashes", .serialized)
struct CrashDeleteTests {
    @Test("SIGKILL mid-sync with «Delete emails from server after fetching»: no message leaves the server without its ticket; after a restart every message is filed once and the server is emptied")
    func crashWithDeleteMode() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let corpus = await TestServers.shared.corpus(count: 1000, seed: 42)
        let user = uniqueUser("crashdel")
        try dovecot.setUser(user, password: "pw-\(user)")
        try dovecot.deliver(corpus, to: user)
        let workdir = try TestPaths.temporaryDirectory("crashdel")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", "\(user)@helpdesk.example", "--name", "Support", "--provider", "other",
                         "--usage", "incoming", "--imap-host", "localhost", "--imap-port", String(dovecot.imapsPort), "--imap-security", "tls",
                         "--username", user, "--delete-after-fetch", "--password-stdin"], input: "pw-\(user)\n", workdir: workdir)
        let first = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await first.waitUntilListening()
        try await waitForTicketMessages(atLeast: 150, database: database, workdir: workdir, timeout: .seconds(30))
        first.sigkill()
        let filed = try ticketMessageCount(database: database, workdir: workdir)
        let left = try dovecot.messageCount(user)
        #expect(filed < 1000, "the kill should land mid-sync (had \(filed))")
        // What left the server is filed: deleted ≤ filed.
        #expect(1000 - left <= filed, "\(1000 - left) deleted but only \(filed) filed")

        let second = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await second.waitUntilListening()
        try await waitForTicketMessages(atLeast: 1000, database: database, workdir: workdir, timeout: .seconds(120))
        let deadline = ContinuousClock.now + .seconds(30)
        while try dovecot.messageCount(user) > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        #expect(try dovecot.messageCount(user) == 0)
        #expect(try ticketMessageCount(database: database, workdir: workdir) == 1000)
        #expect(second.terminate() == 0)
    }

    @Test("SIGKILL between a commit and the deletion that follows it, again and again (before the \\Deleted flag, and between the flag and UID EXPUNGE): nothing is lost and nothing filed twice")
    func killBetweenCommitAndExpunge() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("killexpunge")
        try dovecot.setUser(user, password: "pw-\(user)")
        let workdir = try TestPaths.temporaryDirectory("killexpunge")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let victim = Victim()
        // Plain IMAP through a proxy that sees each command before Dovecot does and kills serve on the armed one.
        let proxy = try IMAPLineProxy(upstreamPort: dovecot.imapPort) { line in
            guard let target = victim.armedFor, line.uppercased().contains(target) else { return true }
            victim.kill()
            return false
        }
        defer { proxy.stop() }
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", "\(user)@helpdesk.example", "--name", "Support", "--provider", "other",
                         "--usage", "incoming", "--imap-host", "127.0.0.1", "--imap-port", String(proxy.port), "--imap-security", "none",
                         "--username", user, "--delete-after-fetch", "--password-stdin"], input: "pw-\(user)\n", workdir: workdir)
        var delivered: Set<String> = []
        let rounds = 16
        for round in 1...rounds {
            let subjects = (1...7).map { "Round \(round) message \($0)" }
            try dovecot.deliver(subjects.map { simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: $0) }, to: user)
            delivered.formUnion(subjects)
            let target = round.isMultiple(of: 2) ? "EXPUNGE" : "+FLAGS"
            victim.arm(target)
            let server = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
            victim.set(server)
            let deadline = ContinuousClock.now + .seconds(60)
            while !victim.fired, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(victim.fired, "round \(round): serve never reached \(target)")
            _ = ProcessRunner.wait(server.pid)
            // Everything committed before the kill is there, once; nothing left the server unfiled.
            let filed = try incomingSubjects(database: database, workdir: workdir)
            #expect(filed.values.allSatisfy { $0 == 1 }, "round \(round): filed twice: \(filed.filter { $0.value > 1 })")
            #expect(Set(filed.keys).isSubset(of: delivered))
            let onServer = try dovecot.messageCount(user)
            #expect(delivered.count - onServer <= filed.count, "round \(round): \(delivered.count - onServer) deleted, \(filed.count) filed")
        }
        // A last run that is not killed files the rest and empties the server.
        victim.arm(nil)
        let last = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await last.waitUntilListening()
        try await waitForTicketMessages(atLeast: delivered.count, database: database, workdir: workdir, timeout: .seconds(60))
        let deadline = ContinuousClock.now + .seconds(30)
        while try dovecot.messageCount(user) > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        #expect(try dovecot.messageCount(user) == 0)
        let filed = try incomingSubjects(database: database, workdir: workdir)
        #expect(Set(filed.keys) == delivered)
        #expect(filed.values.allSatisfy { $0 == 1 })
        #expect(last.terminate() == 0)
    }

    /// Filed messages per subject (every message here opens its own ticket).
    func incomingSubjects(database: String, workdir: URL) throws -> [String: Int] {
        try ticketsBySubject(database: database, workdir: workdir).mapValues(\.messages)
    }

    /// The serve process to kill and the command to kill it on, shared with the proxy's threads.
    final class Victim: @unchecked Sendable {
        private let lock = NSLock()
        private var target: String?
        private var process: MailroomProcess?
        private var done = false
        var armedFor: String? { lock.withLock { done ? nil : target } }
        var fired: Bool { lock.withLock { done } }
        func arm(_ target: String?) { lock.withLock { self.target = target; done = false } }
        func set(_ process: MailroomProcess) { lock.withLock { self.process = process } }
        func kill() {
            lock.withLock {
                guard let process else { return }
                Glibc.kill(process.pid, SIGKILL)
                done = true
            }
        }
    }
}
