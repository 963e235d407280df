import Foundation
import LocalMailServers
import MailroomTestSupport
import Testing

/// `scripts/demo`, started as a newcomer would (without installing or building, which the suite did),
/// played in Chromium: the whole story on the demo's own Dovecot, emulator and customers.
@Suite("The five-minute demo, played in Chromium", .serialized)
struct DemoTests {
    /// The demo as a running process group, and where it keeps its state.
    struct RunningDemo {
        let pid: pid_t
        let folder: URL
        let output: URL
        let port: Int
        let emulatorPort: Int
        var base: String { "http://127.0.0.1:\(port)" }
        var emulator: String { "http://127.0.0.1:\(emulatorPort)" }

        var printed: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// The Message-IDs of what the customers wrote to `mailbox`, as the mail server holds them.
        func deliveredMessageIDs(_ mailbox: String) -> Set<String> {
            let maildir = folder.appendingPathComponent("dovecot/mail/\(mailbox)/Maildir")
            var ids: Set<String> = []
            for sub in ["new", "cur"] {
                let dir = maildir.appendingPathComponent(sub)
                for file in (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [] {
                    let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                    let header = text.components(separatedBy: "\r\n\r\n").first ?? ""
                    if let line = header.components(separatedBy: "\r\n").first(where: { $0.lowercased().hasPrefix("message-id:") }) {
                        ids.insert(Self.bare(String(line.dropFirst("message-id:".count))))
                    }
                }
            }
            return ids
        }

        /// How often each Message-ID was filed as an incoming message, read from Mailroom's database.
        func filedMessageIDs() throws -> [String: Int] {
            let database = folder.appendingPathComponent("mailroom.sqlite").path
            let script = """
                import sqlite3, sys
                db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
                for mid, n in db.execute("SELECT message_id, COUNT(*) FROM messages WHERE direction = 'incoming' GROUP BY message_id"):
                    print(f"{mid}\\t{n}")
                """
            let output = try ProcessRunner.run(["python3", "-c", script, database])
            var filed: [String: Int] = [:]
            for line in output.split(separator: "\n") {
                let parts = line.split(separator: "\t")
                guard parts.count == 2, let count = Int(parts[1]) else { continue }
                filed[Self.bare(String(parts[0])), default: 0] += count
            }
            return filed
        }

        /// The messages in a mailbox on the demo's mail server, header lines unfolded.
        func messages(_ mailbox: String) -> [String] {
            let maildir = folder.appendingPathComponent("dovecot/mail/\(mailbox)/Maildir")
            return ["new", "cur"].flatMap { sub in
                ((try? FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent(sub), includingPropertiesForKeys: nil)) ?? [])
                    .compactMap { try? String(contentsOf: $0, encoding: .utf8) }
                    .map { $0.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ") }
            }
        }

        /// Waits until a message in `mailbox` contains every one of `texts`.
        func waitForMessage(in mailbox: String, containing texts: [String], timeout: Duration = .seconds(60)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if messages(mailbox).contains(where: { message in texts.allSatisfy(message.contains) }) { return true }
                try await Task.sleep(for: .milliseconds(300))
            }
            return false
        }

        /// Waits until every one of `delivered` is filed, then checks that nothing was filed twice.
        func expectFiledOnce(_ delivered: Set<String>, timeout: Duration = .seconds(60)) async throws {
            var filed: [String: Int] = [:]
            let deadline = ContinuousClock.now + timeout
            repeat {
                filed = try filedMessageIDs()
                if delivered.isSubset(of: Set(filed.keys)) { break }
                try await Task.sleep(for: .milliseconds(500))
            } while ContinuousClock.now < deadline
            #expect(delivered.subtracting(filed.keys).isEmpty, "never filed: \(delivered.subtracting(filed.keys).sorted())")
            #expect(filed.filter { $0.value != 1 }.isEmpty, "filed more than once: \(filed.filter { $0.value != 1 })")
        }

        static func bare(_ id: String) -> String {
            id.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        }

        func screenshot(_ browser: WebDriver, _ name: String) async throws {
            guard let dir = ProcessInfo.processInfo.environment["MAILROOM_SCREENSHOTS_DIR"] else { return }
            _ = try await browser.screenshot(to: "\(dir)/\(name).png")
        }
    }

