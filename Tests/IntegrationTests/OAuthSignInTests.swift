import Engine
import Foundation
import IMAP
import IdentityEmulator
import MailroomCore
import MailroomTestSupport
import OAuth
import SASL
import SMTP
import Testing

@Suite("OAuth sign-in: SMTP, refused sign-ins, and secrets", .serialized)
struct OAuthSignInTests {
    @Test("Postfix accepts SMTP AUTH XOAUTH2 with a Microsoft work token longer than 2,048 bytes, and a delegate's token for the shared address")
    func smtpXOAuth2() async throws {
        let world = try await OAuthWorld.make(name: "smtp")
        let postfix = try await TestServers.shared.postfix()
        let shared = "\(uniqueUser("sharedsmtp"))@\(EmulatorFixture.tenantDomain)"
        let account = await world.emulator.workAccount("smtp", delegateOf: shared)
        let signIn = try await world.signIn(.microsoft, as: account)
        #expect(signIn.grant.accessToken.utf8.count > 2048)
        for user in [account, shared] {
            let client = try await SMTPClient.connect(
                to: testSMTPServer(port: postfix.submissionPort, implicitTLS: false, caFile: postfix.caFile), logger: world.logs.logger("smtp"))
            try await client.authenticate(mechanism: SASLXOAuth2(user: user, accessToken: signIn.grant.accessToken))
            #expect(await client.isAuthenticated)
            await client.quit()
        }
        // SMTP disabled for the mailbox: the emulator tells Dovecot the token is not valid for smtp.
        await world.emulator.emulator.setProtocolEnabled(account, .smtp, false)
        let refused = try await SMTPClient.connect(
            to: testSMTPServer(port: postfix.submissionPort, implicitTLS: false, caFile: postfix.caFile), logger: world.logs.logger("smtp"))
        let error = await smtpError {
            try await refused.authenticate(mechanism: SASLXOAuth2(user: account, accessToken: signIn.grant.accessToken))
        }
        #expect(error?.reply?.code == 535)
        #expect(error?.saslDetail?.contains("401") == true)
        await refused.close()
        await world.emulator.emulator.setProtocolEnabled(account, .smtp, true)
        #expect(!world.logs.text.contains(signIn.grant.accessToken))
    }

    @Test("A wrong PKCE verifier, a reused state, an expired state or another session's state: the sign-in is refused with a clear error and nothing is stored")
    func refusedSignIns() async throws {
        let world = try await OAuthWorld.make(name: "refused")
        let account = await world.emulator.workAccount("refused")
        let client = try await world.providers.client(for: .microsoft)
        func state(_ url: URL) -> String { FakeBrowser.query(url)["state"] ?? "" }

        // Two sign-ins in one session; the code of the first arrives with the state of the second, so Mailroom
        // presents the second one's PKCE verifier: the provider refuses it.
        let first = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let second = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        var callback = FakeBrowser.query(try await FakeBrowser.signIn(at: first.absoluteString, as: account))
        callback["state"] = state(second)
        let pkce = await #expect(throws: OAuthFailure.self) { try await world.providers.finishSignIn(callback: callback, session: "s") }
        #expect(pkce?.error == "invalid_grant")
        #expect(pkce?.codes == [501481])

        // Reused: a callback works once.
        let third = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let good = FakeBrowser.query(try await FakeBrowser.signIn(at: third.absoluteString, as: account))
        _ = try await world.providers.finishSignIn(callback: good, session: "s")
        let reused = await #expect(throws: OAuthFailure.self) { try await world.providers.finishSignIn(callback: good, session: "s") }
        #expect(reused?.kind == .signInRejected)
        #expect(reused?.detail == "This sign-in link is unknown or was already used. Start the sign-in again.")

        // Another browser session, and a sign-in left for more than ten minutes.
        let fourth = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let stolen = FakeBrowser.query(try await FakeBrowser.signIn(at: fourth.absoluteString, as: account))
        let otherSession = await #expect(throws: OAuthFailure.self) { try await world.providers.finishSignIn(callback: stolen, session: "attacker") }
        #expect(otherSession?.detail?.contains("another browser session") == true)
        let fifth = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let late = FakeBrowser.query(try await FakeBrowser.signIn(at: fifth.absoluteString, as: account))
        let expired = await #expect(throws: OAuthFailure.self) {
            try await world.providers.finishSignIn(callback: late, session: "s", now: Date().addingTimeInterval(11 * 60))
        }
        #expect(expired?.detail?.contains("expired") == true)

        // The user cancels at the provider.
        let sixth = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let page = try await FakeBrowser.get(sixth.absoluteString)
        let (action, fields) = try FakeBrowser.form(in: page.body, selecting: account)
        let cancel = try await FakeBrowser.post(URL(string: action, relativeTo: sixth)!.absoluteString,
                                                form: fields.filter { $0.0 != "account" } + [("cancel", "1")])
        let cancelled = FakeBrowser.query(try #require(cancel.location.flatMap(URL.init(string:))))
        let denied = await #expect(throws: OAuthFailure.self) { try await world.providers.finishSignIn(callback: cancelled, session: "s") }
        #expect(denied?.error == "access_denied")

        #expect(try await world.fixture.store.mailboxes().isEmpty)
    }

    @Test("No token, code, client secret or password appears in any log line of sign-in, fetching, renewal and failure")
    func noSecretsInLogs() async throws {
        let world = try await OAuthWorld.make(name: "secrets")
        let account = await world.emulator.workAccount("secrets")
        let client = try await world.providers.client(for: .microsoft)
        let url = try await client.startSignIn(redirectURI: EmulatorFixture.redirectURI, session: "s")
        let callback = FakeBrowser.query(try await FakeBrowser.signIn(at: url.absoluteString, as: account))
        let code = try #require(callback["code"])
        let signIn = try await world.providers.finishSignIn(callback: callback, session: "s")
        try world.deliver(1, to: account, tag: "secrets")
        let mailbox = try await world.addMailbox(signIn, provider: .microsoft)
        _ = await world.syncer.syncAndRecord(mailbox)
        try await world.expireStoredAccessToken(mailbox)
        _ = await world.syncer.syncAndRecord(mailbox)  // renews
        let renewed = try await world.openGrant(mailbox)
        try await world.emulator.emulator.revokeTokens(account: account)
        _ = await world.syncer.syncAndRecord(mailbox)  // fails: reauthorization
        #expect(try await world.health(mailbox).state == .reauthorizationRequired)

        let logs = world.logs.text
        #expect(logs.contains("Access token renewed"))
        let secrets = [signIn.grant.accessToken, signIn.grant.refreshToken ?? "", renewed.access, renewed.refresh ?? "", code,
                       EmulatorFixture.microsoftClient.secret, EmulatorFixture.googleClient.secret]
        for secret in secrets where !secret.isEmpty {
            #expect(!logs.contains(secret), "a secret (\(secret.prefix(4))…) was logged")
            #expect(!logs.contains(String(secret.prefix(24))), "part of a secret (\(secret.prefix(4))…) was logged")
        }
        // Nor in what the admin sees.
        let health = try await world.health(mailbox)
        for text in [health.cause, health.fix, health.detail].compactMap({ $0 }) {
            for secret in secrets where !secret.isEmpty { #expect(!text.contains(secret)) }
        }
    }
}
