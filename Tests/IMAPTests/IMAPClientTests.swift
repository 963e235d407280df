import Foundation
import Logging
import MailroomTestSupport
import SASL
import Testing

@testable import IMAP

/// Client behaviour against a scripted server on loopback (no real IMAP server needed).
@Suite("IMAPClient against a fake server", .timeLimit(.minutes(1)))
struct IMAPClientTests {
    static let logs = LogCapture()
    static let logger = logs.logger("imap-test")

    static func server(_ fake: ScriptedLineServer, timeouts: IMAPTimeouts = .init(connect: .seconds(2), greeting: .seconds(2), command: .seconds(2), idleData: .seconds(2))) -> IMAPServer {
        IMAPServer(host: "127.0.0.1", port: fake.port, security: .none, timeouts: timeouts)
    }

    static let body = "Subject: hi\r\n\r\nHello {3}\r\n"

    /// A small but complete session: LOGIN command (no AUTH=PLAIN), SELECT, SEARCH, FETCH, STORE, EXPUNGE.
    static func sessionScript(_ line: String) -> [ScriptedLineServer.Action] {
        let (tag, rest) = splitTag(line)
        guard tag.hasPrefix("A"), !rest.isEmpty else { return [] }  // literal payload line
        let command = rest.uppercased()
        if command.hasPrefix("LOGIN") {
            return [.send("\(tag) OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in\r\n")]
        } else if command.hasPrefix("SELECT") {
            return [.send("* FLAGS (\\Seen \\Deleted)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 13] ok\r\n\(tag) OK [READ-WRITE] done\r\n")]
        } else if command.hasPrefix("EXAMINE") {
            return [.send("* 3 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n\(tag) OK [READ-ONLY] done\r\n")]
        } else if command.hasPrefix("UID SEARCH") {
            return [.send("* SEARCH 12 10\r\n* 4 EXISTS\r\n* SEARCH 11\r\n\(tag) OK done\r\n")]
        } else if command.hasPrefix("UID FETCH") {
            let b = Self.body
            return [.send(
                "* 1 FETCH (UID 10 RFC822.SIZE \(b.utf8.count) INTERNALDATE \"01-Jan-2025 00:00:00 +0000\" FLAGS (\\Seen) BODY[] {\(b.utf8.count)}\r\n\(b))\r\n"
                    + "* OK [ALERT] Disk almost full\r\n* 5 EXISTS\r\n* 2 FETCH (FLAGS (\\Seen))\r\n"
                    + "* 3 FETCH (UID 12 BODY[] {\(b.utf8.count)}\r\n\(b) FLAGS ())\r\n"
                    + "* 4 FETCH (UID 7 BODY[] {2}\r\nhi)\r\n"  // below the requested range → filtered
                    + "\(tag) OK Fetch completed\r\n")]
        } else if command.hasPrefix("UID STORE") || command.hasPrefix("EXPUNGE") || command.hasPrefix("NOOP") {
            return [.send("* 2 EXPUNGE\r\n\(tag) OK done\r\n")]
        } else if command.hasPrefix("LOGOUT") {
            return [.send("* BYE bye\r\n\(tag) OK done\r\n"), .close]
        } else if command.hasPrefix("CAPABILITY") {
            return [.send("* CAPABILITY IMAP4rev1\r\n\(tag) OK done\r\n")]
        }
        return [.send("\(tag) BAD unknown\r\n")]
    }

