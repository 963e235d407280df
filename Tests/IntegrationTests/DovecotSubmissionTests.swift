import Foundation
import IdentityEmulator
import Logging
import MailroomTestSupport
import SASL
import SMTP
import Testing

/// SMTP AUTH against Dovecot's own submission service (dovecot-submissiond 2.3.19) on the shared Dovecot, with
/// real tokens from the identity emulator, which Dovecot's oauth2 passdb introspects (service `submission`).
///
/// Dovecot delays logins from an address after a failed one (auth penalty, about 4 s and growing); the test Dovecot
/// turns that off (every test signs in from 127.0.0.1), and the failing cases still come last.
@Suite("SMTP AUTH against Dovecot's submission service", .serialized, .timeLimit(.minutes(3)))
struct DovecotSubmissionTests {
    static let logger: Logger = {
        var logger = Logger(label: "dovecot-submission")
        logger.logLevel = .warning
        return logger
    }()

    static func server(_ dovecot: Dovecot, implicitTLS: Bool = false) -> SMTPServer {
        testSMTPServer(port: implicitTLS ? dovecot.submissionsPort : dovecot.submissionPort, implicitTLS: implicitTLS, caFile: dovecot.caFile)
    }

    /// Runs `body`, then `cleanup` whether `body` threw or not.
    static func withCleanup<T>(_ cleanup: () async -> Void, _ body: () async throws -> T) async throws -> T {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        await cleanup()
        return try result.get()
    }

    // A successful AUTH is answered `235 2.7.0 Logged in.`; right after it Dovecot connects to its relay, which the
    // test Dovecot does not have, and ends the session with a 421. `quit()` is best effort, so that does not matter.

    @Test("STARTTLS, then AUTH XOAUTH2 with a Microsoft work-account token longer than 2,048 bytes: 235")
    func xoauth2WithAMicrosoftWorkToken() async throws {
        let world = try await OAuthWorld.make(name: "submission-xoauth2")
        let account = await world.emulator.workAccount("subxoauth")
        let signIn = try await world.signIn(.microsoft, as: account)
        let token = signIn.grant.accessToken
        #expect(token.utf8.count > 2_048)
        let client = try await SMTPClient.connect(to: Self.server(world.dovecot), logger: world.logs.logger("smtp"))
        #expect(await client.isEncrypted)
        let mechanisms = await client.extensions.authMechanisms
        #expect(mechanisms.isSuperset(of: ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"]), "\(mechanisms)")
        try await client.authenticate(mechanism: SASLXOAuth2(user: account, accessToken: token))
        #expect(await client.isAuthenticated)
        await client.quit()
        #expect(world.dovecot.log().contains("submission-login: Info: Login: user=<\(account)>, method=XOAUTH2"))
        #expect(!world.logs.text.contains(token))
    }

    @Test("AUTH OAUTHBEARER (RFC 7628) with a Microsoft work-account token: 235")
    func oauthBearer() async throws {
        let world = try await OAuthWorld.make(name: "submission-oauthbearer")
        let account = await world.emulator.workAccount("subbearer")
        let signIn = try await world.signIn(.microsoft, as: account)
        let client = try await SMTPClient.connect(to: Self.server(world.dovecot), logger: world.logs.logger("smtp"))
        try await client.authenticate(mechanism: SASLOAuthBearer(
            user: account, accessToken: signIn.grant.accessToken, host: "localhost", port: world.dovecot.submissionPort))
        #expect(await client.isAuthenticated)
        await client.quit()
        #expect(world.dovecot.log().contains("submission-login: Info: Login: user=<\(account)>, method=OAUTHBEARER"))
    }

    @Test("AUTH PLAIN for a passwd-file user, with STARTTLS and with implicit TLS: 235")
    func authPlain() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("subplain")
        try dovecot.setUser(user, password: "Submission-Pass-1")
        for implicitTLS in [false, true] {
            let client = try await SMTPClient.connect(to: Self.server(dovecot, implicitTLS: implicitTLS), logger: Self.logger)
            #expect(await client.isEncrypted)
            try await client.login(username: user, password: "Submission-Pass-1")
            #expect(await client.isAuthenticated, "implicit TLS: \(implicitTLS)")
            await client.quit()
        }
    }

    @Test("A revoked token: 535 5.7.8, permanent, with the decoded XOAUTH2 error (status 401)")
    func revokedToken() async throws {
        let world = try await OAuthWorld.make(name: "submission-revoked")
        let account = await world.emulator.workAccount("subrevoked")
        let signIn = try await world.signIn(.microsoft, as: account)
        let token = signIn.grant.accessToken
        try await world.emulator.emulator.revokeTokens(account: account)
        let client = try await SMTPClient.connect(to: Self.server(world.dovecot), logger: world.logs.logger("smtp"))
        let error = await smtpError {
            try await client.authenticate(mechanism: SASLXOAuth2(user: account, accessToken: token))
        }
        #expect(error?.kind == .authenticationFailed && error?.code == 535, "\(String(describing: error))\n\(world.dovecot.log().suffix(2_000))")
        #expect(error?.enhancedStatusCode == EnhancedStatusCode(5, 7, 8))
        #expect(error?.isPermanent == true && error?.isTransient == false)
        #expect(error?.saslDetail == "status 401, schemes bearer, scope mail")
        #expect(error.map { !"\($0)".contains(token) } == true)
        #expect(await !client.isAuthenticated)
        await client.quit()
        #expect(!world.logs.text.contains(token))
    }

    @Test("SMTP disabled for the mailbox: 535, permanent")
    func smtpDisabledForTheMailbox() async throws {
        let world = try await OAuthWorld.make(name: "submission-disabled")
        let account = await world.emulator.workAccount("subdisabled")
        let signIn = try await world.signIn(.microsoft, as: account)
        let emulator = world.emulator.emulator
        await emulator.setProtocolEnabled(account, .smtp, false)
        try await Self.withCleanup({ await emulator.setProtocolEnabled(account, .smtp, true) }) {
            let client = try await SMTPClient.connect(to: Self.server(world.dovecot), logger: world.logs.logger("smtp"))
            let error = await smtpError {
                try await client.authenticate(mechanism: SASLXOAuth2(user: account, accessToken: signIn.grant.accessToken))
            }
            #expect(error?.code == 535, "\(String(describing: error))")
            #expect(error?.enhancedStatusCode == EnhancedStatusCode(5, 7, 8) && error?.isPermanent == true)
            #expect(error?.saslDetail?.contains("401") == true)
            await client.quit()
        }
    }

    @Test("Introspection outage: a temporary 454 4.7.0, never 535; the outage is ended afterwards")
    func introspectionOutageIsTemporary() async throws {
        let world = try await OAuthWorld.make(name: "submission-outage")
        let account = await world.emulator.workAccount("suboutage")
        let signIn = try await world.signIn(.microsoft, as: account)
        let emulator = world.emulator.emulator
        await emulator.introspectionOutage(true)
        try await Self.withCleanup({ await emulator.introspectionOutage(false) }) {
            let client = try await SMTPClient.connect(to: Self.server(world.dovecot), logger: world.logs.logger("smtp"))
            let error = await smtpError {
                try await client.authenticate(mechanism: SASLXOAuth2(user: account, accessToken: signIn.grant.accessToken))
            }
            #expect(error?.kind == .authenticationFailed && error?.code == 454, "\(String(describing: error))")
            #expect(error?.code != 535)
            #expect(error?.enhancedStatusCode == EnhancedStatusCode(4, 7, 0))
            #expect(error?.isTransient == true && error?.isPermanent == false)
            await client.quit()
        }
    }
}

