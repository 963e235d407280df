import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import IdentityEmulator

/// A mail server that remembers what it was told, and can be made to fail.
private final class RecordingMailServer: EmulatorMailServer {
    let changed = Mutex<[String]>([])
    let failing: Bool

    init(failing: Bool = false) { self.failing = failing }

    func passwords() async -> [(mailbox: String, password: String)] {
        [("support@contoso.example", "Contoso-support-1"), ("help@northwind.example", "Northwind-help-1")]
    }

    func changePassword(mailbox: String) async throws {
        if failing { throw CancellationError() }
        changed.withLock { $0.append(mailbox) }
    }
}

@Suite("The demo's mail server attached to the emulator")
struct MailServerLinkTests {
    func post(_ client: some TestClientProtocol, _ action: String, _ json: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/emulator/control/\(action)", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
    }

    @Test("«Change password» reaches the mail server as well, and a mailbox of the mail server alone can have its password changed")
    func passwordChangesReachTheMailServer() async throws {
        let emulator = Fixture.emulator()
        let mailServer = RecordingMailServer()
        await emulator.attach(mailServer: mailServer)
        try await Fixture.application(emulator).test(.router) { client in
            let changed = try await post(client, "changePassword", #"{"account":"support@contoso.example"}"#)
            #expect(changed.status == .ok)
            #expect(await emulator.activeFaults() == [.passwordChanged(account: "support@contoso.example")])
            #expect(try await post(client, "changeMailPassword", #"{"mailbox":"help@northwind.example"}"#).status == .ok)
            #expect(try await post(client, "revokeTokens", #"{"account":"support@contoso.example"}"#).status == .ok)
            #expect(mailServer.changed.withLock { $0 } == ["support@contoso.example", "help@northwind.example"], "only password changes reach it")
            #expect(try await post(client, "changeMailPassword", #"{}"#).status == .badRequest)
        }
    }

    @Test("the control page shows the mail passwords: beside the account, and in a section of its own for mailboxes without an account")
    func dashboardShowsMailPasswords() async throws {
        let emulator = Fixture.emulator()
        await emulator.attach(mailServer: RecordingMailServer())
        try await Fixture.application(emulator).test(.router) { client in
            let html = String(buffer: try await client.execute(uri: "/emulator", method: .get).body)
            #expect(html.contains(#"<tr class="account-row" data-account="support@contoso.example">"#))
            #expect(html.contains(#"mail password: <code class="mail-password">Contoso-support-1</code>"#))
            #expect(html.contains(#"<tr class="mailbox-row" data-mailbox="help@northwind.example">"#))
            #expect(html.contains(#"action="/emulator/control/changeMailPassword""#))
            #expect(html.contains("<strong>Case 2</strong>"))
        }
    }

    @Test("without a mail server: no mail passwords on the page, and changeMailPassword is refused; a failing mail server gives 502")
    func withoutOrFailingMailServer() async throws {
        let emulator = Fixture.emulator()
        try await Fixture.application(emulator).test(.router) { client in
            let html = String(buffer: try await client.execute(uri: "/emulator", method: .get).body)
            #expect(!html.contains("mail-password"))
            #expect(try await post(client, "changeMailPassword", #"{"mailbox":"help@northwind.example"}"#).status == .badRequest)
        }
        let failing = Fixture.emulator()
        await failing.attach(mailServer: RecordingMailServer(failing: true))
        try await Fixture.application(failing).test(.router) { client in
            let response = try await post(client, "changeMailPassword", #"{"mailbox":"help@northwind.example"}"#)
            #expect(response.status == .badGateway)
            #expect(String(buffer: response.body).contains("could not change the password of help@northwind.example"))
        }
    }
}