    @Test func fullSessionWithLoginCommand() async throws {
        let fake = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", script: Self.sessionScript)
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        #expect(await client.capabilities == ["IMAP4REV1", "LITERAL+"])
        try await client.login(username: "agent", password: "Pässwörd-42")
        #expect(await client.capabilities == ["IMAP4REV1", "IDLE", "MOVE"])
        let status = try await client.select("INBOX")
        #expect(status == MailboxStatus(uidValidity: 42, uidNext: 13, exists: 3, readOnly: false))
        let examined = try await client.select("Entwürfe", readOnly: true)
        #expect(examined.readOnly && examined.uidNext == nil)
        #expect(try await client.uidSearch("UID 10:*") == [10, 11, 12])

        var messages: [FetchedMessage] = []
        for try await message in client.uidFetch(UIDSet(UIDRange(from: 10))) { messages.append(message) }
        #expect(messages.map(\.uid) == [10, 12])
        #expect(messages[0].body == Array(Self.body.utf8) && messages[0].flags == ["\\Seen"] && messages[0].size == Self.body.utf8.count)
        #expect(messages[0].internalDate == Date(timeIntervalSince1970: 1_735_689_600))
        #expect(messages[1].flags == [])

        try await client.uidStore([10, 11, 12], addFlags: ["\\Seen", "\\Deleted"])
        await #expect { try await client.uidExpunge([10]) } throws: { ($0 as? IMAPError)?.kind == .unsupported }
        try await client.expunge()
        try await client.noop()
        await client.logout()

        let lines = fake.lines
        #expect(lines.contains("A1 LOGIN \"agent\" {13+}"))  // non-ASCII password → literal (LITERAL+)
        #expect(lines.contains("A3 EXAMINE \"Entw&APw-rfe\""))
        #expect(lines.contains("A5 UID FETCH 10:* (UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])"))
        #expect(lines.contains("A6 UID STORE 10:12 +FLAGS.SILENT (\\Seen \\Deleted)"))
        #expect(lines.last == "A9 LOGOUT")
        #expect(!Self.logs.text.contains("Pässwörd-42"))
        #expect(Self.logs.text.contains("Disk almost full"))
    }

