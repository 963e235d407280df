import Foundation
import LocalMailServers
import Logging
import MailroomTestSupport
import SMTP
import Synchronization
import Testing

/// The SMTP receiver against a real, independent SMTP client: swaks (Debian package `swaks`), in the
/// clear and with STARTTLS (a certificate from a test CA, verified by swaks) and AUTH.
@Suite("SMTP receiver with swaks", .timeLimit(.minutes(2)))
struct SMTPReceiverSwaksTests {
    final class Inbox: Sendable {
        let messages = Mutex<[ReceivedMessage]>([])
    }

    static func receiver(_ inbox: Inbox) async throws -> SMTPReceiver {
        var logger = Logger(label: "smtp-receiver-swaks")
        logger.logLevel = .warning
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(host: "127.0.0.1", port: 0, hostname: "mx.mailroom.test"),
            acceptsRecipient: { $0.lowercased() == "support@example.com" },
            store: { message in inbox.messages.withLock { $0.append(message) } },
            logger: logger)
        try await receiver.start()
        return receiver
    }

    /// Runs swaks on its own thread (ProcessRunner blocks in waitpid) and returns its exit status and output.
    static func swaksStatus(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let output = try ProcessRunner.run(["swaks"] + arguments)
                    continuation.resume(returning: (0, output))
                } catch let failure as ProcessRunner.Failure {
                    continuation.resume(returning: (failure.status, failure.output))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// A message with dot-leading lines, a lone-dot-looking line, 8-bit text and a long line.
    static let message = Array((
        "From: Customer <customer@example.net>\r\n"
            + "To: support@example.com\r\n"
            + "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from swaks\r\n"
            + "Message-ID: <swaks-1@example.net>\r\n"
            + "MIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n"
            + "Content-Transfer-Encoding: 8bit\r\n"
            + "\r\n"
            + "Hello,\r\n"
            + ".a line starting with a dot\r\n"
            + "..two dots\r\n"
            + ".\r\n"
            + "Grüße aus Köln\r\n"
            + String(repeating: "long ", count: 300) + "\r\n"
            + "end\r\n"
    ).utf8)

    /// The wire form swaks must send with --no-data-fixup: dot-stuffed and terminated by us.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == 0x2E { out.append(0x2E) }
            out.append(byte)
            atLineStart = byte == 0x0A
        }
        return out + Array(".\r\n".utf8)
    }

    @Test("swaks to a support address: stored with the exact bytes", arguments: [false, true])
    func delivered(pipelining: Bool) async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let directory = try TestPaths.temporaryDirectory("swaks")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataFile = directory.appendingPathComponent("message.eml")
        try Data(Self.dotStuffed(Self.message)).write(to: dataFile)

        var arguments = [
            "--server", "127.0.0.1:\(receiver.port!)", "--helo", "swaks.test", "--from", "customer@example.net",
            "--to", "support@example.com", "--data", "@" + dataFile.path, "--no-data-fixup", "--timeout", "20",
        ]
        if pipelining { arguments.append("--pipeline") }
        let (status, output) = try await Self.swaksStatus(arguments)
        #expect(status == 0, "\(output)")
        #expect(output.contains("250 2.0.0 Stored"), "\(output)")
        if pipelining { #expect(output.contains("PIPELINING")) }

        let stored = inbox.messages.withLock { $0 }
        try #require(stored.count == 1, "\(output)")
        #expect(stored[0].data == Self.message)
        #expect(stored[0].envelopeFrom == "customer@example.net")
        #expect(stored[0].recipients == ["support@example.com"])
        #expect(stored[0].heloName == "swaks.test")
    }

    @Test func swaksWithItsOwnDataFixups() async throws {
        // Without --no-data-fixup swaks builds its own message and does its own dot-stuffing.
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let (status, output) = try await Self.swaksStatus([
            "--server", "127.0.0.1:\(receiver.port!)", "--from", "a@example.net", "--to", "Support@Example.com",
            "--header", "Subject: fixups", "--body", "first\n.dot line\nlast", "--timeout", "20",
        ])
        #expect(status == 0, "\(output)")
        let stored = try #require(inbox.messages.withLock { $0.first })
        let text = String(decoding: stored.data, as: UTF8.self)
        #expect(text.contains("Subject: fixups\r\n"))
        #expect(text.contains("\r\n.dot line\r\n"))
        #expect(!text.contains("\r\n..dot line"))
    }

    @Test func swaksToAnotherAddressFailsWith550() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let (status, output) = try await Self.swaksStatus([
            "--server", "127.0.0.1:\(receiver.port!)", "--from", "customer@example.net", "--to", "someone@elsewhere.example",
            "--timeout", "20",
        ])
        #expect(status != 0)
        #expect(output.contains("550 5.1.1 <someone@elsewhere.example>: no such support address here"), "\(output)")
        #expect(inbox.messages.withLock { $0.isEmpty })
    }

    // MARK: - STARTTLS and AUTH

    static let password = "Fwd-secret-7q!"

    /// A fresh test CA and a certificate it signed for localhost and 127.0.0.1.
    static func certificates() throws -> LoopbackCertificates {
        let directory = try TestPaths.temporaryDirectory("receiver-tls")
        return try LoopbackCertificates.make(in: directory.path, caName: "Mailroom Receiver Test CA")
    }

    /// A receiver that offers STARTTLS with `certificates` and needs AUTH as `forwarder`.
    static func secureReceiver(_ inbox: Inbox, certificates: LoopbackCertificates, logger: Logger) async throws -> SMTPReceiver {
        let policy = try SMTPReceiverPolicy(
            tls: try SMTPReceiverTLS(certificateFile: certificates.certificateFile, keyFile: certificates.keyFile),
            credentials: SMTPReceiverCredentials(username: "forwarder", password: Self.password))
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(host: "127.0.0.1", port: 0, hostname: "localhost", policy: policy),
            acceptsRecipient: { $0.lowercased() == "support@example.com" },
            store: { message in inbox.messages.withLock { $0.append(message) } },
            logger: logger)
        try await receiver.start()
        return receiver
    }

    @Test("swaks with STARTTLS (verifying the test CA's certificate) and AUTH: stored", arguments: ["PLAIN", "LOGIN"])
    func swaksOverSTARTTLSWithAUTH(mechanism: String) async throws {
        let inbox = Inbox()
        let logs = LogCapture()
        let certificates = try Self.certificates()
        let receiver = try await Self.secureReceiver(inbox, certificates: certificates, logger: logs.logger("smtp-receiver"))
        defer { Task { await receiver.stop() } }
        let (status, output) = try await Self.swaksStatus([
            "--server", "127.0.0.1:\(receiver.port!)", "--tls", "--tls-verify", "--tls-ca-path", certificates.caFile,
            "--auth", mechanism, "--auth-user", "forwarder", "--auth-password", Self.password,
            "--from", "customer@example.net", "--to", "support@example.com", "--header", "Subject: over TLS", "--body", "Encrypted.",
            "--timeout", "20",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("220 2.0.0 Ready to start TLS"), "\(output)")
        #expect(output.contains("235 2.7.0 Authentication successful"), "\(output)")
        #expect(output.contains("250 2.0.0 Stored"), "\(output)")
        let stored = try #require(inbox.messages.withLock { $0.first })
        #expect(stored.encrypted && stored.authenticatedUser == "forwarder")
        #expect(String(decoding: stored.data, as: UTF8.self).contains("Subject: over TLS\r\n"))
        #expect(logs.text.contains("SMTP AUTH succeeded"))
        #expect(!logs.text.contains(Self.password))
        #expect(!logs.text.contains(Data(Self.password.utf8).base64EncodedString()))
    }

    @Test func swaksWithoutSTARTTLSIsToldToUseItAndGetsNoAUTH() async throws {
        let inbox = Inbox()
        let receiver = try await Self.secureReceiver(inbox, certificates: try Self.certificates(), logger: Logger(label: "quiet"))
        defer { Task { await receiver.stop() } }
        let (status, output) = try await Self.swaksStatus([
            "--server", "127.0.0.1:\(receiver.port!)", "--from", "customer@example.net", "--to", "support@example.com", "--timeout", "20",
        ])
        #expect(status != 0)
        #expect(output.contains("250 STARTTLS") || output.contains("250-STARTTLS"), "\(output)")
        #expect(!output.contains("AUTH PLAIN"), "\(output)")
        #expect(output.contains("530 5.7.0 Must issue a STARTTLS command first"), "\(output)")
        #expect(inbox.messages.withLock { $0.isEmpty })
    }

    @Test func swaksWithAWrongPasswordGets535AndNothingIsStored() async throws {
        let inbox = Inbox()
        let logs = LogCapture()
        let certificates = try Self.certificates()
        let receiver = try await Self.secureReceiver(inbox, certificates: certificates, logger: logs.logger("smtp-receiver"))
        defer { Task { await receiver.stop() } }
        let wrong = "Not-the-password-3"
        let (status, output) = try await Self.swaksStatus([
            "--server", "127.0.0.1:\(receiver.port!)", "--tls", "--tls-verify", "--tls-ca-path", certificates.caFile,
            "--auth", "PLAIN", "--auth-user", "forwarder", "--auth-password", wrong,
            "--from", "customer@example.net", "--to", "support@example.com", "--timeout", "20",
        ])
        #expect(status != 0)
        #expect(output.contains("535 5.7.8 Authentication credentials invalid"), "\(output)")
        #expect(inbox.messages.withLock { $0.isEmpty })
        #expect(logs.text.contains("SMTP AUTH failed"))
        #expect(!logs.text.contains(wrong) && !logs.text.contains(Self.password))
    }

    @Test func mailroomsOwnClientDeliversOverSTARTTLSOnlyWhenItTrustsTheCertificate() async throws {
        let inbox = Inbox()
        let certificates = try Self.certificates()
        let receiver = try await Self.secureReceiver(inbox, certificates: certificates, logger: Logger(label: "quiet"))
        defer { Task { await receiver.stop() } }
        let logger = Logger(label: "receiver-client")

        let trusting = SMTPServer(host: "127.0.0.1", port: receiver.port!, security: .startTLS, trustedCertificatesPEMFile: certificates.caFile)
        let client = try await SMTPClient.connect(to: trusting, logger: logger)
        #expect(await client.extensions.authMechanisms.isSuperset(of: ["PLAIN", "LOGIN"]))
        try await client.login(username: "forwarder", password: Self.password)
        let result = try await client.send(Array("Subject: own client\r\n\r\nhi\r\n".utf8), from: "a@example.net", to: ["support@example.com"])
        #expect(result.reply.code == 250)
        await client.quit()
        #expect(inbox.messages.withLock { $0.first?.encrypted } == true)

        // Without the test CA the certificate is not trusted: what swaks verified is really the operator's.
        let untrusting = SMTPServer(host: "127.0.0.1", port: receiver.port!, security: .startTLS)
        await #expect(throws: SMTPError.self) { _ = try await SMTPClient.connect(to: untrusting, logger: logger) }
    }

    @Test func theSessionDiscardsPlaintextInjectedAfterSTARTTLSAndAsksForAUTH() throws {
        let certificates = try Self.certificates()
        let policy = try SMTPReceiverPolicy(
            tls: try SMTPReceiverTLS(certificateFile: certificates.certificateFile, keyFile: certificates.keyFile),
            credentials: SMTPReceiverCredentials(username: "forwarder", password: Self.password))
        var session = SMTPReceiverSession(hostname: "h", policy: policy)
        func say(_ line: String) -> [SMTPReceiverSession.Action] {
            session.feed(Array((line + "\r\n").utf8))
            var actions: [SMTPReceiverSession.Action] = []
            while let action = session.next() { actions.append(action) }
            return actions
        }
        func reply(_ line: String) -> String {
            guard case .reply(let reply)? = say(line).last else { return "no reply" }
            return "\(reply.code) " + reply.lines.joined(separator: "|")
        }
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

        let hello = reply("EHLO c")
        #expect(hello.contains("STARTTLS") && !hello.contains("AUTH"))
        #expect(reply("MAIL FROM:<a@b.example>") == "530 5.7.0 Must issue a STARTTLS command first")
        #expect(reply("AUTH PLAIN " + base64("\0forwarder\0" + Self.password)) == "538 5.7.11 Encryption required for requested authentication mechanism")
        // The injected MAIL rides in the same packet as STARTTLS, in the clear: it must vanish.
        #expect(say("STARTTLS\r\nMAIL FROM:<evil@example.net>") == [.reply(SMTPReply(code: 220, lines: ["2.0.0 Ready to start TLS"])), .startTLS])
        #expect(session.isEncrypted && session.bufferedByteCount == 0)
        #expect(reply("MAIL FROM:<a@b.example>") == "503 5.5.1 Send EHLO or HELO first")
        let secureHello = reply("EHLO c")
        #expect(secureHello.contains("AUTH PLAIN LOGIN") && !secureHello.contains("STARTTLS"))
        #expect(reply("STARTTLS") == "503 5.5.1 TLS already active")
        #expect(reply("MAIL FROM:<a@b.example>") == "530 5.7.0 Authentication required")
        #expect(say("AUTH PLAIN " + base64("\0forwarder\0wrong")) == [
            .notice(.authenticationFailed), .reply(SMTPReply(code: 535, lines: ["5.7.8 Authentication credentials invalid"])),
        ])
        #expect(reply("AUTH PLAIN " + base64("someone\0forwarder\0" + Self.password)) == "535 5.7.8 Authentication credentials invalid")
        #expect(reply("AUTH CRAM-MD5") == "504 5.5.4 Unrecognized authentication type")
        #expect(reply("AUTH LOGIN") == "334 VXNlcm5hbWU6")
        #expect(reply("*") == "501 5.0.0 Authentication cancelled")
        #expect(reply("AUTH LOGIN") == "334 VXNlcm5hbWU6")
        #expect(reply(base64("forwarder")) == "334 UGFzc3dvcmQ6")
        #expect(say(base64(Self.password)) == [
            .notice(.authenticated(username: "forwarder")), .reply(SMTPReply(code: 235, lines: ["2.7.0 Authentication successful"])),
        ])
        #expect(reply("AUTH PLAIN =") == "503 5.5.1 Already authenticated")
        #expect(reply("MAIL FROM:<a@b.example>") == "250 2.1.0 OK")
    }

    @Test func theThirdFailedAUTHEndsTheSession() throws {
        let certificates = try Self.certificates()
        let policy = try SMTPReceiverPolicy(
            tls: try SMTPReceiverTLS(certificateFile: certificates.certificateFile, keyFile: certificates.keyFile),
            credentials: SMTPReceiverCredentials(username: "forwarder", password: Self.password))
        var session = SMTPReceiverSession(hostname: "h", policy: policy)
        session.feed(Array("EHLO c\r\nSTARTTLS\r\n".utf8))
        while session.next() != nil {}
        let guess = "AUTH PLAIN " + Data("\0forwarder\0guess".utf8).base64EncodedString() + "\r\n"
        session.feed(Array(("EHLO c\r\n" + guess + guess + guess + guess).utf8))
        var codes: [Int] = []
        while let action = session.next() { if case .reply(let reply) = action { codes.append(reply.code) } }
        #expect(codes == [250, 535, 535, 421])
        #expect(session.isClosed)
    }

    @Test func unusableCertificatesAreRefusedAtStartWithTheFileNamed() throws {
        let one = try Self.certificates()
        let other = try Self.certificates()
        func message(_ certificate: String, _ key: String) -> String {
            do {
                _ = try SMTPReceiverTLS(certificateFile: certificate, keyFile: key)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(message(one.certificateFile, other.keyFile).contains("does not belong to its certificate"))
        #expect(message(one.keyFile, one.keyFile).contains("«\(one.keyFile)» holds no PEM certificate"))
        #expect(message(one.certificateFile, one.certificateFile).contains("holds no unencrypted PEM private key"))
        #expect(message(one.certificateFile, "/nonexistent/key.pem").contains("key file «/nonexistent/key.pem» cannot be read"))
        #expect(message(one.certificateFile, one.keyFile) == "accepted")
    }
}
