import Foundation
import MailroomTestSupport
import Storage
import Testing

@Suite("mailroom serve and the CLI, as an operator uses them", .serialized)
struct ServeTests {
    @Test("SIGKILL in the middle of a sync, then a restart: every message exactly once", arguments: Backend.allCases)
    func crashMidSync(backend: Backend) async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let corpus = await TestServers.shared.corpus(count: 1000, seed: 42)
        let user = uniqueUser("crash")
        try dovecot.setUser(user, password: "crash-pass-\(user)")
        try dovecot.deliver(corpus, to: user)
        let workdir = try TestPaths.temporaryDirectory("crash")
        let database = try await databaseURL(backend, workdir: workdir, name: "crash")
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", "\(user)@helpdesk.example", "--name", "Support", "--provider", "other",
                         "--usage", "incoming", "--imap-host", "127.0.0.1", "--imap-port", String(dovecot.imapsPort), "--imap-security", "tls",
                         "--username", user, "--password-stdin"], input: "crash-pass-\(user)\n", workdir: workdir)

        let first = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await first.waitUntilListening()
        try await waitForTicketMessages(atLeast: 150, database: database, workdir: workdir, timeout: .seconds(30))
        first.sigkill()
        let atKill = try ticketMessageCount(database: database, workdir: workdir)
        #expect(atKill > 0 && atKill < 1000, "the kill should land mid-sync (had \(atKill))")

        let second = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await second.waitUntilListening()
        try await waitForTicketMessages(atLeast: 1000, database: database, workdir: workdir, timeout: .seconds(120))
        try await Task.sleep(for: .seconds(2))  // another poll or two: nothing more may arrive
        let final = try ticketMessageCount(database: database, workdir: workdir)
        #expect(final == 1000)
        #expect(second.terminate() == 0, "graceful shutdown on SIGTERM")
    }

    @Test("The CLI, the API and the pages show mailboxes and tickets while a server runs on the same database; no password leaks anywhere")
    func operatorInterfaceAndSecrets() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("ops")
        let password = "Pa55-\(UUID().uuidString)"
        try dovecot.setUser(user, password: password)
        let attachment = Data((0..<3000).map { UInt8($0 % 251) }).base64EncodedString(options: .lineLength76Characters)
        let mime = """
            From: =?UTF-8?Q?Zo=C3=AB_Br=C3=B6nte?= <zoe@example.com>
            To: \(user)@helpdesk.example
            Subject: =?UTF-8?B?UHJvYmzDqG1lIGRlIGNvbm5leGlvbg==?=
            Message-ID: <ops-1-\(user)@example.com>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: multipart/alternative; boundary="b2"

            --b2
            Content-Type: text/plain; charset=utf-8

            Bonjour, je ne peux pas me connecter.
            --b2
            Content-Type: text/html; charset=utf-8

            <p>Bonjour, <b>je ne peux pas</b> me connecter.<script>alert(1)</script></p>
            --b2--
            --b1
            Content-Type: application/pdf; name="facture.pdf"
            Content-Disposition: attachment; filename*=utf-8''facture%20n%C2%B01.pdf
            Content-Transfer-Encoding: base64

            \(attachment)
            --b1--

            """
        try dovecot.deliver([Array(mime.utf8), simpleMessage(id: "ops-2-\(user)@example.com", subject: "Re: Problème de connexion", from: "zoe@example.com", inReplyTo: "ops-1-\(user)@example.com")], to: user)

        let workdir = try TestPaths.temporaryDirectory("ops")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile)
        try await server.waitUntilListening()
        // Nothing is shown to strangers: pages send them to sign in, the API answers 401.
        #expect(try await server.get("/tickets").status == 303)
        #expect(try await server.get("/api/v1/tickets").status == 401)
        try TestPeople.createAdmin(database: database, workdir: workdir)
        let session = try await TestPeople.signIn(base: server.base)

        // Add one mailbox through the API and one through the CLI while the server runs. A wrong password is
        // refused by Save's connection test; the right one is stored, then changed on the server (Case 2).
        let badUser = uniqueUser("opsbad")
        try dovecot.setUser(badUser, password: "Right-\(password)")
        let refused = try await server.post("/api/v1/mailboxes", json: """
            {"email": "\(badUser)@helpdesk.example", "name": "Billing", "provider": "other", "usage": "incoming", "imap_host": "localhost",
             "imap_port": \(dovecot.imapPort), "imap_security": "starttls", "username": "\(badUser)", "password": "Wr0ng-\(password)"}
            """, as: session)
        #expect(refused.status == 422)
        #expect(refused.body.contains("rejected the username or password"))
        let created = try await server.post("/api/v1/mailboxes", json: """
            {"email": "\(badUser)@helpdesk.example", "name": "Billing", "provider": "other", "usage": "incoming", "imap_host": "localhost",
             "imap_port": \(dovecot.imapPort), "imap_security": "starttls", "username": "\(badUser)", "password": "Right-\(password)"}
            """, as: session)
        #expect(created.status == 201)
        #expect(!created.body.contains(password))
        let again = try await server.post("/api/v1/mailboxes", json: """
            {"email": "\(badUser)@helpdesk.example", "name": "Billing twice", "imap_host": "localhost", "imap_port": \(dovecot.imapPort),
             "imap_security": "starttls", "username": "\(badUser)", "password": "Right-\(password)"}
            """, as: session)
        #expect(again.status == 409)
        #expect(again.body.contains("already exists"))
        let invalid = try await server.post("/api/v1/mailboxes", json: #"{"email": "not an address", "name": "", "imap_port": 70000, "password": "x"}"#, as: session)
        #expect(invalid.status == 422)
        #expect(invalid.body.contains("is not an email address"))
        let garbage = try await server.post("/api/v1/mailboxes", json: "{not json", as: session)
        #expect(garbage.status == 400)
        try dovecot.setUser(badUser, password: "changed-on-the-server")

        let added = try CLI.run(["mailbox", "add", "--database", database, "--email", "\(user)@helpdesk.example", "--name", "Support",
                                 "--provider", "other", "--usage", "incoming", "--imap-host", "localhost", "--imap-port", String(dovecot.imapsPort),
                                 "--imap-security", "tls", "--username", user, "--password-stdin"], input: password + "\n", workdir: workdir)
        #expect(added.contains("Added mailbox"))

        var tickets = ""
        for _ in 0..<200 {
            tickets = try CLI.run(["tickets", "list", "--json", "--database", database], workdir: workdir)
            if tickets.contains("Problème de connexion") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(tickets.contains("Problème de connexion"))
        let list = try await server.get("/api/v1/tickets", as: session)
        #expect(list.status == 200)
        let data = try #require(list.body.data(using: .utf8))
        let decoded = try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]]
        let ticketNumber = try #require(decoded?["tickets"]?.first { ($0["subject"] as? String) == "Problème de connexion" }?["number"] as? Int)
        let detail = try await server.get("/api/v1/tickets/\(ticketNumber)", as: session)
        #expect(detail.body.contains("facture n°1.pdf"))
        #expect(detail.body.contains("\"message_count\" : 2"))
        let shown = try CLI.run(["tickets", "show", String(ticketNumber), "--database", database], workdir: workdir)
        #expect(shown.contains("Zoë Brönte <zoe@example.com>"))
        #expect(shown.contains("je ne peux pas me connecter"))

        let health = try await server.get("/healthz")
        #expect(health.status == 200 && health.body.contains("ok"))
        let page = try await server.get("/tickets/\(ticketNumber)", as: session)
        #expect(page.status == 200)
        #expect(page.body.contains("Problème de connexion"))
        #expect(page.body.contains("facture n°1.pdf"))
        #expect(!page.body.contains("<script>alert(1)</script>"))
        let download = try await server.get("/tickets/\(ticketNumber)/messages/1/attachments/0", as: session)
        #expect(download.status == 200)
        // The attachment came out of the raw message, which `serve` keeps in the mail archive beside the database.
        let segments = (try? FileManager.default.contentsOfDirectory(atPath: RawArchive.folder(forDatabase: database))) ?? []
        #expect(segments.contains { $0.hasSuffix(".mail") }, "fetched mail is in the archive: \(segments)")

        // The bad mailbox: a clear error in the CLI, the API and the page.
        var mailboxes = ""
        for _ in 0..<100 {
            mailboxes = try CLI.run(["mailbox", "list", "--database", database], workdir: workdir)
            if mailboxes.contains("Reauthorization required") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(mailboxes.contains("Reauthorization required"))
        #expect(mailboxes.contains("rejected the username or password"))
        let apiMailboxes = try await server.get("/api/v1/mailboxes", as: session)
        #expect(apiMailboxes.body.contains("reauthorization_required"))
        let channels = try await server.get("/admin/channels/email", as: session)
        #expect(channels.body.contains("Reauthorization required"))
        #expect(channels.body.contains("Connected"))
        let jsonList = try CLI.run(["mailbox", "list", "--json", "--database", database], workdir: workdir)

        // No secret anywhere: pages, API, CLI output, logs, database files.
        #expect(server.terminate() == 0)
        var everything = [refused.body, created.body, again.body, list.body, detail.body, page.body, apiMailboxes.body, channels.body, mailboxes, jsonList, added, server.log]
        for name in try FileManager.default.contentsOfDirectory(atPath: workdir.path) where name.hasPrefix("mailroom.sqlite") {
            let path = workdir.appendingPathComponent(name)
            // The mail archive is a folder of segments.
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path.path))?.map { path.appendingPathComponent($0) } ?? [path]
            for file in files { everything.append(String(decoding: try Data(contentsOf: file), as: UTF8.self)) }
        }
        for text in everything {
            #expect(!text.contains(password), "the password leaked")
            #expect(!text.contains("Wr0ng-"), "the wrong password leaked")
            #expect(!text.contains("Right-"), "the mailbox password leaked")
            #expect(!text.contains(TestPeople.adminPassword), "the admin password leaked")
        }
    }

    @Test("One server per SQLite database: a second is refused with a clear error, and after a crash the next takes the mailboxes at once")
    func oneServerPerSQLiteDatabase() async throws {
        let workdir = try TestPaths.temporaryDirectory("oneserver")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        // A mailbox whose server does not answer: a server that holds its lease tries it, and logs the failure.
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", "desk@helpdesk.example", "--name", "Desk", "--provider", "other",
                         "--usage", "incoming", "--imap-host", "127.0.0.1", "--imap-port", String(try ProcessRunner.freePort()), "--imap-security", "none",
                         "--username", "desk", "--password-stdin"], input: "pw\n", workdir: workdir)
        // Leases of two minutes: a server that had to wait for its predecessor's heartbeat to expire would show it.
        let lease = ["MAILROOM_LEASE_SECONDS": "120"]
        let first = try MailroomProcess(database: database, workdir: workdir, caFile: "/dev/null", extraEnvironment: lease)
        try await first.waitUntilListening()
        try await waitForLog(first, "Fetching failed")

        let second = try MailroomProcess(database: database, workdir: workdir, caFile: "/dev/null", extraEnvironment: lease)
        let status = ProcessRunner.wait(second.pid)
        #expect(status != 0)
        #expect(second.log.contains("Another `mailroom serve` (process \(first.pid)) is already running on this database"), "\(second.log)")
        #expect(try await first.get("/healthz").status == 200, "the first server runs on")

        first.sigkill()
        let third = try MailroomProcess(database: database, workdir: workdir, caFile: "/dev/null", extraEnvironment: lease)
        try await third.waitUntilListening()
        try await waitForLog(third, "Fetching failed")
        #expect(!third.log.contains("uses this node's name"))
        #expect(third.terminate() == 0)
    }

    private func waitForLog(_ process: MailroomProcess, _ text: String) async throws {
        for _ in 0..<300 where !process.log.contains(text) { try await Task.sleep(for: .milliseconds(200)) }
        #expect(process.log.contains(text), "\(process.log)")
    }

    @Test("Bad configuration gets a clear error, not a crash")
    func badConfiguration() throws {
        let workdir = try TestPaths.temporaryDirectory("badconfig")
        let badURL = try CLI.run(["mailbox", "list", "--database", "mysql://x@y/z"], workdir: workdir, allowFailure: true)
        #expect(badURL.contains("Unsupported database"))
        let noDB = try CLI.run(["mailbox", "list", "--database", "postgres://mailroom@127.0.0.1:1"], workdir: workdir, allowFailure: true)
        #expect(noDB.contains("names no database"))
        let badInput = try CLI.run(["mailbox", "add", "--database", workdir.appendingPathComponent("m.sqlite").path, "--email", "nope", "--name", "X",
                                    "--imap-host", "imap.example.com", "--password-stdin"], input: "pw\n", workdir: workdir, allowFailure: true)
        #expect(badInput.contains("is not an email address"))
        let badKey = try ProcessRunner.run(["env", "MAILROOM_SECRET_KEY=short", try TestPaths.mailroomBinary, "mailbox", "add", "--database",
                                            workdir.appendingPathComponent("k.sqlite").path, "--email", "a@example.com", "--name", "X",
                                            "--imap-host", "imap.example.com", "--password-stdin"], input: "pw\n", allowFailure: true)
        #expect(badKey.contains("MAILROOM_SECRET_KEY must be 32 random bytes"))
        let empty = try CLI.run(["mailbox", "add", "--database", workdir.appendingPathComponent("e.sqlite").path, "--email", "a@example.com",
                                 "--name", "X", "--imap-host", "imap.example.com", "--password-stdin"], input: "", workdir: workdir, allowFailure: true)
        #expect(empty.contains("standard input was empty"))
        // A setting serve reads from the environment is refused when malformed, never replaced by its default, and
        // before the database opens (a debug build trapped on the connection left open). `timeout` only guards the
        // test: serve must stop long before.
        for (variable, value, message) in [
            ("MAILROOM_POLL_INTERVAL", "1m", "MAILROOM_POLL_INTERVAL must be a number of seconds from 1 to 86400; got «1m»"),
            ("MAILROOM_SMTP_RECEIVER_PORT", "25a", "MAILROOM_SMTP_RECEIVER_PORT must be a port between 1 and 65535, not «25a»"),
            ("MAILROOM_PUSH", "maybe", "MAILROOM_PUSH must be on or off; got «maybe»"),
            ("MAILROOM_HEALTH_CHECK_INTERVAL", "-1", "MAILROOM_HEALTH_CHECK_INTERVAL must be a number of seconds from 1 to 3600; got «-1»"),
            ("MAILROOM_ALERT_AFTER", "an hour", "MAILROOM_ALERT_AFTER must be a number of seconds from 1 to 604800; got «an hour»"),
            // Out of range: a delay of nothing spins the outbox; 1e16 seconds overflowed a duration and trapped.
            ("MAILROOM_OUTBOX_FIRST_RETRY_DELAY", "0.001", "MAILROOM_OUTBOX_FIRST_RETRY_DELAY must be a number of seconds from 0.1 to 86400; got «0.001»"),
            ("MAILROOM_OUTBOX_MAX_RETRY_DELAY", "1e16", "MAILROOM_OUTBOX_MAX_RETRY_DELAY must be a number of seconds from 0.1 to 86400; got «1e16»"),
            ("MAILROOM_OUTBOX_RETRY_HOURS", "0", "MAILROOM_OUTBOX_RETRY_HOURS must be a number of hours from 0.01 to 720; got «0»"),
            ("MAILROOM_PUBLIC_URL", "help.example.com", "MAILROOM_PUBLIC_URL must be the root of an http:// or https:// site, such as https://help.example.com; got «help.example.com»"),
            // Under a path, the sign-in's cookie (Path=/oauth) would never come back with the provider's answer.
            ("MAILROOM_PUBLIC_URL", "https://example.com/mailroom", "MAILROOM_PUBLIC_URL must be the root of an http:// or https:// site, such as https://help.example.com; got «https://example.com/mailroom»"),
            ("LOG_LEVEL", "loud", "--log-level (or LOG_LEVEL) must be trace, debug, info, notice, warning, error or critical; got «loud»"),
        ] {
            let database = workdir.appendingPathComponent("s-\(variable).sqlite").path
            let refused = try ProcessRunner.run(
                ["env", "\(variable)=\(value)", "timeout", "60", try TestPaths.mailroomBinary, "serve", "--port", String(try ProcessRunner.freePort()),
                 "--database", database], allowFailure: true)
            #expect(refused.contains(message), "\(refused.suffix(800))")
            #expect(!refused.contains("Mailroom is running"))
            #expect(!refused.contains("Assertion failed") && !refused.contains("Backtrace"), "\(refused.suffix(800))")
            #expect(!FileManager.default.fileExists(atPath: database), "\(variable): stopped before the database was made")
        }
        // `warn` (as other programs sharing LOG_LEVEL spell it) is a level.
        let warn = try ProcessRunner.run(["env", "LOG_LEVEL=warn", try TestPaths.mailroomBinary, "mailbox", "list",
                                          "--database", workdir.appendingPathComponent("w.sqlite").path])
        #expect(!warn.contains("LOG_LEVEL"), "\(warn)")
    }

    @Test("`mailroom migrate` creates the schema once and then reports it up to date", arguments: Backend.allCases)
    func migrate(backend: Backend) async throws {
        let workdir = try TestPaths.temporaryDirectory("migrate")
        let database = try await databaseURL(backend, workdir: workdir, name: "migrate")
        #expect(try CLI.run(["migrate", "--database", database], workdir: workdir).contains("Applied migrations 1"))
        #expect(try CLI.run(["migrate", "--database", database], workdir: workdir).contains("is up to date"))
        #expect(try CLI.run(["tickets", "list", "--database", database], workdir: workdir).contains("No tickets yet."))
    }
}