    static func startDemo(_ extra: [String]) async throws -> RunningDemo {
        let work = try TestPaths.temporaryDirectory("demo")
        let folder = work.appendingPathComponent("state")
        let output = work.appendingPathComponent("demo.out")
        let port = try ProcessRunner.freePort()
        let emulatorPort = try ProcessRunner.freePort()
        let script = TestPaths.repoRoot.appendingPathComponent("scripts/demo").path
        let pid = try ProcessRunner.spawn(
            [script, "--no-install", "--skip-build", "--folder", folder.path, "--port", String(port), "--emulator-port", String(emulatorPort)] + extra,
            workdir: TestPaths.repoRoot.path, logPath: output.path)
        TestCleanup.register { kill(pid, SIGKILL) }
        let demo = RunningDemo(pid: pid, folder: folder, output: output, port: port, emulatorPort: emulatorPort)
        let deadline = ContinuousClock.now + .seconds(120)
        while !demo.printed.contains("Press Ctrl-C to stop the demo") {
            guard ContinuousClock.now < deadline, kill(pid, 0) == 0 else {
                throw ProcessRunner.Failure(command: "scripts/demo", status: -1, output: demo.printed)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return demo
    }

    /// The process ids of everything the demo runs: itself, `mailroom serve`, and Dovecot's master and children.
    static func processes(of demo: RunningDemo) throws -> [pid_t] {
        var pids = [demo.pid]
        let masterPID = try String(contentsOf: demo.folder.appendingPathComponent("dovecot/run/master.pid"), encoding: .utf8)
        if let master = pid_t(masterPID.trimmingCharacters(in: .whitespacesAndNewlines)) {
            pids.append(master)
            pids += children(of: master)
        }
        pids += try ProcessRunner.run(["pgrep", "-f", "serve --host 127.0.0.1 --port \(demo.port) "], allowFailure: true)
            .split(separator: "\n").compactMap { pid_t($0.trimmingCharacters(in: .whitespaces)) }
        return pids
    }

    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }

    @Test("scripts/demo: sign in as the demo admin, add a Microsoft mailbox by «Sign in with Microsoft», watch tickets arrive, revoke its tokens from the demo controls, see Case 3 and the banner, sign in again, and the mail that came meanwhile is filed exactly once; Ctrl-C leaves nothing behind")
    func walkthrough() async throws {
        let mailbox = "support@contoso.example"
        let demo = try await Self.startDemo(["--mail-every", "1", "--mail-to", mailbox, "--poll-interval", "1"])
        // What the README promises a newcomer sees.
        let welcome = demo.printed
        #expect(welcome.contains("Open Mailroom     \(demo.base)"))
        #expect(welcome.contains("Sign in as        lead@contoso.example  password: demo-admin-password"))
        #expect(welcome.contains("Demo controls     \(demo.emulator)/emulator"))
        #expect(welcome.contains("\(mailbox)     Microsoft Office 365 work account"))

        try await withWebDriver { browser in
            try await browser.signIn(base: demo.base, email: "lead@contoso.example", password: "demo-admin-password")

            // New support email › Microsoft Office 365 › «Sign in with Microsoft», with the demo's servers already filled in.
            try await browser.go("\(demo.base)/admin/channels/email")
            try await browser.click("#new-mailbox")
            try await browser.waitFor("#mailbox-form")
            try await browser.click("input[name=provider][value=microsoft]")
            try await browser.type("#email", mailbox)
            let imapPort = try await browser.source()
            #expect(imapPort.contains("value=\"127.0.0.1\""), "the demo's Dovecot is offered as Microsoft's server")
            try await demo.screenshot(browser, "demo-new-mailbox")
            try await browser.click("#sign-in-microsoft")
            try await browser.waitFor("input[name=account][value=\"\(mailbox)\"]", timeout: .seconds(15))
            try await demo.screenshot(browser, "demo-sign-in-with-microsoft")
            try await browser.click("form:has(input[name=account][value=\"\(mailbox)\"]) button")
            try await browser.waitFor("#confirmation", timeout: .seconds(30))
            let detail = URL(string: try await browser.currentURL())?.path ?? ""
            #expect(detail.hasPrefix("/admin/channels/email/"))

            // Tickets arrive while you watch.
            let deadline = ContinuousClock.now + .seconds(60)
            while try demo.filedMessageIDs().count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(500)) }
            #expect(try demo.filedMessageIDs().count >= 3, "customer mail becomes tickets")
            try await browser.reload("\(demo.base)/tickets", until: ["id=\"tickets\""], timeout: .seconds(30))
            #expect(try await browser.exists("#tickets tbody tr"))
            try await demo.screenshot(browser, "demo-tickets")

            // An agent answers: the reply leaves through the mailbox's own SMTP (Dovecot's submission, with the
            // OAuth token) and lands in the customer's mailbox at the stand-in for the Internet.
            let customer = try #require(try await browser.text("#tickets tbody tr td:nth-child(3)").firstMatch(of: /<([^>]+)>/).map { String($0.1) })
            try await browser.click("#tickets tbody tr a")
            try await browser.waitFor("#reply-text")
            try await browser.type("#reply-text", "Thanks for writing, we are on it.")
            try await browser.click("form.reply button[type=submit]")
            #expect(try await demo.waitForMessage(in: customer, containing: ["Thanks for writing, we are on it.", "From: Support <\(mailbox)>"]),
                    "the reply reaches \(customer)")

