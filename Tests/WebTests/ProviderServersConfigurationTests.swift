import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
import Web

/// The operator's provider servers (`MAILROOM_…_SERVER`) reach *New support email*, its script and the CLI.
@Suite("Provider servers configured by the operator")
struct ProviderServersConfigurationTests {
    /// GCC High for Microsoft, a loopback Dovecot for «Gmail» (the demo's set-up).
    static let servers = ProviderServers(
        microsoftIncoming: .init(host: "outlook.office365.us", port: 10993, security: .tls),
        microsoftOutgoing: .init(host: "smtp.office365.us", port: 10587, security: .starttls),
        googleIncoming: .init(host: "127.0.0.1", port: 10143, security: .starttls),
        googleOutgoing: .init(host: "127.0.0.1", port: 10465, security: .tls))

    /// The `<form id="mailbox-form" …>` start tag of a page.
    static func formTag(_ html: String) throws -> String {
        let start = try #require(html.range(of: "<form method=\"post\" action=\"/admin/channels/email\""))
        let rest = html[start.lowerBound...]
        let end = try #require(rest.firstIndex(of: ">"))
        return String(rest[..<end])
    }

    @Test("New support email pre-fills the configured Microsoft servers and carries every provider's servers for its script")
    func newMailboxForm() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "provider-servers")
        let admin = try await TestPeople.session(fixture.store)
        let dependencies = WebDependencies(
            store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil, servers: Self.servers)
        // One value: what the form pre-fills is what the stored mailbox gets when the host is left empty.
        #expect(dependencies.mailboxes.servers == Self.servers)
        #expect(WebDependencies(store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil).servers == .standard)
        try await Application(router: try buildRouter(dependencies)).test(.router) { client in
            let page = try await client.execute(uri: "/admin/channels/email/new?provider=microsoft", method: .get, headers: [.cookie: admin.cookieHeader])
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            let fields = Dictionary(FakeBrowser.inputs(in: html), uniquingKeysWith: { first, _ in first })
            #expect(fields["imap_host"] == "outlook.office365.us")
            #expect(fields["imap_port"] == "10993")
            #expect(fields["smtp_host"] == "smtp.office365.us")
            #expect(fields["smtp_port"] == "10587")
            #expect(!html.contains("outlook.office365.com"), "the public server shows nowhere once another is configured")

            let form = try Self.formTag(html)
            #expect(form.contains("id=\"mailbox-form\""))
            let expected: [String: String] = [
                "data-microsoft-imap-host": "outlook.office365.us", "data-microsoft-imap-port": "10993", "data-microsoft-imap-security": "tls",
                "data-microsoft-smtp-host": "smtp.office365.us", "data-microsoft-smtp-port": "10587", "data-microsoft-smtp-security": "starttls",
                "data-google-imap-host": "127.0.0.1", "data-google-imap-port": "10143", "data-google-imap-security": "starttls",
                "data-google-smtp-host": "127.0.0.1", "data-google-smtp-port": "10465", "data-google-smtp-security": "tls",
            ]
            for (name, value) in expected {
                #expect(FakeBrowser.attribute(name, in: form) == value, "\(name) in \(form)")
            }
            #expect(!form.contains("data-other-"), "«Other» has no defaults")

            let gmail = String(buffer: try await client.execute(
                uri: "/admin/channels/email/new?provider=google", method: .get, headers: [.cookie: admin.cookieHeader]).body)
            let gmailFields = Dictionary(FakeBrowser.inputs(in: gmail), uniquingKeysWith: { first, _ in first })
            #expect(gmailFields["imap_host"] == "127.0.0.1" && gmailFields["imap_port"] == "10143")
            // The configured security is pre-selected: STARTTLS for IMAP, SSL/TLS for SMTP.
            func select(_ id: String) -> String {
                gmail.components(separatedBy: "id=\"\(id)\"").dropFirst().first?.components(separatedBy: "</select>").first ?? ""
            }
            #expect(select("imap_security").contains("<option value=\"starttls\" selected>"))
            #expect(select("smtp_security").contains("<option value=\"tls\" selected>"))

            // The script names no server: it reads the form's attributes.
            let script = String(buffer: try await client.execute(uri: "/static/mailbox-form.js", method: .get).body)
            #expect(script.contains("form.dataset"))
            for host in ["office365", "gmail.com", "outlook"] { #expect(!script.contains(host)) }
        }
    }

    @Test("`mailbox add` uses the configured servers; a malformed variable stops `serve` and `mailbox add` with the variable, the reason and an example")
    func commandLine() throws {
        let workdir = try TestPaths.temporaryDirectory("provider-servers-cli")
        let binary = try TestPaths.mailroomBinary
        let common = ["--database", workdir.appendingPathComponent("m.sqlite").path, "--key-file", workdir.appendingPathComponent("m.key").path]
        let added = try ProcessRunner.run(
            ["env", "MAILROOM_MICROSOFT_IMAP_SERVER=imaps://outlook.office365.us:10993", binary, "mailbox", "add"] + common
                + ["--email", "help@agency.example", "--name", "Help", "--provider", "microsoft", "--password-stdin", "--json"],
            input: "app password\n")
        #expect(added.contains("outlook.office365.us"), "\(added)")
        #expect(added.contains("10993"), "\(added)")

        let refusedAdd = try ProcessRunner.run(
            ["env", "MAILROOM_GOOGLE_IMAP_SERVER=imaps://:99999", binary, "mailbox", "add"] + common
                + ["--email", "help@example.com", "--name", "Help", "--provider", "google", "--password-stdin"],
            input: "pw\n", allowFailure: true)
        #expect(refusedAdd.contains("MAILROOM_GOOGLE_IMAP_SERVER «imaps://:99999» is not usable: the host is missing"), "\(refusedAdd)")
        #expect(refusedAdd.contains("Example: MAILROOM_GOOGLE_IMAP_SERVER=imaps://imap.gmail.com:993"), "\(refusedAdd)")

        // `timeout` only guards the test: the server must refuse to start long before.
        let refusedServe = try ProcessRunner.run(
            ["env", "MAILROOM_MICROSOFT_SMTP_SERVER=ftp://x", "timeout", "60", binary, "serve", "--port", String(try ProcessRunner.freePort())] + common,
            allowFailure: true)
        #expect(refusedServe.contains("MAILROOM_MICROSOFT_SMTP_SERVER «ftp://x» is not usable: the scheme «ftp://»"), "\(refusedServe)")
        #expect(refusedServe.contains("Example: MAILROOM_MICROSOFT_SMTP_SERVER=smtp://smtp.office365.com:587"), "\(refusedServe)")
        #expect(!refusedServe.contains("Mailroom is running"))
    }
}
