import Foundation
import Logging
import MailroomTestSupport
import SASL
import Testing

@testable import SMTP

/// Client behaviour against a scripted server on loopback (no real SMTP server needed).
@Suite("SMTPClient against a fake server", .timeLimit(.minutes(1)))
struct SMTPClientTests {
    static let logs = LogCapture()
    static let logger = logs.logger("smtp-test")

    static let password = "Pässwörd-42-s3cret"
    static let shortToken = "ya29.short-token-abcdef"
    static let longToken = "eyJ" + String(repeating: "LongTokenPart-", count: 180) + "end"  // > 2,500 bytes

    static let quick = SMTPTimeouts(
        connect: .seconds(2), greeting: .seconds(2), command: .seconds(2), mail: .seconds(2), rcpt: .seconds(2),
        dataInitiation: .seconds(2), dataBlock: .seconds(2), dataTermination: .seconds(2))

    static func server(_ fake: ScriptedLineServer, timeouts: SMTPTimeouts = quick, hostname: String? = "client.test") -> SMTPServer {
        SMTPServer(host: "127.0.0.1", port: fake.port, security: .none, timeouts: timeouts, localHostname: hostname)
    }

    static func connect(_ fake: ScriptedLineServer, timeouts: SMTPTimeouts = quick, hostname: String? = "client.test") async throws -> SMTPClient {
        try await SMTPClient.connect(to: Self.server(fake, timeouts: timeouts, hostname: hostname), logger: Self.logger)
    }

    static let ehlo: ScriptedLineServer.Action = .send(
        "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
    static let quit: [ScriptedLineServer.Action] = [.send("221 2.0.0 Bye\r\n"), .close]

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Runs `body` and returns the SMTPError it throws (records an issue if it throws nothing or something else).
    static func error(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> SMTPError? {
        do {
            try await body()
            Issue.record("expected an SMTPError", sourceLocation: sourceLocation)
        } catch let error as SMTPError {
            Self.assertNoSecrets(error, sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an SMTPError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func assertNoSecrets(_ error: SMTPError, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = "\(error) \(String(reflecting: error))"
        for secret in [Self.password, Self.shortToken, Self.longToken, Self.base64(Self.password)] {
            #expect(!text.contains(secret), "secret in error description: \(text)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains("LongTokenPart"), sourceLocation: sourceLocation)
    }

    // MARK: - Greeting and EHLO

    @Test func ehloCapabilitiesAndQuit() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], Self.quit])
        let client = try await Self.connect(fake)
        #expect(await client.greeting?.code == 220)
        let extensions = await client.extensions
        #expect(extensions.isExtended && extensions.serverName == "fake.test")
        #expect(extensions.authMechanisms == ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"])
        #expect(extensions.maxMessageSize == 35_882_577)
        #expect(await client.capabilities == ["PIPELINING", "SIZE", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"])
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "QUIT"])
    }

    @Test func multilineGreetingAndAddressLiteral() async throws {
        let fake = try ScriptedLineServer.smtp(greeting: "220-fake.test first\r\n220-second\r\n220 third\r\n", replies: [[Self.ehlo], Self.quit])
        let client = try await Self.connect(fake, hostname: nil)
        #expect(await client.greeting?.lines == ["fake.test first", "second", "third"])
        await client.quit()
        #expect(fake.lines.first == "EHLO [127.0.0.1]")
    }

