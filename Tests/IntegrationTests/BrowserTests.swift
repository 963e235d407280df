import Crypto
import Foundation
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
            incomingSecret: try vault.seal("right"), at: Date())
        let broken = try await store.createMailbox(
            try MailboxDraft(email: "billing@helpdesk.example", name: "Billing", imapHost: "localhost", imapPort: dovecot.imapPort,
                             imapSecurity: .starttls, username: billing).validated(),
            incomingSecret: try vault.seal("the-old-password"), at: Date())
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

        var list = ""
        for _ in 0..<100 {
            list = try Chromium.dom("\(base)/tickets")
            if list.contains("Printer on 3rd floor not working") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(list.contains("Facture n° 4411 – erreur"))
        #expect(list.contains("Printer on 3rd floor not working"))
        #expect(list.contains("Françoise Lefèvre"))

        let ticket = try Chromium.dom("\(base)/tickets/1")
        #expect(ticket.contains("la facture n° 4411 est fausse"))
        #expect(!ticket.contains("pwned"), "no script from a customer's HTML may run or survive")
        #expect(ticket.contains("<title>#1 Facture n° 4411 – erreur · Mailroom</title>"))

        var channels = ""
        for _ in 0..<100 {
            channels = try Chromium.dom("\(base)/admin/channels/email")
            if channels.contains("Connected") && channels.contains("Reauthorization required") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(channels.contains("support@helpdesk.example"))
        #expect(channels.contains("Connected"))
        #expect(channels.contains("Reauthorization required"))
        #expect(channels.contains("The mail server rejected the username or password for «\(billing)»."))

        if let dir = ProcessInfo.processInfo.environment["MAILROOM_SCREENSHOTS_DIR"] {
            try Chromium.screenshot("\(base)/tickets", to: "\(dir)/tickets.png", height: 500)
            try Chromium.screenshot("\(base)/tickets/1", to: "\(dir)/ticket.png", height: 700)
            try Chromium.screenshot("\(base)/admin/channels/email", to: "\(dir)/channels-email.png", height: 500)
            try Chromium.screenshot("\(base)/admin/channels/email/\(broken.id)", to: "\(dir)/mailbox-reauthorization-required.png", height: 700)
        }
        #expect(server.terminate() == 0)
    }
}