func databaseURL(_ backend: Backend, workdir: URL, name: String) async throws -> String {
    switch backend {
    case .sqlite: workdir.appendingPathComponent("mailroom.sqlite").path
    case .postgres: try await TestServers.shared.postgres().createDatabase("\(name)_\(UInt32.random(in: 0...UInt32.max))")
    }
}

/// Polls (through the CLI) until at least `count` messages are filed, or the time is up.
func waitForTicketMessages(atLeast count: Int, database: String, workdir: URL, timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try ticketMessageCount(database: database, workdir: workdir) >= count { return }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Counts filed messages through the CLI, as an operator would, while the server runs.
func ticketMessageCount(database: String, workdir: URL) throws -> Int {
    let output = try CLI.run(["tickets", "list", "--json", "--limit", "10000", "--database", database], workdir: workdir)
    guard let data = output.data(using: .utf8),
          let object = try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]] else { return -1 }
    return object["tickets"]?.reduce(0) { $0 + (($1["message_count"] as? Int) ?? 0) } ?? -1
}

/// Every ticket's number and message count by subject (through the CLI), for tests where each subject is one ticket.
func ticketsBySubject(database: String, workdir: URL) throws -> [String: (number: Int, messages: Int)] {
    let output = try CLI.run(["tickets", "list", "--json", "--limit", "10000", "--database", database], workdir: workdir)
    let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [[String: Any]]]
    var tickets: [String: (number: Int, messages: Int)] = [:]
    for ticket in object?["tickets"] ?? [] {
        let subject = ticket["subject"] as? String ?? ""
        let earlier = tickets[subject]?.messages ?? 0
        tickets[subject] = (ticket["number"] as? Int ?? 0, earlier + (ticket["message_count"] as? Int ?? 0))
    }
    return tickets
}
