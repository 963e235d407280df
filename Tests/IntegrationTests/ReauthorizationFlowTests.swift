import Foundation
import IdentityEmulator
import MailroomTestSupport
import Testing

/// `mailroom serve` with the emulator as its Microsoft and Google, real Dovecot for mail, real Postfix as the
/// default outgoing server (notices to admins), and real Chromium as the admin's browser.
final class FlowWorld: Sendable {
    let emulator: EmulatorFixture
    let dovecot: Dovecot
    let workdir: URL
    let database: String
    let server: MailroomProcess
    /// The admin's address: Postfix delivers it to Dovecot, so the notices can be read back.
    let admin: String
    var base: String { server.base }

    init(emulator: EmulatorFixture, dovecot: Dovecot, workdir: URL, database: String, server: MailroomProcess, admin: String) {
        self.emulator = emulator
        self.dovecot = dovecot
        self.workdir = workdir
        self.database = database
        self.server = server
        self.admin = admin
    }

    /// The name the generic OpenID Connect provider is configured with (`MAILROOM_OIDC_NAME`).
    static let genericName = "Example ID"

    /// - Parameter generic: also configure a generic OpenID Connect provider (the emulator's standard discovery
    ///   document, through `MAILROOM_OIDC_*`), for «Other» mailboxes.
    static func start(_ name: String, generic: Bool = false) async throws -> FlowWorld {
        let emulator = try await TestServers.shared.emulator()
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let relayUser = uniqueUser("relay")
        try dovecot.setUser(relayUser, password: "Relay-\(relayUser)")
        let workdir = try TestPaths.temporaryDirectory(name)
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let microsoft = EmulatorClient(id: "flow-ms-\(UUID().uuidString)", secret: "flow-ms-secret-\(UUID().uuidString)", redirectURIs: [], provider: .microsoft)
        let google = EmulatorClient(id: "flow-google-\(UUID().uuidString)", secret: "flow-google-secret-\(UUID().uuidString)", redirectURIs: [], provider: .google)
        let oidc = EmulatorClient(id: "flow-oidc-\(UUID().uuidString)", secret: "flow-oidc-secret-\(UUID().uuidString)", redirectURIs: [], provider: .google)
        let keycloak = EmulatorClient(id: "flow-keycloak-\(UUID().uuidString)", secret: "flow-keycloak-secret-\(UUID().uuidString)", redirectURIs: [], provider: .google)
        let genericEnvironment = generic ? [
            "MAILROOM_OIDC_NAME": genericName, "MAILROOM_OIDC_CLIENT_ID": oidc.id, "MAILROOM_OIDC_CLIENT_SECRET": oidc.secret,
            "MAILROOM_OIDC_DISCOVERY_URL": "\(emulator.baseURL)/google/.well-known/openid-configuration",
            "MAILROOM_OIDC_SCOPES": "openid email https://mail.google.com/",
            // A second generic provider, with its own app: its grants are renewed by it, not by the first.
            "MAILROOM_OIDC_PROVIDERS": "keycloak", "MAILROOM_OIDC_KEYCLOAK_NAME": "Keycloak",
            "MAILROOM_OIDC_KEYCLOAK_CLIENT_ID": keycloak.id, "MAILROOM_OIDC_KEYCLOAK_CLIENT_SECRET": keycloak.secret,
            "MAILROOM_OIDC_KEYCLOAK_DISCOVERY_URL": "\(emulator.baseURL)/google/.well-known/openid-configuration",
            "MAILROOM_OIDC_KEYCLOAK_SCOPES": "openid email https://mail.google.com/",
        ] : [:]
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile, extraEnvironment: genericEnvironment.merging([
            "MAILROOM_MICROSOFT_CLIENT_ID": microsoft.id, "MAILROOM_MICROSOFT_CLIENT_SECRET": microsoft.secret,
            "MAILROOM_MICROSOFT_AUTHORITY": emulator.baseURL,
            "MAILROOM_GOOGLE_CLIENT_ID": google.id, "MAILROOM_GOOGLE_CLIENT_SECRET": google.secret,
            "MAILROOM_GOOGLE_DISCOVERY_URL": "\(emulator.baseURL)/google/.well-known/openid-configuration",
            "MAILROOM_SMTP_URL": "smtp://\(relayUser):Relay-\(relayUser)@localhost:\(postfix.submissionPort)",
            "MAILROOM_HEALTH_CHECK_INTERVAL": "1", "MAILROOM_NOTIFY_FROM": "mailroom@helpdesk.example",
        ]) { $1 })
        let callback = "http://127.0.0.1:\(server.port)/oauth/callback"
        for var client in [microsoft, google] + (generic ? [oidc, keycloak] : []) {
            client.redirectURIs = [callback]
            await emulator.emulator.addClient(client)
        }
        let admin = "\(uniqueUser("admin"))@\(Postfix.customerDomain)"
        try TestPeople.createAdmin(database: database, workdir: workdir, email: admin)
        try await server.waitUntilListening()
        return FlowWorld(emulator: emulator, dovecot: dovecot, workdir: workdir, database: database, server: server, admin: admin)
    }

    func signIn(_ browser: WebDriver) async throws {
        try await browser.signIn(base: base, email: admin)
    }

    /// Plays the person at the provider's account picker, and waits until the browser is back at Mailroom.
    func pick(_ account: String, in browser: WebDriver) async throws {
        try await browser.waitFor("input[name=account][value=\"\(account)\"]", timeout: .seconds(15))
        try await browser.click("form:has(input[name=account][value=\"\(account)\"]) button")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let url = try await browser.currentURL()
            if url.hasPrefix(base) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BrowserError("the browser did not come back from the provider: \(try await browser.currentURL())")
    }

    /// *New support email* up to the sign-in button (or Save), as an admin fills it in.
    func fillNewMailbox(_ browser: WebDriver, provider: String, usage: String = "incoming", email: String) async throws {
        try await browser.go("\(base)/admin/channels/email")
        try await browser.click("#new-mailbox")
        try await browser.waitFor("#mailbox-form")
        try await browser.click("input[name=provider][value=\(provider)]")
        try await browser.click("input[name=usage][value=\(usage)]")
        try await browser.type("#email", email)
        try await browser.type("#imap_host", "localhost")
        try await browser.type("#imap_port", String(dovecot.imapsPort))
        try await browser.select("#imap_security", value: "tls")
    }

    /// Adds a mailbox by «Sign in with …» and returns its page's path.
    @discardableResult
    func addBySignIn(_ browser: WebDriver, provider: String, email: String, as account: String) async throws -> String {
        try await fillNewMailbox(browser, provider: provider, email: email)
        try await browser.click(provider == "google" ? "#sign-in-google" : "#sign-in-microsoft")
        try await pick(account, in: browser)
        try await browser.waitFor("#confirmation")
        return URL(string: try await browser.currentURL())?.path ?? ""
    }

    /// Message counts of the filed tickets by subject, through the CLI as an operator would read them.
    func tickets() throws -> [String: Int] {
        let output = try CLI.run(["tickets", "list", "--json", "--limit", "10000", "--database", database], workdir: workdir)
        guard let data = output.data(using: .utf8),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]] else { return [:] }
        var result: [String: Int] = [:]
        for ticket in object["tickets"] ?? [] {
            if let subject = ticket["subject"] as? String { result[subject, default: 0] += (ticket["message_count"] as? Int) ?? 0 }
        }
        return result
    }

    /// Waits until each subject is filed, then checks that each is filed exactly once.
    func expectFiledOnce(_ subjects: [String], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        var filed: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            filed = try tickets()
            if subjects.allSatisfy({ filed[$0] != nil }) { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        for subject in subjects { #expect(filed[subject] == 1, "«\(subject)» filed \(filed[subject] ?? 0) times") }
    }

    func deliver(_ subjects: [String], to mailbox: String) throws {
        try dovecot.deliver(subjects.map { simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: $0) }, to: mailbox)
    }

    /// Subjects of the notices the admins got by email.
    func notices() -> [String] {
        let maildir = dovecot.maildir(admin, folder: nil)
        var subjects: [String] = []
        for folder in ["new", "cur"] {
            let dir = maildir.appendingPathComponent(folder)
            for file in (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [] {
                // Header fields may be folded over several lines (RFC 5322 §2.2.3): unfold before reading.
                let text = ((try? String(contentsOf: file, encoding: .utf8)) ?? "").replacingOccurrences(of: "\r\n", with: "\n")
                    .replacingOccurrences(of: "\n ", with: " ").replacingOccurrences(of: "\n\t", with: " ")
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Subject: ") }) {
                    subjects.append(String(line.dropFirst("Subject: ".count)).trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
        }
        return subjects.sorted()
    }

    func waitForNotices(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, notices().count < count { try await Task.sleep(for: .milliseconds(300)) }
        return notices()
    }

    func expectBanner(_ browser: WebDriver, shown: Bool) async throws {
        let page = try await browser.reload(
            "\(base)/admin/channels/email", until: [], timeout: .seconds(5))
        _ = page
        if shown {
            #expect(try await browser.text("#reauthorize-banner")
                == "Please reauthorize your Email settings. Learn more about it here or finish the setup in Email settings")
            #expect(try await browser.exists("#reauthorize-banner a[href='/help/reauthorize']"))
            #expect(try await browser.exists("#reauthorize-banner a[href='/admin/channels/email']"))
        } else {
            #expect(!(try await browser.exists("#reauthorize-banner")), "the banner must go once every mailbox is fixed")
        }
    }

    func screenshot(_ browser: WebDriver, _ name: String) async throws {
        guard let dir = ProcessInfo.processInfo.environment["MAILROOM_SCREENSHOTS_DIR"] else { return }
        _ = try await browser.screenshot(to: "\(dir)/\(name).png")
    }

    func stop() { _ = server.terminate() }
}

@Suite("The article's cases, played in Chromium against real Dovecot, Postfix and the identity emulator", .serialized)
struct ReauthorizationFlowTests {
    enum NewCustomer: String, CaseIterable, Sendable {
        case microsoftWork, microsoftPersonal, google, sharedMailbox
    }

    @Test("New customer: New support email › Use your own mail server › Incoming only › «Sign in with …» › confirmation, then mail becomes tickets",
          arguments: NewCustomer.allCases)
    func newCustomer(_ kind: NewCustomer) async throws {
        let world = try await FlowWorld.start("flow-new")
        defer { world.stop() }
        let emulator = world.emulator
        let (provider, address, account): (String, String, String)
        switch kind {
        case .microsoftWork:
            let work = await emulator.workAccount("new")
            (provider, address, account) = ("microsoft", work, work)
        case .microsoftPersonal:
            let personal = await emulator.personalAccount("new", domain: "hotmail.com")
            (provider, address, account) = ("microsoft", personal, personal)
        case .google:
            let gmail = await emulator.googleAccount("new")
            (provider, address, account) = ("google", gmail, gmail)
        case .sharedMailbox:
            let shared = "\(uniqueUser("helpdesk"))@\(EmulatorFixture.tenantDomain)"
            let delegate = await emulator.workAccount("agent", delegateOf: shared)
            (provider, address, account) = ("microsoft", shared, delegate)
        }
        try world.deliver(["New customer \(kind) 1", "New customer \(kind) 2"], to: address)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            try await world.addBySignIn(browser, provider: provider, email: address, as: account)
            #expect(try await browser.text("#confirmation")
                == "Your support email was saved and the connection works. New mail to \(address) becomes tickets.")
            let label = provider == "google" ? "Sign in with Google" : "Sign in with Microsoft"
            let auth = try await browser.text("#incoming-auth")
            #expect(auth == "\(label) as \(account)" + (kind == .sharedMailbox ? " (shared mailbox \(address))" : ""))
            if kind == .sharedMailbox { try await world.screenshot(browser, "new-customer-confirmation") }
            try await world.expectFiledOnce(["New customer \(kind) 1", "New customer \(kind) 2"])
            try await browser.reload("\(world.base)/tickets", until: ["New customer \(kind) 1", "New customer \(kind) 2"])
        }
    }

    @Test("Any OpenID Connect provider: New support email › Other › «Sign in with Example ID» › confirmation; revoked › «Reauthorization required» › the page's own button › Connected, the waiting mail filed once")
    func genericProvider() async throws {
        let world = try await FlowWorld.start("flow-oidc", generic: true)
        defer { world.stop() }
        let account = await world.emulator.googleAccount("oidc")
        let label = "Sign in with \(FlowWorld.genericName)"
        try world.deliver(["Generic before"], to: account)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            try await world.fillNewMailbox(browser, provider: "other", email: account)
            #expect(try await browser.text("#sign-in-oidc") == label)
            try await browser.click("#sign-in-oidc")
            try await world.pick(account, in: browser)
            try await browser.waitFor("#confirmation")
            let path = URL(string: try await browser.currentURL())?.path ?? ""
            #expect(try await browser.text("#incoming-auth") == "\(label) as \(account)")
            try await world.expectFiledOnce(["Generic before"])
            try await world.screenshot(browser, "generic-oidc-confirmation")

            try await world.emulator.emulator.revokeTokens(account: account)
            try world.deliver(["Generic during 1", "Generic during 2"], to: account)
            let cause = "Your sign-in for «\(account)» has expired. Please sign in again."
            try await browser.reload("\(world.base)\(path)", until: [cause], timeout: .seconds(60))
            #expect(try await browser.text("#incoming-state") == "Reauthorization required")
            #expect(try await browser.text("#oauth-sign-in") == label, "the page has the button its fix names")
            try await world.expectBanner(browser, shown: true)
            try await browser.go("\(world.base)\(path)")
            try await browser.click("#oauth-sign-in")
            try await world.pick(account, in: browser)
            try await browser.waitFor("#confirmation")
            try await world.expectFiledOnce(["Generic before", "Generic during 1", "Generic during 2"])
            try await browser.reload("\(world.base)\(path)", until: ["Connected"])
            #expect(try await browser.text("#incoming-auth") == "\(label) as \(account)")
            // «Switch account» offers the generic providers too.
            let page = try await browser.source()
            #expect(page.contains("<option value=\"oidc\">Other: \(FlowWorld.genericName)</option>"))
            #expect(page.contains("<option value=\"oidc-keycloak\">Other: Keycloak</option>"))
            try await world.expectBanner(browser, shown: false)

            // The second provider signs in a mailbox of its own, and its page names it.
            let second = await world.emulator.googleAccount("keycloak")
            try world.deliver(["Keycloak before"], to: second)
            try await world.fillNewMailbox(browser, provider: "other", email: second)
            #expect(try await browser.text("#sign-in-oidc-keycloak") == "Sign in with Keycloak")
            try await browser.click("#sign-in-oidc-keycloak")
            try await world.pick(second, in: browser)
            try await browser.waitFor("#confirmation")
            #expect(try await browser.text("#incoming-auth") == "Sign in with Keycloak as \(second)")
            #expect(try await browser.text("#oauth-sign-in") == "Sign in with Keycloak")
            try await world.expectFiledOnce(["Keycloak before"])
        }
    }

    @Test("New customer with «Other» and a password: Save tests the connection first; a wrong password saves nothing")
    func otherWithPassword() async throws {
        let world = try await FlowWorld.start("flow-other")
        defer { world.stop() }
        let user = uniqueUser("other")
        try world.dovecot.setUser(user, password: "right-password-1")
        try world.deliver(["Other mailbox 1"], to: user)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            try await world.fillNewMailbox(browser, provider: "other", email: "\(user)@helpdesk.example")
            try await browser.type("#username", user)
            try await browser.type("#password", "wrong-password")
            try await browser.click("#save")
            try await browser.waitFor("#form-error")
            let error = try await browser.text("#form-error")
            #expect(error.contains("The mail server rejected the username or password for «\(user)»."))
            #expect(error.contains("Nothing was saved."))
            try await world.screenshot(browser, "new-mailbox-test-failed")
            try await browser.go("\(world.base)/admin/channels/email")
            #expect(!(try await browser.source()).contains("\(user)@helpdesk.example"))

            try await world.fillNewMailbox(browser, provider: "other", email: "\(user)@helpdesk.example")
            try await browser.type("#username", user)
            try await browser.type("#password", "right-password-1")
            try await browser.click("#save")
            try await browser.waitFor("#confirmation")
            try await world.expectFiledOnce(["Other mailbox 1"])
            #expect(!(try await browser.source()).contains("right-password-1"))
        }
    }

    @Test("Case 1: a Microsoft mailbox on Basic Auth is marked «Migration to OAuth required»; «Sign in with Microsoft» moves it to OAuth with mail before, during and after arriving exactly once")
    func case1Migration() async throws {
        let world = try await FlowWorld.start("flow-case1")
        defer { world.stop() }
        let account = await world.emulator.workAccount("basic")
        try world.dovecot.setUser(account, password: "basic-auth-password")
        try world.deliver(["Before migration 1", "Before migration 2"], to: account)
        _ = try CLI.run([
            "mailbox", "add", "--database", world.database, "--email", account, "--name", "Support", "--provider", "microsoft",
            "--usage", "incoming", "--imap-host", "localhost", "--imap-port", String(world.dovecot.imapsPort), "--imap-security", "tls",
            "--username", account, "--password-stdin",
        ], input: "basic-auth-password\n", workdir: world.workdir)
        try await world.expectFiledOnce(["Before migration 1", "Before migration 2"])
        try await withWebDriver { browser in
            try await world.signIn(browser)
            let list = try await browser.reload("\(world.base)/admin/channels/email", until: ["Migration to OAuth required"])
            #expect(list.contains(account))
            try await world.expectBanner(browser, shown: true)
            try await world.screenshot(browser, "banner")
            try await browser.click("#mailboxes a")
            try await browser.waitFor("#incoming-state")
            #expect(try await browser.text("#incoming-state") == "Migration to OAuth required")
            #expect(try await browser.text("#oauth-sign-in") == "Sign in with Microsoft")
            try await world.screenshot(browser, "case-1-migration-required")
            // Fetching goes on while the mailbox waits for its migration.
            try world.deliver(["While marked 1"], to: account)
            try await world.expectFiledOnce(["While marked 1"])

            try await browser.click("#oauth-sign-in")
            // Mail arriving while the admin is at Microsoft's sign-in page.
            try world.deliver(["During migration 1", "During migration 2"], to: account)
            try await world.pick(account, in: browser)
            try await browser.waitFor("#confirmation")
            #expect(try await browser.text("#incoming-state") != "Migration to OAuth required")
            #expect(try await browser.text("#incoming-auth") == "Sign in with Microsoft as \(account)")
            #expect(try await browser.text("#others-username") == account)
            let page = try await browser.source()
            #expect(page.contains("Username and password (Basic Auth)"))
            #expect(!page.contains("basic-auth-password"), "«Others» never shows the password")
            try world.deliver(["After migration 1", "After migration 2"], to: account)
            try await world.expectFiledOnce([
                "Before migration 1", "Before migration 2", "While marked 1", "During migration 1", "During migration 2",
                "After migration 1", "After migration 2",
            ])
            try await browser.reload("\(world.base)/admin/channels/email/\(try #require(URL(string: try await browser.currentURL())).pathComponents.last ?? "")",
                                     until: ["Connected"])
            try await world.expectBanner(browser, shown: false)
        }
        let notices = try await world.waitForNotices(2)
        #expect(notices.count == 2)
        #expect(notices.contains("[Mailroom] \(account): Migration to OAuth required"))
        #expect(notices.contains("[Mailroom] \(account) is connected again"))
    }

    @Test("Case 2: the password changes on the server; «Reauthorization required» and the banner; a wrong new password changes nothing; the right one fixes it and the mail that waited is filed once; admins are emailed once each way")
    func case2Password() async throws {
        let world = try await FlowWorld.start("flow-case2")
        defer { world.stop() }
        let user = uniqueUser("pw")
        try world.dovecot.setUser(user, password: "first-password-1")
        try world.deliver(["Case 2 before"], to: user)
        _ = try CLI.run([
            "mailbox", "add", "--database", world.database, "--email", "\(user)@helpdesk.example", "--name", "Support", "--provider", "other",
            "--usage", "incoming", "--imap-host", "localhost", "--imap-port", String(world.dovecot.imapsPort), "--imap-security", "tls",
            "--username", user, "--password-stdin",
        ], input: "first-password-1\n", workdir: world.workdir)
        try await world.expectFiledOnce(["Case 2 before"])
        try world.dovecot.setUser(user, password: "second-password-2")
        try world.deliver(["Case 2 during 1", "Case 2 during 2"], to: user)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            try await browser.reload("\(world.base)/admin/channels/email", until: ["Reauthorization required"], timeout: .seconds(60))
            try await world.expectBanner(browser, shown: true)
            try await browser.click("#mailboxes a")
            try await browser.waitFor("#incoming-state")
            #expect(try await browser.text("#incoming-state") == "Reauthorization required")
            #expect(try await browser.text("#incoming-cause") == "The mail server rejected the username or password for «\(user)».")
            try await world.screenshot(browser, "case-2-reauthorization-required")

            try await browser.type("#password", "not-the-password")
            try await browser.click("#password-save")
            try await browser.waitFor("#password-error")
            #expect(try await browser.text("#password-error").contains("rejected the username or password"))
            #expect(try await browser.text("#incoming-state") == "Reauthorization required")

            try await browser.type("#password", "second-password-2")
            try await browser.click("#password-save")
            try await browser.waitFor("#confirmation")
            try await world.expectFiledOnce(["Case 2 before", "Case 2 during 1", "Case 2 during 2"])
            try await browser.reload(try await browser.currentURL(), until: ["Connected"])
            try await world.expectBanner(browser, shown: false)
            #expect(!(try await browser.source()).contains("second-password-2"))
        }
        let notices = try await world.waitForNotices(2)
        try await Task.sleep(for: .seconds(3))  // more passes of the notifier: nothing more may be sent
        #expect(world.notices() == ["[Mailroom] \(user)@helpdesk.example is connected again", "[Mailroom] \(user)@helpdesk.example: Reauthorization required"])
        _ = notices
    }

    @Test("Case 3: the emulator revokes the account's tokens; «Your Microsoft Office 365 credentials have expired. Please sign in again.»; one sign-in fixes it and the mail that arrived meanwhile is filed once")
    func case3Revoked() async throws {
        let world = try await FlowWorld.start("flow-case3")
        defer { world.stop() }
        let account = await world.emulator.workAccount("revoked")
        try world.deliver(["Case 3 before"], to: account)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            let path = try await world.addBySignIn(browser, provider: "microsoft", email: account, as: account)
            try await world.expectFiledOnce(["Case 3 before"])
            try await world.emulator.emulator.revokeTokens(account: account)
            try world.deliver(["Case 3 during 1", "Case 3 during 2"], to: account)
            try await browser.reload("\(world.base)\(path)", until: ["Your Microsoft Office 365 credentials have expired. Please sign in again."], timeout: .seconds(60))
            #expect(try await browser.text("#incoming-state") == "Reauthorization required")
            #expect(try await browser.text("#incoming-cause") == "Your Microsoft Office 365 credentials have expired. Please sign in again.")
            try await world.screenshot(browser, "case-3-credentials-expired")
            try await world.expectBanner(browser, shown: true)
            try await browser.go("\(world.base)\(path)")
            try await browser.click("#oauth-sign-in")
            try await world.pick(account, in: browser)
            try await browser.waitFor("#confirmation")
            try await world.expectFiledOnce(["Case 3 before", "Case 3 during 1", "Case 3 during 2"])
            try await browser.reload("\(world.base)\(path)", until: ["Connected"])
            try await world.expectBanner(browser, shown: false)
        }
    }

    @Test("Switching accounts: a Gmail mailbox moves to a Microsoft account on another server; the new sign-in is tested first, the old settings stay under «Others», and no mail is lost or doubled")
    func accountSwitch() async throws {
        let world = try await FlowWorld.start("flow-switch")
        defer { world.stop() }
        let gmail = await world.emulator.googleAccount("switch")
        let microsoft = await world.emulator.workAccount("switched", delegateOf: gmail)
        try world.deliver(["Switch before 1", "Switch before 2"], to: gmail)
        try await withWebDriver { browser in
            try await world.signIn(browser)
            let path = try await world.addBySignIn(browser, provider: "google", email: gmail, as: gmail)
            try await world.expectFiledOnce(["Switch before 1", "Switch before 2"])
            try world.deliver(["Switch during"], to: gmail)
            try await browser.go("\(world.base)\(path)")
            try await browser.click("#switch-account summary")
            try await browser.select("#switch-provider", value: "microsoft")
            try await browser.type("#switch-imap-host", "localhost")
            try await browser.type("#switch-imap-port", String(world.dovecot.imapPort))
            try await browser.select("#switch-imap-security", value: "starttls")
            try await browser.click("#switch-sign-in")
            try await world.pick(microsoft, in: browser)
            try await browser.waitFor("#confirmation")
            #expect(try await browser.text("#incoming-auth") == "Sign in with Microsoft as \(microsoft) (shared mailbox \(gmail))")
            let others = try await browser.text("#others")
            #expect(others.contains("Gmail"))
            #expect(others.contains("Sign in with Google as \(gmail)"))
            try world.deliver(["Switch after"], to: gmail)
            try await world.expectFiledOnce(["Switch before 1", "Switch before 2", "Switch during", "Switch after"])
            try await world.screenshot(browser, "account-switch-others")
        }
    }

    @Test("Identity check: signing in again as another account is refused with the expected and the signed-in account, and nothing changes")
    func identityMismatch() async throws {
        let world = try await FlowWorld.start("flow-identity")
        defer { world.stop() }
        let owner = await world.emulator.workAccount("owner")
        let stranger = await world.emulator.workAccount("stranger")
        try await withWebDriver { browser in
            try await world.signIn(browser)
            let path = try await world.addBySignIn(browser, provider: "microsoft", email: owner, as: owner)
            try await browser.click("#oauth-sign-in")
            try await world.pick(stranger, in: browser)
            try await browser.waitFor("#signin-cause")
            #expect(try await browser.text("h1") == "This is not the account of this mailbox")
            #expect(try await browser.text("#expected-account") == owner)
            #expect(try await browser.text("#signed-in-account") == stranger)
            #expect(try await browser.text("#signin-cause") == "You signed in as «\(stranger)», but this mailbox is connected as «\(owner)». Nothing was changed.")
            try await world.screenshot(browser, "identity-mismatch")
            try await browser.go("\(world.base)\(path)")
            #expect(try await browser.text("#incoming-auth") == "Sign in with Microsoft as \(owner)")
            try world.deliver(["After the refused sign-in"], to: owner)
            try await world.expectFiledOnce(["After the refused sign-in"])
        }
    }
}
