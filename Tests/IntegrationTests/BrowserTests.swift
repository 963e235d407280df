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
        // Fill a database the way the server would, then let `mailroom serve` show it. The server gets another key,
        // so its worker cannot open these (made-up) mailboxes and leaves their recorded health as it is.
        let vault = Vault(key: SymmetricKey(size: .bits256))
        let database = try await Database.open(.sqlite(path: databasePath), logger: Logger(label: "test"))
        let store = SQLStore(database: database)
        try await store.migrate()
        let ok = try await store.createMailbox(
            try MailboxDraft(email: "support@helpdesk.example", name: "Support", imapHost: "imap.helpdesk.example").validated(),
            incomingSecret: try vault.seal("x"), at: Date())
        let broken = try await store.createMailbox(
            try MailboxDraft(email: "billing@helpdesk.example", name: "Billing", imapHost: "imap.helpdesk.example", imapPort: 143, imapSecurity: .starttls).validated(),
            incomingSecret: try vault.seal("y"), at: Date())
        try await store.setHealth(ok.id, .incoming, ConnectionHealth().succeeded(at: Date()))
        let verdict = Diagnosis.incoming(.init(kind: .authenticationRejected(code: "AUTHENTICATIONFAILED"), serverText: "Authentication failed.", step: "LOGIN"),
                                         server: try #require(broken.incoming))
        try await store.setHealth(broken.id, .incoming, ConnectionHealth().failed(verdict, at: Date()))
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
        for raw in [Array(hostile.utf8), simpleMessage(id: "b2@example.com", subject: "Printer on 3rd floor not working", from: "Ahmed Khan <ahmed@example.com>")] {
            let email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: SHA256.hash(data: raw).description)
            _ = try await store.ingest(email, mailbox: ok.id, folder: "INBOX", watermark: .init(uidValidity: 1, lastUID: 1))
        }
        try await database.withRunning { _ in }

        let dovecot = try await TestServers.shared.dovecot()
        let server = try MailroomProcess(database: databasePath, workdir: workdir, caFile: dovecot.caFile, pollInterval: 3600,
                                         extraEnvironment: ["MAILROOM_SECRET_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="])
        try await server.waitUntilListening()
        let base = "http://127.0.0.1:\(server.port)"

        let list = try Chromium.dom("\(base)/tickets")
        #expect(list.contains("Facture n° 4411 – erreur"))
        #expect(list.contains("Printer on 3rd floor not working"))
        #expect(list.contains("Françoise Lefèvre"))

        let ticket = try Chromium.dom("\(base)/tickets/1")
        #expect(ticket.contains("la facture n° 4411 est fausse"))
        #expect(!ticket.contains("pwned"), "no script from a customer's HTML may run or survive")
        #expect(ticket.contains("<title>#1 Facture n° 4411 – erreur · Mailroom</title>"))

        let channels = try Chromium.dom("\(base)/admin/channels/email")
        #expect(channels.contains("support@helpdesk.example"))
        #expect(channels.contains("Connected"))
        #expect(channels.contains("Reauthorization required"))
        #expect(channels.contains("The mail server rejected the username or password for «billing@helpdesk.example»."))

        if let dir = ProcessInfo.processInfo.environment["MAILROOM_SCREENSHOTS_DIR"] {
            try Chromium.screenshot("\(base)/tickets", to: "\(dir)/tickets.png", height: 500)
            try Chromium.screenshot("\(base)/tickets/1", to: "\(dir)/ticket.png", height: 700)
            try Chromium.screenshot("\(base)/admin/channels/email", to: "\(dir)/channels-email.png", height: 500)
            try Chromium.screenshot("\(base)/admin/channels/email/\(broken.id)", to: "\(dir)/mailbox-reauthorization-required.png", height: 700)
        }
        #expect(server.terminate() == 0)
    }
}