            // The demo controls: revoke the account's tokens.
            let beforeRevoke = demo.deliveredMessageIDs(mailbox)
            try await browser.go("\(demo.emulator)/emulator")
            try await demo.screenshot(browser, "demo-controls")
            try await browser.click("form[action='/emulator/control/revokeTokens']:has(input[value='\(mailbox)']) button")
            try await browser.waitForText("tokensRevoked \(mailbox)")

            // Case 3, in the article's words, and the banner.
            try await browser.reload(
                "\(demo.base)\(detail)", until: ["Your Microsoft Office 365 credentials have expired. Please sign in again."], timeout: .seconds(60))
            #expect(try await browser.text("#incoming-state") == "Reauthorization required")
            #expect(try await browser.text("#incoming-cause") == "Your Microsoft Office 365 credentials have expired. Please sign in again.")
            #expect(try await browser.text("#reauthorize-banner")
                == "Please reauthorize your Email settings. Learn more about it here or finish the setup in Email settings")
            try await demo.screenshot(browser, "demo-case-3")
            // The admin is told by email, through the operator's default outgoing server.
            #expect(try await demo.waitForMessage(in: "lead@contoso.example", containing: ["Subject: [Mailroom] \(mailbox): Reauthorization required"]))
            // Customers keep writing while the mailbox waits for its admin.
            try await Task.sleep(for: .seconds(3))

            // One sign-in fixes it.
            try await browser.click("#oauth-sign-in")
            try await browser.waitFor("input[name=account][value=\"\(mailbox)\"]", timeout: .seconds(15))
            try await browser.click("form:has(input[name=account][value=\"\(mailbox)\"]) button")
            try await browser.waitFor("#confirmation", timeout: .seconds(30))
            try await browser.reload("\(demo.base)\(detail)", until: ["Connected"], timeout: .seconds(30))
            #expect(!(try await browser.exists("#reauthorize-banner")))
            try await demo.screenshot(browser, "demo-reconnected")
            #expect(try await demo.waitForMessage(in: "lead@contoso.example", containing: ["Subject: [Mailroom] \(mailbox) is connected again"]))

            // Everything the customers wrote up to now is filed, each exactly once, including what came meanwhile.
            let delivered = demo.deliveredMessageIDs(mailbox)
            let meanwhile = delivered.subtracting(beforeRevoke)
            #expect(meanwhile.count >= 3, "customers wrote while the mailbox needed reauthorization")
            try await demo.expectFiledOnce(delivered)
        }

        // Ctrl-C stops everything the demo started and removes its folder.
        let pids = try Self.processes(of: demo)
        #expect(pids.count >= 4, "the demo, mailroom serve, Dovecot's master and its children: \(pids)")
        kill(demo.pid, SIGINT)
        #expect(ProcessRunner.wait(demo.pid) == 0, "the demo ends cleanly: \(demo.printed.suffix(2000))")
        try await Task.sleep(for: .milliseconds(500))
        let left = pids.filter { kill($0, 0) == 0 }
        #expect(left.isEmpty, "still running after Ctrl-C: \(left)")
        #expect(!FileManager.default.fileExists(atPath: demo.folder.path), "the demo folder is removed")
        #expect(demo.printed.contains("The demo stopped and removed \(demo.folder.path)."))
    }

    @Test("The demo controls produce what they say: «Change password» on the mail server gives Case 2 for an «Other» mailbox, fixed with the password the controls show; a Microsoft mailbox added with a password gives Case 1, fixed by «Sign in with Microsoft»")
    func casesOneAndTwo() async throws {
        let northwind = "help@northwind.example"
        let fabrikam = "support@fabrikam.example"
        let demo = try await Self.startDemo(["--mail-every", "1", "--mail-to", northwind, "--mail-to", fabrikam, "--poll-interval", "1", "--quiet"])
        let imapsPort = try #require(demo.printed.firstMatch(of: /IMAP (\d+) \(SSL\/TLS\)/).map { String($0.1) })
        try await withWebDriver { browser in
            try await browser.signIn(base: demo.base, email: "lead@contoso.example", password: "demo-admin-password")
            func newMailbox(provider: String, email: String, password: String) async throws {
                try await browser.go("\(demo.base)/admin/channels/email")
                try await browser.click("#new-mailbox")
                try await browser.waitFor("#mailbox-form")
                try await browser.click("input[name=provider][value=\(provider)]")
                try await browser.click("input[name=usage][value=incoming]")
                try await browser.type("#email", email)
                if provider == "other" {
                    try await browser.type("#imap_host", "127.0.0.1")
                    try await browser.type("#imap_port", imapsPort)
                    try await browser.select("#imap_security", value: "tls")
                }
                try await browser.type("#password", password)
                try await browser.click("#save")
                try await browser.waitFor("#confirmation", timeout: .seconds(30))
            }

            // Case 2: an «Other» mailbox, its password changed on the mail server from the demo controls.
            try await newMailbox(provider: "other", email: northwind, password: "Northwind-help-1")
            let northwindPage = URL(string: try await browser.currentURL())?.path ?? ""
            try await browser.go("\(demo.emulator)/emulator")
            try await browser.click("form[action='/emulator/control/changeMailPassword']:has(input[value='\(northwind)']) button")
            // Wait for the page the form returns to (the row is on the page before it too, and reading it while the
            // browser navigates fails on a stale element): only the new page shows the new password.
            try await browser.waitForText("Northwind-help-2", timeout: .seconds(15))
            let newPassword = try await browser.text("tr[data-mailbox='\(northwind)'] .mail-password")
            #expect(newPassword == "Northwind-help-2")
            try await browser.reload("\(demo.base)\(northwindPage)", until: ["Reauthorization required"], timeout: .seconds(60))
            #expect(try await browser.text("#incoming-cause") == "The mail server rejected the username or password for «\(northwind)».")
            #expect(try await browser.exists("#reauthorize-banner"))
            try await demo.screenshot(browser, "demo-case-2")
            try await browser.type("#password", newPassword)
            try await browser.click("#password-save")
            try await browser.waitFor("#confirmation")
            try await browser.reload("\(demo.base)\(northwindPage)", until: ["Connected"], timeout: .seconds(30))

            // Case 1: a Microsoft mailbox on a password is marked for migration, and one sign-in moves it to OAuth.
            try await newMailbox(provider: "microsoft", email: fabrikam, password: "Fabrikam-support-1")
            let fabrikamPage = URL(string: try await browser.currentURL())?.path ?? ""
            try await browser.reload("\(demo.base)\(fabrikamPage)", until: ["Migration to OAuth required"], timeout: .seconds(60))
            #expect(try await browser.text("#oauth-sign-in") == "Sign in with Microsoft")
            #expect(try await browser.exists("#reauthorize-banner"))
            try await demo.screenshot(browser, "demo-case-1")
            try await browser.click("#oauth-sign-in")
            try await browser.waitFor("input[name=account][value=\"\(fabrikam)\"]", timeout: .seconds(15))
            try await browser.click("form:has(input[name=account][value=\"\(fabrikam)\"]) button")
            try await browser.waitFor("#confirmation", timeout: .seconds(30))
            #expect(try await browser.text("#incoming-auth") == "Sign in with Microsoft as \(fabrikam)")
            try await browser.reload("\(demo.base)/admin/channels/email", until: [], timeout: .seconds(5))
            #expect(!(try await browser.exists("#reauthorize-banner")), "both mailboxes are fixed")

            try await demo.expectFiledOnce(demo.deliveredMessageIDs(northwind).union(demo.deliveredMessageIDs(fabrikam)))
        }
        kill(demo.pid, SIGINT)
        #expect(ProcessRunner.wait(demo.pid) == 0)
    }

    @Test("The demo refuses clearly and leaves nothing behind: a Mailroom port already in use, an unknown mailbox for --mail-to")
    func refusesClearly() async throws {
        let taken = try await TestServers.shared.dovecot().imapPort
        let work = try TestPaths.temporaryDirectory("demo-refused")
        let folder = work.appendingPathComponent("state")
        let script = TestPaths.repoRoot.appendingPathComponent("scripts/demo").path
        let busy = try CleanSpawn.run([script, "--no-install", "--skip-build", "--folder", folder.path, "--port", String(taken)])
        #expect(busy.status == 1)
        #expect(busy.output.contains("Port \(taken) on 127.0.0.1 is in use (another demo or program?). Stop it, or choose another with --port."))
        #expect(!busy.output.contains("USAGE"), "a run-time failure is not a usage error")
        #expect(!FileManager.default.fileExists(atPath: folder.path), "its folder is removed")
        #expect(!busy.output.contains("Mailroom demo is running"))

        let unknown = try CleanSpawn.run([script, "--no-install", "--skip-build", "--mail-to", "nobody@example.com"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("«nobody@example.com» is not a demo mailbox. Choose from: support@contoso.example"))
    }
}