    @Test func authenticatePlainWithAndWithoutSASLIR() async throws {
        let expected = Data("\0bench1\0secret".utf8).base64EncodedString()
        // With SASL-IR: one line.
        let withIR = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("AUTHENTICATE") { return [.send("\(tag) OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n")] }
            return [.send("\(tag) OK\r\n")]
        })
        let a = try await IMAPClient.connect(to: Self.server(withIR), logger: Self.logger)
        try await a.login(username: "bench1", password: "secret")
        #expect(await a.capabilities.contains("UIDPLUS"))
        #expect(withIR.lines.first == "A1 AUTHENTICATE PLAIN \(expected)")
        await a.close()

        // Without SASL-IR: wait for "+ ", then send; capabilities re-asked when not in the OK.
        let withoutIR = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", script: { line in
            let (tag, rest) = splitTag(line)
            if rest == "AUTHENTICATE PLAIN" { return [.send("+ \r\n")] }
            if line == expected { return [.send("A1 OK Logged in\r\n")] }
            if rest == "CAPABILITY" { return [.send("* CAPABILITY IMAP4rev1 UIDPLUS\r\n\(tag) OK\r\n")] }
            return [.send("\(tag) BAD what\r\n")]
        })
        let b = try await IMAPClient.connect(to: Self.server(withoutIR), logger: Self.logger)
        try await b.login(username: "bench1", password: "secret")
        #expect(withoutIR.lines == ["A1 AUTHENTICATE PLAIN", expected, "A2 CAPABILITY"])
        #expect(await b.capabilities.contains("UIDPLUS"))
        await b.close()
        #expect(!Self.logs.text.contains(expected))
    }

    @Test(arguments: [
        ("A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", ResponseCode?.some(.authenticationFailed), "Authentication failed."),
        ("A1 NO [UNAVAILABLE] Temporary authentication failure.\r\n", .some(.unavailable), "Temporary authentication failure."),
        ("A1 NO AUTHENTICATE failed.\r\n", nil, "AUTHENTICATE failed."),
    ])
    func authenticationFailureCarriesRFC5530Code(_ reply: String, _ code: ResponseCode?, _ text: String) async throws {
        let fake = try ScriptedLineServer.imap(script: { _ in [.send(reply)] })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        do {
            try await client.login(username: "u", password: "wrong-pw")
            Issue.record("login should fail")
        } catch let error as IMAPError {
            #expect(error.kind == .authenticationFailed && error.code == code && error.serverText == text)
            #expect(error.command == "AUTHENTICATE")
            #expect(!error.description.contains("wrong-pw"))
        }
        // The connection stays usable after a failed login.
        await client.close()
    }

    @Test func loginDisabledIsRefusedLocally() async throws {
        let fake = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n", script: { line in
            [.send("\(splitTag(line).tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect { try await client.login(username: "u", password: "p") } throws: { ($0 as? IMAPError)?.kind == .loginDisabled }
        #expect(fake.lines.isEmpty)
        await client.close()
    }

    /// XOAUTH2-style failure: error JSON arrives as a challenge, the mechanism answers, then the tagged NO.
    @Test func genericSASLAnswersErrorChallenge() async throws {
        struct FakeXOAuth2: SASLMechanism {
            var name: String { "XOAUTH2" }
            func initialResponse() -> [UInt8]? { Array("user=u\u{1}auth=Bearer tok\u{1}\u{1}".utf8) }
            func respond(to challenge: [UInt8]) throws -> [UInt8] { [] }
        }
        let fake = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n", script: { line in
            if line.hasPrefix("A1 AUTHENTICATE XOAUTH2 ") { return [.send("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n")] }
            if line.isEmpty { return [.send("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n")] }
            return [.send("\(splitTag(line).tag) BAD\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect { try await client.authenticate(mechanism: FakeXOAuth2()) } throws: {
            ($0 as? IMAPError)?.kind == .authenticationFailed && ($0 as? IMAPError)?.code == .authenticationFailed
        }
        #expect(fake.lines.count == 2 && fake.lines[1] == "")
        await client.close()
    }

    static let shortTimeouts = IMAPTimeouts(connect: .seconds(2), greeting: .milliseconds(300), command: .milliseconds(400), idleData: .milliseconds(400))

    @Test func partialFetchThenSilenceTimesOut() async throws {
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("UID FETCH") {
                return [.send("* 1 FETCH (UID 1 BODY[] {4}\r\nabcd)\r\n* 2 FETCH (UID 2 BODY[] {1000}\r\npartial"), .silence]
            }
            return [.send("\(tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake, timeouts: Self.shortTimeouts), logger: Self.logger)
        var received: [UInt32] = []
        let start = ContinuousClock.now
        await #expect {
            for try await message in client.uidFetch(.all) { received.append(message.uid) }
        } throws: { error in
            let error = error as? IMAPError
            return error?.kind == .timeout && error?.command == "UID FETCH"
        }
        #expect(received == [1])
        #expect(ContinuousClock.now - start < .seconds(5))
        // The connection is dead afterwards; later commands fail fast instead of hanging.
        await #expect { try await client.noop() } throws: { $0 is IMAPError }
        fake.stop()
    }

    /// FETCH responses that arrived together are taken from the connection together: the messages in hand go out
    /// in order, and a failure after them still ends the stream, after them.
    @Test func messagesReceivedTogetherComeOutInOrderBeforeAFailure() async throws {
        let fetches = (1...5).map { "* \($0) FETCH (UID \($0) BODY[] {4}\r\nm\($0)-x)\r\n" }.joined()
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("UID FETCH") {
                // Then bodies without their UIDs, which the client refuses as a protocol violation.
                let noUIDs = (6...20).map { "* \($0) FETCH (BODY[] {2}\r\nzz)\r\n" }.joined()
                return [.send(fetches + noUIDs), .silence]
            }
            return [.send("\(tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        var received: [String] = []
        await #expect {
            for try await message in client.uidFetch(.all) { received.append(String(decoding: message.body, as: UTF8.self)) }
        } throws: { ($0 as? IMAPError)?.kind == .protocolViolation }
        #expect(received == ["m1-x", "m2-x", "m3-x", "m4-x", "m5-x"])
        fake.stop()
    }

    /// A consumer that stops taking messages before a failure found among those taken ahead surfaces: the broken
    /// session is closed at once, so the next command is told the session ended.
    @Test func aFailureTakenAheadClosesTheSessionEvenIfNobodyAsksAgain() async throws {
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("UID FETCH") {
                let noUIDs = (2...20).map { "* \($0) FETCH (BODY[] {2}\r\nzz)\r\n" }.joined()
                return [.send("* 1 FETCH (UID 1 BODY[] {2}\r\nm1)\r\n" + noUIDs), .silence]
            }
            return [.send("\(tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        for try await message in client.uidFetch(.all) {
            #expect(message.uid == 1)
            break
        }
        // Left open, the session would still count the fetch as running and refuse every command after it.
        await #expect { try await client.noop() } throws: { ($0 as? IMAPError)?.kind == .connectionClosed }
        fake.stop()
    }

    /// Another command while the stream holds messages it took ahead: they, and the rest of the fetch, still come out,
    /// in order, once each.
    @Test func anotherCommandBetweenMessagesTakenTogether() async throws {
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("UID FETCH") {
                return [.send((1...6).map { "* \($0) FETCH (UID \($0) BODY[] {2}\r\nm\($0))\r\n" }.joined() + "\(tag) OK done\r\n")]
            }
            return [.send("\(tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        var received: [UInt32] = []
        for try await message in client.uidFetch(.all) {
            received.append(message.uid)
            if message.uid == 1 { try await client.noop() }
        }
        #expect(received == [1, 2, 3, 4, 5, 6])
        try await client.noop()
        fake.stop()
    }

    @Test func partialFetchThenCloseIsConnectionClosed() async throws {
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.hasPrefix("UID FETCH") { return [.send("* 1 FETCH (UID 1 BODY[] {1000}\r\npartial"), .close] }
            return [.send("\(tag) OK\r\n")]
        })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect {
            for try await _ in client.uidFetch([1]) {}
        } throws: { ($0 as? IMAPError)?.kind == .connectionClosed }
    }

    @Test func commandTimeoutAndGreetingTimeout() async throws {
        let silentServer = try ScriptedLineServer.imap(script: { _ in [.silence] })
        let client = try await IMAPClient.connect(to: Self.server(silentServer, timeouts: Self.shortTimeouts), logger: Self.logger)
        await #expect { try await client.select("INBOX") } throws: {
            ($0 as? IMAPError)?.kind == .timeout && ($0 as? IMAPError)?.command == "SELECT"
        }
        silentServer.stop()

        let noGreeting = try ScriptedLineServer.imap(greeting: nil, script: { _ in [] })
        await #expect { try await IMAPClient.connect(to: Self.server(noGreeting, timeouts: Self.shortTimeouts), logger: Self.logger) } throws: {
            ($0 as? IMAPError)?.kind == .timeout
        }
        noGreeting.stop()
    }

    @Test func byeAndHangups() async throws {
        let bye = try ScriptedLineServer.imap(greeting: "* BYE Too many connections\r\n", script: { _ in [] })
        await #expect { try await IMAPClient.connect(to: Self.server(bye), logger: Self.logger) } throws: {
            ($0 as? IMAPError)?.kind == .connectionClosed && ($0 as? IMAPError)?.serverText == "Too many connections"
        }

        let midCommand = try ScriptedLineServer.imap(script: { _ in [.send("* BYE Autologout; idle for too long\r\n"), .close] })
        let client = try await IMAPClient.connect(to: Self.server(midCommand), logger: Self.logger)
        await #expect { try await client.noop() } throws: { ($0 as? IMAPError)?.kind == .connectionClosed }

        let hangup = try ScriptedLineServer.imap(script: { _ in [.close] })
        let other = try await IMAPClient.connect(to: Self.server(hangup), logger: Self.logger)
        await #expect { try await other.uidSearch("ALL") } throws: { ($0 as? IMAPError)?.kind == .connectionClosed }

        await #expect { try await IMAPClient.connect(to: IMAPServer(host: "127.0.0.1", port: 1, security: .none), logger: Self.logger) } throws: {
            ($0 as? IMAPError)?.kind == .connectionFailed
        }
    }

    @Test func garbageFromServerIsProtocolViolation() async throws {
        let fake = try ScriptedLineServer.imap(script: { _ in [.send("this is not imap\r\n")] })
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect { try await client.noop() } throws: { ($0 as? IMAPError)?.kind == .protocolViolation }
    }

    @Test func tlsRefusesUntrustedCertificate() async throws {
        // A plaintext server on a TLS connection: the handshake fails → tlsFailed, never a hang.
        let fake = try ScriptedLineServer.imap(script: { _ in [] })
        var server = Self.server(fake, timeouts: Self.shortTimeouts)
        server.security = .tls
        await #expect { try await IMAPClient.connect(to: server, logger: Self.logger) } throws: {
            let kind = ($0 as? IMAPError)?.kind
            return kind == .tlsFailed || kind == .timeout
        }
        fake.stop()
    }

    @Test func starttlsRefusedByServer() async throws {
        let fake = try ScriptedLineServer.imap(script: { line in [.send("\(splitTag(line).tag) NO [PRIVACYREQUIRED] nope\r\n")] })
        var server = Self.server(fake)
        server.security = .starttls
        await #expect { try await IMAPClient.connect(to: server, logger: Self.logger) } throws: {
            ($0 as? IMAPError)?.kind == .tlsFailed && ($0 as? IMAPError)?.command == "STARTTLS"
        }
    }
}