    @Test(arguments: [500, 502])
    func heloFallback(code: Int) async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("\(code) 5.5.1 What?\r\n")], [.send("250 fake.test\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        let extensions = await client.extensions
        #expect(!extensions.isExtended && extensions.keywords.isEmpty && extensions.serverName == "fake.test")
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "HELO client.test", "QUIT"])
    }

    @Test func ehloRefusedOtherwiseFails() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("550 5.7.1 go away\r\n")]])
        let error = await Self.error { _ = try await Self.connect(fake) }
        #expect(error?.kind == .commandFailed && error?.command == "EHLO" && error?.code == 550)
        #expect(fake.lines == ["EHLO client.test"])
    }

    @Test func greeting421And554() async throws {
        let busy = try ScriptedLineServer.smtp(greeting: "421 4.3.2 Too busy\r\n", replies: [])
        let busyError = await Self.error { _ = try await Self.connect(busy) }
        #expect(busyError?.kind == .connectionClosed && busyError?.isTransient == true && busyError?.command == "greeting")
        let refused = try ScriptedLineServer.smtp(greeting: "554 No SMTP service here\r\n", replies: [])
        let refusedError = await Self.error { _ = try await Self.connect(refused) }
        #expect(refusedError?.kind == .commandFailed && refusedError?.isPermanent == true)
    }

    @Test func startTLSNotOfferedOrRefused() async throws {
        let none = try ScriptedLineServer.smtp(replies: [[Self.ehlo]])
        var server = Self.server(none)
        server.security = .startTLS
        let notOffered = await Self.error { _ = try await SMTPClient.connect(to: server, logger: Self.logger) }
        #expect(notOffered?.kind == .tlsFailed && notOffered?.command == "STARTTLS")

        let refusing = try ScriptedLineServer.smtp(replies: [[.send("250-fake.test\r\n250 STARTTLS\r\n")], [.send("454 4.7.0 TLS not available\r\n")]])
        server.port = refusing.port
        let refused = await Self.error { _ = try await SMTPClient.connect(to: server, logger: Self.logger) }
        #expect(refused?.kind == .tlsFailed && refused?.code == 454)
        #expect(refusing.lines == ["EHLO client.test", "STARTTLS"])
    }

    @Test func invalidLocalHostnameIsRefusedBeforeConnecting() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [])
        let error = await Self.error { _ = try await Self.connect(fake, hostname: "evil\r\nMAIL FROM:<x>") }
        #expect(error?.kind == .unsupported)
    }

    // MARK: - AUTH

    @Test func authPlainWithInitialResponse() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("235 2.7.0 Authentication successful\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        try await client.login(username: "agent@example.com", password: Self.password)
        #expect(await client.isAuthenticated)
        await client.quit()
        let expected = Data("\0agent@example.com\0\(Self.password)".utf8).base64EncodedString()
        #expect(fake.lines == ["EHLO client.test", "AUTH PLAIN \(expected)", "QUIT"])
        #expect(!Self.logs.text.contains(expected) && !Self.logs.text.contains(Self.password))
    }

    @Test func loginMechanismWhenPlainIsNotOffered() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [
            [.send("250-fake.test\r\n250 AUTH LOGIN\r\n")],
            [.send("334 VXNlcm5hbWU6\r\n")],
            [.send("334 UGFzc3dvcmQ6\r\n")],
            [.send("235 2.7.0 ok\r\n")],
            Self.quit,
        ])
        let client = try await Self.connect(fake)
        try await client.login(username: "agent", password: Self.password)
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "AUTH LOGIN", Self.base64("agent"), Self.base64(Self.password), "QUIT"])
    }

    @Test func xoauth2ShortTokenOnTheAuthLine() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("235 2.7.0 Accepted\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        try await client.authenticate(mechanism: SASLXOAuth2(user: "help@example.com", accessToken: Self.shortToken))
        await client.quit()
        let initial = Self.base64("user=help@example.com\u{01}auth=Bearer \(Self.shortToken)\u{01}\u{01}")
        #expect(fake.lines == ["EHLO client.test", "AUTH XOAUTH2 \(initial)", "QUIT"])
    }

    @Test func xoauth2LongTokenWaitsForTheEmptyChallenge() async throws {
        #expect(Self.longToken.utf8.count > 2_500)
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("334 \r\n")], [.send("235 2.7.0 Accepted\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        try await client.authenticate(mechanism: SASLXOAuth2(user: "help@example.com", accessToken: Self.longToken))
        #expect(await client.isAuthenticated)
        await client.quit()
        let initial = Self.base64("user=help@example.com\u{01}auth=Bearer \(Self.longToken)\u{01}\u{01}")
        #expect(fake.lines == ["EHLO client.test", "AUTH XOAUTH2", initial, "QUIT"])
        // The exact bytes on the wire: nothing of the token on the AUTH line, every line CRLF-terminated.
        let expected = "EHLO client.test\r\nAUTH XOAUTH2\r\n\(initial)\r\nQUIT\r\n"
        #expect(fake.received == Array(expected.utf8))
        #expect(!Self.logs.text.contains("LongTokenPart"))
    }

    @Test func authLineLimitIs512OctetsIncludingCRLF() async throws {
        // "AUTH PLAIN " (11) + base64 + CRLF (2) = 512 exactly → still on the line; one more octet → not.
        func line(forPasswordLength length: Int) async throws -> [String] {
            let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("334 \r\n")], [.send("235 ok\r\n")], Self.quit])
            let client = try await Self.connect(fake)
            try await client.authenticate(mechanism: SASLPlain(authenticationIdentity: "u", password: String(repeating: "p", count: length)))
            await client.quit()
            return fake.lines
        }
        // PLAIN sends "\0u\0" + password: 372 bytes → 496 base64 characters → 509 octets with "AUTH PLAIN " and CRLF.
        let fits = try await line(forPasswordLength: 369)
        #expect(fits[1].hasPrefix("AUTH PLAIN ") && fits[1].count == 11 + 496)
        // 373 bytes → 500 characters → 513 octets: one too many.
        let tooLong = try await line(forPasswordLength: 370)
        #expect(tooLong[1] == "AUTH PLAIN" && tooLong[2].count == 500)
    }

    @Test func xoauth2FailureExchange() async throws {
        let challenge = Self.base64(#"{"status":"401","schemes":"bearer","scope":"mail"}"#)
        let fake = try ScriptedLineServer.smtp(replies: [
            [Self.ehlo],
            [.send("334 \(challenge)\r\n")],
            [.send("535 5.7.8 Error: authentication failed: Invalid token\r\n")],
            [.send("250 2.0.0 Ok\r\n")],
            Self.quit,
        ])
        let client = try await Self.connect(fake)
        let error = await Self.error {
            try await client.authenticate(mechanism: SASLXOAuth2(user: "help@example.com", accessToken: Self.shortToken))
        }
        #expect(error?.kind == .authenticationFailed && error?.command == "AUTH")
        #expect(error?.code == 535 && error?.enhancedStatusCode == EnhancedStatusCode(5, 7, 8))
        #expect(error?.isPermanent == true && error?.isTransient == false)
        #expect(error?.saslDetail == "status 401, schemes bearer, scope mail")
        #expect(error.map { "\($0)".contains("status 401, schemes bearer, scope mail") } == true)
        // The session survives a refused AUTH.
        try await client.noop()
        #expect(await !client.isAuthenticated)
        await client.quit()
        #expect(fake.lines.count == 5 && fake.lines[2] == "" && fake.lines[3] == "NOOP")
    }

    @Test func oauthBearerFailureIsAnsweredWithControlA() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [
            [Self.ehlo], [.send("334 \(Self.base64(#"{"status":"invalid_token"}"#))\r\n")], [.send("535 5.7.8 Error: authentication failed\r\n")],
        ])
        let client = try await Self.connect(fake)
        let error = await Self.error {
            try await client.authenticate(mechanism: SASLOAuthBearer(user: "help@example.com", accessToken: Self.shortToken, host: "fake.test", port: 587))
        }
        #expect(error?.saslDetail == "status invalid_token")
        #expect(fake.lines[2] == "AQ==")
    }

    @Test func temporaryFailure454() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("454 4.7.0 Temporary authentication failure: Connection refused\r\n")]])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.login(username: "agent", password: Self.password) }
        #expect(error?.kind == .authenticationFailed && error?.code == 454)
        #expect(error?.enhancedStatusCode == EnhancedStatusCode(4, 7, 0))
        #expect(error?.isTransient == true && error?.isPermanent == false)
        #expect(error?.saslDetail == nil)
    }

    @Test func mechanismTooWeak534() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("534-5.7.9 Application-specific password required.\r\n534 5.7.9 Learn more at https://support.example/\r\n")]])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.login(username: "agent", password: Self.password) }
        #expect(error?.kind == .authenticationFailed && error?.code == 534 && error?.isPermanent == true)
        #expect(error?.enhancedStatusCode?.description == "5.7.9")
        #expect(error?.reply?.lines.count == 2)
    }

    @Test func mechanismThatThrowsCancelsWithStar() async throws {
        // PLAIN does not expect a non-empty challenge: the client cancels with "*".
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("334 \(Self.base64("what?"))\r\n")], [.send("501 5.7.0 Authentication aborted\r\n")]])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.login(username: "agent", password: Self.password) }
        #expect(error?.kind == .authenticationFailed && error?.code == 501)
        #expect(error?.detail?.contains("cancelled") == true)
        #expect(fake.lines.last == "*")
    }

    @Test func mechanismNotOfferedSendsNothing() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("250-fake.test\r\n250 AUTH PLAIN\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.authenticate(mechanism: SASLXOAuth2(user: "u", accessToken: Self.shortToken)) }
        #expect(error?.kind == .unsupported)
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "QUIT"])
    }

    @Test func noAuthExtensionAtAll() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("250 fake.test\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.login(username: "u", password: Self.password) }
        #expect(error?.kind == .unsupported && error?.detail?.contains("no AUTH") == true)
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "QUIT"])
    }

    // MARK: - Hostile and broken servers

    @Test func hangUpInTheMiddleOfAReply() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("250-fake.test\r\n250-PIPELINING\r\n250-SI"), .close]])
        let error = await Self.error { _ = try await Self.connect(fake) }
        #expect(error?.kind == .connectionClosed && error?.command == "EHLO")
    }

    @Test func hangUpDuringAuth() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.close]])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.login(username: "agent", password: Self.password) }
        #expect(error?.kind == .connectionClosed && error?.command == "AUTH")
    }

    @Test func silentServerTimesOut() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.silence]])
        let timeouts = SMTPTimeouts(connect: .seconds(2), greeting: .seconds(2), command: .milliseconds(300))
        let client = try await Self.connect(fake, timeouts: timeouts)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await Self.error { try await client.login(username: "agent", password: Self.password) }
        #expect(error?.kind == .timeout && error?.command == "AUTH")
        #expect(clock.now - started < .seconds(2))
        // The connection is gone afterwards.
        let after = await Self.error { try await client.noop() }
        #expect(after?.kind == .timeout || after?.kind == .connectionClosed)
    }

    @Test func silentGreetingTimesOut() async throws {
        let fake = try ScriptedLineServer.smtp(greeting: nil, replies: [])
        let timeouts = SMTPTimeouts(connect: .seconds(2), greeting: .milliseconds(300))
        let error = await Self.error { _ = try await Self.connect(fake, timeouts: timeouts) }
        #expect(error?.kind == .timeout && error?.command == "greeting")
    }

    @Test func overlongReplyLine() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("250-fake.test\r\n250-" + String(repeating: "X", count: 9000) + "\r\n250 OK\r\n")]])
        let error = await Self.error { _ = try await Self.connect(fake) }
        #expect(error?.kind == .lineTooLong && error?.command == "EHLO")
    }

    @Test func garbageGreeting() async throws {
        let fake = try ScriptedLineServer.smtp(greeting: "* OK IMAP4rev1 ready\r\n", replies: [])
        let error = await Self.error { _ = try await Self.connect(fake) }
        #expect(error?.kind == .protocolViolation)
    }

    @Test func serverClosing421MidSession() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[Self.ehlo], [.send("421 4.4.2 Timeout, closing\r\n"), .close]])
        let client = try await Self.connect(fake)
        let error = await Self.error { try await client.noop() }
        #expect(error?.kind == .connectionClosed && error?.code == 421 && error?.isTransient == true)
    }

    // MARK: - Mail transaction

    @Test func sendWithParametersDotStuffingAndRecipientResults() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [
            [Self.ehlo],
            [.send("250 2.1.0 Ok\r\n")],
            [.send("250 2.1.5 Ok\r\n")],
            [.send("550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n")],
            [.send("354 End data with <CR><LF>.<CR><LF>\r\n")],
            [.send("250 2.0.0 Ok: queued as ABC123\r\n")],
            Self.quit,
        ])
        let client = try await Self.connect(fake)
        let message = Array("From: help@example.com\r\nSubject: Grüße\r\n\r\nHello\r\n.hidden dot\r\n.\r\nend\n".utf8)
        let result = try await client.send(message, from: "help@example.com", to: ["customer@example.com", "nobody@example.com"])
        await client.quit()
        #expect(result.accepted == ["customer@example.com"])
        #expect(result.rejected.map(\.reply.code) == [550])
        #expect(result.reply.message == "Ok: queued as ABC123")
        #expect(fake.lines[1] == "MAIL FROM:<help@example.com> SIZE=\(message.count) BODY=8BITMIME")
        #expect(Array(fake.lines[2...4]) == ["RCPT TO:<customer@example.com>", "RCPT TO:<nobody@example.com>", "DATA"])
        #expect(fake.dataLines == ["From: help@example.com", "Subject: Grüße", "", "Hello", "..hidden dot", "..", "end"])
        #expect(fake.lines[5] == ".")
    }

    @Test func allRecipientsRejectedResetsAndThrows() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [
            [Self.ehlo], [.send("250 Ok\r\n")], [.send("550 5.1.1 no\r\n")], [.send("450 4.2.0 greylisted\r\n")], [.send("250 Ok\r\n")],
        ])
        let client = try await Self.connect(fake)
        let error = await Self.error { _ = try await client.send(Array("x\r\n".utf8), from: "", to: ["a@example.com", "b@example.com"]) }
        #expect(error?.kind == .commandFailed && error?.command == "RCPT" && error?.code == 450 && error?.isTransient == true)
        #expect(fake.lines.last == "RSET")
        #expect(fake.lines[1] == "MAIL FROM:<> SIZE=3")
    }

    @Test func sendRefusesLocallyWhatTheServerCannotTake() async throws {
        let fake = try ScriptedLineServer.smtp(replies: [[.send("250-fake.test\r\n250 SIZE 100\r\n")], Self.quit])
        let client = try await Self.connect(fake)
        let tooBig = await Self.error { _ = try await client.send([UInt8](repeating: 0x41, count: 101), from: "a@x", to: ["b@x"]) }
        #expect(tooBig?.kind == .messageTooLarge)
        let eightBit = await Self.error { _ = try await client.send(Array("Grüße".utf8), from: "a@x", to: ["b@x"]) }
        #expect(eightBit?.kind == .unsupported)
        let utf8Address = await Self.error { _ = try await client.send(Array("hi".utf8), from: "a@x", to: ["jürgen@x"]) }
        #expect(utf8Address?.kind == .unsupported)
        let injection = await Self.error { _ = try await client.send(Array("hi".utf8), from: "a@x>\r\nRCPT TO:<evil@x", to: ["b@x"]) }
        #expect(injection?.kind == .unsupported)
        await client.quit()
        #expect(fake.lines == ["EHLO client.test", "QUIT"])
    }

    @Test func errorDescriptionsNeverCarrySecrets() {
        let error = SMTPError(.authenticationFailed, reply: SMTPReply(code: 535, lines: ["5.7.8 Error: authentication failed"]), command: "AUTH",
                              saslDetail: "status 401, schemes bearer, scope mail")
        #expect("\(error)" == "SMTP authenticationFailed (AUTH): 535 5.7.8 Error: authentication failed [SASL: status 401, schemes bearer, scope mail]")
        var xoauth = SASLXOAuth2(user: "u", accessToken: Self.shortToken)
        _ = xoauth.initialResponse()
        // A server that echoes the token back in its error challenge does not get it into our errors.
        _ = try? xoauth.respond(to: Array(#"{"status":"401","scope":"\#(Self.shortToken)"}"#.utf8))
        #expect(xoauth.failureDetail == "status 401, scope <redacted>")
        #expect(SASLPlain(authenticationIdentity: "u", password: Self.password).failureDetail == nil)
    }
}
