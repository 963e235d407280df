import Foundation
import MailroomTestSupport
import MIME
import Testing

@Suite("The outbox through mailroom serve: outages and crashes", .serialized)
struct OutboxServeTests {
    /// Issue 5 asked for Postfix down for five minutes. The span matters for the attempts it holds, so the suite no
    /// longer waits it out: with 0.5–1 s retry delays every pass of the queue (every 5 s, and when a reply is
    /// queued) finds each reply due again, so each fails several times on either side of the SIGKILL, as it did in
    /// five minutes at 5–10 s delays.
    @Test("Postfix down for 45 seconds of retries and mailroom serve SIGKILLed meanwhile: every reply is delivered exactly once afterwards")
    func outageAndCrash() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let user = uniqueUser("outage")
        try dovecot.setUser(user, password: "pw-\(user)")
        let relayUser = uniqueUser("relay")
        try dovecot.setUser(relayUser, password: "Relay-\(relayUser)")
        let customer = "\(uniqueUser("patient"))@\(Postfix.customerDomain)"
        try dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "Waiting for an answer", from: "Patient <\(customer)>")], to: user)
        let workdir = try TestPaths.temporaryDirectory("outbox-serve")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", "\(user)@helpdesk.example", "--name", "Support", "--provider", "other",
                         "--usage", "incoming", "--imap-host", "localhost", "--imap-port", String(dovecot.imapsPort), "--imap-security", "tls",
                         "--username", user, "--password-stdin"], input: "pw-\(user)\n", workdir: workdir)
        let environment = [
            "MAILROOM_SMTP_URL": "smtp://\(relayUser):Relay-\(relayUser)@localhost:\(postfix.submissionPort)",
            "MAILROOM_OUTBOX_FIRST_RETRY_DELAY": "0.5", "MAILROOM_OUTBOX_MAX_RETRY_DELAY": "1",
        ]
        let first = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile, extraEnvironment: environment)
        try await first.waitUntilListening()
        try TestPeople.createAdmin(database: database, workdir: workdir)
        let session = try await TestPeople.signIn(base: first.base)
        try await waitForTicketMessages(atLeast: 1, database: database, workdir: workdir, timeout: .seconds(30))

        try postfix.stop()
        let outageStarted = ContinuousClock.now
        do {
            for n in 1...3 {
                let status = try ProcessRunner.run([
                    "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-H", "Cookie: \(session.cookieHeader)",
                    "--data-urlencode", "csrf=\(session.csrf)", "--data-urlencode", "text=Answer number \(n)", "http://127.0.0.1:\(first.port)/tickets/1/replies",
                ])
                #expect(status == "303")
            }
            try await Task.sleep(for: .seconds(12))  // a few failed attempts, then a crash with replies still queued
            #expect(first.log.contains("Reply not sent yet"))
            first.sigkill()
            let second = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile, extraEnvironment: environment)
            try await second.waitUntilListening()
            let page = try await second.get("/tickets/1", as: session)
            #expect(page.body.contains("Not sent yet; retrying automatically"))
            try await Task.sleep(until: outageStarted + .seconds(45))
            // The restarted process must itself have failed with Postfix down, not only the first one.
            #expect(second.log.contains("Reply not sent yet"))
            try await postfix.start()
            let maildir = dovecot.maildir(customer, folder: nil).appendingPathComponent("new")
            var delivered: [URL] = []
            for _ in 0..<300 where delivered.count < 3 {
                delivered = (try? FileManager.default.contentsOfDirectory(at: maildir, includingPropertiesForKeys: nil)) ?? []
                try await Task.sleep(for: .milliseconds(200))
            }
            try await Task.sleep(for: .seconds(15))  // more passes of the queue: nothing may be sent again
            delivered = (try? FileManager.default.contentsOfDirectory(at: maildir, includingPropertiesForKeys: nil)) ?? []
            let bodies = try delivered.map { MessageParser.parse(Array(try Data(contentsOf: $0))).textBody ?? "" }
            #expect(bodies.count == 3)
            for n in 1...3 { #expect(bodies.filter { $0.contains("Answer number \(n)") }.count == 1) }
            let after = try await second.get("/tickets/1", as: session)
            #expect(after.body.components(separatedBy: "class=\"delivery sent\"").count - 1 == 3)
            #expect(!second.log.contains("Relay-\(relayUser)"))
            #expect(second.terminate() == 0)
        } catch {
            try? await postfix.start()
            throw error
        }
    }
}
