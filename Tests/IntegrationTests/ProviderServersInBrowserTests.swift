import Foundation
import MailroomTestSupport
import Testing

/// The operator's provider servers reach the form's script in a real browser (the server-free cases are in
/// WebTests' ProviderServersConfigurationTests).
@Suite("Provider servers configured by the operator, in Chromium")
struct ProviderServersInBrowserTests {
    @Test("In Chromium, choosing a provider fills in the servers `serve` was configured with")
    func providerSwitchInBrowser() async throws {
        let workdir = try TestPaths.temporaryDirectory("provider-servers-browser")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let dovecot = try await TestServers.shared.dovecot()
        let server = try MailroomProcess(
            database: database, workdir: workdir, caFile: dovecot.caFile, pollInterval: 3600,
            extraEnvironment: [
                "MAILROOM_MICROSOFT_IMAP_SERVER": "imaps://outlook.office365.us:10993",
                "MAILROOM_GOOGLE_IMAP_SERVER": "imap://127.0.0.1:10143",
                "MAILROOM_GOOGLE_SMTP_SERVER": "smtps://127.0.0.1:10465",
            ])
        defer { _ = server.terminate() }
        try await server.waitUntilListening()
        try TestPeople.createAdmin(database: database, workdir: workdir)
        #expect(server.log.contains("MAILROOM_GOOGLE_IMAP_SERVER"), "the start-up log names the changed servers")

        try await withWebDriver { browser in
            try await browser.signIn(base: server.base)
            try await browser.go("\(server.base)/admin/channels/email/new?provider=other")
            try await browser.waitFor("#mailbox-form")
            try await browser.click("input[name=provider][value=google]")
            try await browser.type("#email", "help@example.com")
            // Saving without a password echoes the form as submitted: what the script filled in.
            try await browser.click("#save")
            try await browser.waitFor("#form-error")
            let page = try await browser.source()
            let fields = Dictionary(FakeBrowser.inputs(in: page), uniquingKeysWith: { first, _ in first })
            #expect(fields["imap_host"] == "127.0.0.1")
            #expect(fields["imap_port"] == "10143")
            #expect(fields["smtp_host"] == "127.0.0.1")
            #expect(fields["smtp_port"] == "10465")
            func select(_ id: String) -> String {
                page.components(separatedBy: "id=\"\(id)\"").dropFirst().first?.components(separatedBy: "</select>").first ?? ""
            }
            #expect(select("imap_security").contains("<option value=\"starttls\" selected"))
            #expect(select("smtp_security").contains("<option value=\"tls\" selected"))

            // Microsoft: the configured IMAP server, the public SMTP server (not overridden).
            try await browser.go("\(server.base)/admin/channels/email/new?provider=other")
            try await browser.waitFor("#mailbox-form")
            try await browser.click("input[name=provider][value=microsoft]")
            try await browser.type("#email", "help@example.com")
            try await browser.click("#save")
            try await browser.waitFor("#form-error")
            let microsoft = Dictionary(FakeBrowser.inputs(in: try await browser.source()), uniquingKeysWith: { first, _ in first })
            #expect(microsoft["imap_host"] == "outlook.office365.us")
            #expect(microsoft["imap_port"] == "10993")
            #expect(microsoft["smtp_host"] == "smtp.office365.com")
            #expect(microsoft["smtp_port"] == "587")
        }
    }
}
