import Crypto
import Foundation
import MailroomTestSupport
import MIME
import MailroomCore
import Storage
import Testing
import Logging

@Suite("Pages in real headless Chromium", .serialized)
struct BrowserTests {
    @Test("The ticket list, a ticket and Admin › Channels › Email render what an agent and an admin need; hostile HTML stays inert")
    func pages() async throws {
        let workdir = try TestPaths.temporaryDirectory("browser")
        let databasePath = workdir.appendingPathComponent("mailroom.sqlite").path
        // Two mailboxes on the test Dovecot, one with the right password and one with a wrong one: the server
        // finds out which is which, and files the customer mail waiting in the first.
        let dovecot = try await TestServers.shared.dovecot()
        let good = uniqueUser("support")
        let billing = uniqueUser("billing")
        try dovecot.setUser(good, password: "right")
        try dovecot.setUser(billing, password: "changed-on-the-server")
        let keyBytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let vault = Vault(key: SymmetricKey(data: keyBytes))
        let database = try await Database.open(.sqlite(path: databasePath), logger: Logger(label: "test"))
        let store = SQLStore(database: database)
        try await store.migrate()
        _ = try await store.createMailbox(
            try MailboxDraft(email: "support@helpdesk.example", name: "Support", imapHost: "localhost", imapPort: dovecot.imapsPort,
                             imapSecurity: .tls, username: good).validated(),
            incomingSecret: try vault.seal("right", for: .password(of: "support@helpdesk.example")), at: Date())
        let broken = try await store.createMailbox(
            try MailboxDraft(email: "billing@helpdesk.example", name: "Billing", imapHost: "localhost", imapPort: dovecot.imapPort,
                             imapSecurity: .starttls, username: billing).validated(),
            incomingSecret: try vault.seal("the-old-password", for: .password(of: "billing@helpdesk.example")), at: Date())
        let hostile = """
            From: =?UTF-8?Q?Fran=C3=A7oise_Lef=C3=A8vre?= <francoise@example.fr>
            To: support@helpdesk.example
            Subject: =?UTF-8?Q?Facture_n=C2=B0_4411_=E2=80=93_erreur?=
            Message-ID: <hostile-1@example.fr>
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="x"

            --x
            Content-Type: text/plain; charset=utf-8

            Bonjour, la facture n° 4411 est fausse.
            --x
            Content-Type: text/html; charset=utf-8

            <p onclick="document.title='pwned-click'">Bonjour, la <b>facture</b> est fausse.</p><script>document.title='pwned'</script><img src=x onerror="document.title='pwned-img'">
            --x--

            """
        try dovecot.deliver([Array(hostile.utf8), simpleMessage(id: "b2-\(good)@example.com", subject: "Printer on 3rd floor not working", from: "Ahmed Khan <ahmed@example.com>")], to: good)
        try await database.withRunning { _ in }

        let server = try MailroomProcess(database: databasePath, workdir: workdir, caFile: dovecot.caFile, pollInterval: 3600,
                                         extraEnvironment: ["MAILROOM_SECRET_KEY": keyBytes.base64EncodedString()])
        try await server.waitUntilListening()
        let base = "http://127.0.0.1:\(server.port)"
        try TestPeople.createAdmin(database: databasePath, workdir: workdir)

        try await withWebDriver { browser in
            // A stranger sees only the sign-in page.
            try await browser.go("\(base)/tickets")
            #expect(try await browser.currentURL().contains("/signin"))
            #expect(!(try await browser.source()).contains("Printer on 3rd floor"))
            try await browser.signIn(base: base)

            let list = try await browser.reload("\(base)/tickets", until: ["Printer on 3rd floor not working"])
            #expect(list.contains("Facture n° 4411 – erreur"))
            #expect(list.contains("Françoise Lefèvre"))

            try await browser.go("\(base)/tickets/1")
            let ticket = try await browser.source()
            #expect(ticket.contains("la facture n° 4411 est fausse"))
            #expect(!ticket.contains("pwned"), "no script from a customer's HTML may run or survive")
            #expect(try await browser.title() == "#1 Facture n° 4411 – erreur · Mailroom")

            let channels = try await browser.reload("\(base)/admin/channels/email", until: ["Connected", "Reauthorization required"])
            #expect(channels.contains("support@helpdesk.example"))
            #expect(channels.contains("The mail server rejected the username or password for «\(billing)»."))
            #expect(try await browser.text("#reauthorize-banner")
                == "Please reauthorize your Email settings. Learn more about it here or finish the setup in Email settings")

            if let dir = ProcessInfo.processInfo.environment["MAILROOM_SCREENSHOTS_DIR"] {
                try await browser.go("\(base)/tickets")
                _ = try await browser.screenshot(to: "\(dir)/tickets.png")
                try await browser.go("\(base)/tickets/1")
                _ = try await browser.screenshot(to: "\(dir)/ticket.png")
                try await browser.go("\(base)/admin/channels/email")
                _ = try await browser.screenshot(to: "\(dir)/channels-email.png")
                try await browser.go("\(base)/admin/channels/email/\(broken.id)")
                _ = try await browser.screenshot(to: "\(dir)/mailbox-reauthorization-required.png")
            }
        }
        #expect(server.terminate() == 0)
    }
}
