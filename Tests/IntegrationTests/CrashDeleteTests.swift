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
}
