import Foundation
import Logging
import Synchronization
import Testing

@testable import SMTP

#if canImport(Glibc)
import Glibc
#endif

/// The SMTP receiver on loopback: Mailroom's own client for the happy paths, raw sockets for abuse.
@Suite("SMTPReceiver", .timeLimit(.minutes(1)))
struct SMTPReceiverTests {
    /// Stored messages, and switches for the callbacks.
    final class Inbox: Sendable {
        private let state = Mutex<(messages: [ReceivedMessage], failing: Bool)>(([], false))
        var messages: [ReceivedMessage] { self.state.withLock { $0.messages } }
        func failStores(_ fail: Bool) { self.state.withLock { $0.failing = fail } }
        func store(_ message: ReceivedMessage) throws {
            try self.state.withLock { state in
                if state.failing { throw CancellationError() }
                state.messages.append(message)
            }
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "smtp-receiver-test")
        logger.logLevel = .error
        return logger
    }()

    static let supportAddresses: Set<String> = ["support@example.com", "help@example.com"]

    static func receiver(
        _ inbox: Inbox,
        limits: SMTPReceiverLimits = SMTPReceiverLimits(maxMessageSize: 64 << 10),
        policy: SMTPReceiverPolicy = .open,
        spoolDirectory: String = FileManager.default.temporaryDirectory.path
    ) async throws -> SMTPReceiver {
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(
                host: "127.0.0.1", port: 0, hostname: "mx.mailroom.test", limits: limits, policy: policy, spoolDirectory: spoolDirectory),
            acceptsRecipient: { Self.supportAddresses.contains($0.lowercased()) },
            store: { try inbox.store($0) }, logger: Self.logger)
        try await receiver.start()
        return receiver
    }

    static func client(_ receiver: SMTPReceiver) async throws -> SMTPClient {
        let timeouts = SMTPTimeouts(
            connect: .seconds(5), greeting: .seconds(5), command: .seconds(5), mail: .seconds(5), rcpt: .seconds(5),
            dataInitiation: .seconds(5), dataBlock: .seconds(5), dataTermination: .seconds(5))
        let server = SMTPServer(host: "127.0.0.1", port: receiver.port!, security: .none, timeouts: timeouts, localHostname: "client.test")
        return try await SMTPClient.connect(to: server, logger: Logger(label: "receiver-test"))
    }

    static let message = Array("""
        From: Customer <customer@example.net>\r
        To: support@example.com\r
        Subject: Help\r
        Message-ID: <m1@example.net>\r
        \r
        Line one.\r
        .A line that starts with a dot\r
        ..two dots\r
        .\r
        Grüße, 8-bit.
        """.utf8)

    // MARK: - With Mailroom's client

    @Test func clientDeliversAndTheExactBytesAreStoredBefore250() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        #expect(receiver.port != nil && receiver.port != 0)

        let client = try await Self.client(receiver)
        #expect(await client.greeting?.lines == ["mx.mailroom.test Mailroom ESMTP"])
        let extensions = await client.extensions
        #expect(extensions.maxMessageSize == 64 << 10)
        #expect(extensions.eightBitMIME && extensions.smtpUTF8 && extensions.pipelining && extensions.enhancedStatusCodes)
        #expect(!extensions.startTLS && extensions.authMechanisms.isEmpty)

        let result = try await client.send(Self.message, from: "customer@example.net", to: ["support@example.com"])
        #expect(result.reply.code == 250)
        #expect(result.reply.enhancedStatusCode == EnhancedStatusCode(2, 0, 0))
        #expect(result.reply.message == "Stored")
        let stored = try #require(inbox.messages.first)
        #expect(stored.data == Self.message + Array("\r\n".utf8))
        #expect(stored.envelopeFrom == "customer@example.net")
        #expect(stored.recipients == ["support@example.com"])
        #expect(stored.remoteAddress == "127.0.0.1")
        #expect(stored.heloName == "client.test")

        // A second transaction on the same session, from the null sender.
        _ = try await client.send(Array("Subject: bounce\r\n\r\nx\r\n".utf8), from: "", to: ["help@example.com"])
        #expect(inbox.messages.count == 2)
        #expect(inbox.messages.last?.envelopeFrom == "")
        await client.quit()
    }

    @Test func unknownRecipientsAreRefusedAndNeverRelayed() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let client = try await Self.client(receiver)

        let result = try await client.send(Self.message, from: "a@example.net", to: ["someone@elsewhere.example", "support@example.com"])
        #expect(result.accepted == ["support@example.com"])
        let refusal = try #require(result.rejected.first?.reply)
        #expect(refusal.code == 550)
        #expect(refusal.lines == ["5.1.1 <someone@elsewhere.example>: no such support address here"])
        #expect(inbox.messages.map(\.recipients) == [["support@example.com"]])

        do {
            _ = try await client.send(Self.message, from: "a@example.net", to: ["victim@gmail.example"])
            Issue.record("relaying must fail")
        } catch {
            #expect(error.reply?.code == 550)
            #expect(error.isPermanent)
        }
        #expect(inbox.messages.count == 1)
        await client.quit()
    }

    @Test func aFailingStoreAnswers451SoTheSenderRetries() async throws {
        let inbox = Inbox()
        inbox.failStores(true)
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let client = try await Self.client(receiver)
        do {
            _ = try await client.send(Self.message, from: "a@example.net", to: ["support@example.com"])
            Issue.record("expected 451")
        } catch {
            #expect(error.reply?.code == 451)
            #expect(error.reply?.lines == ["4.3.0 Try again later"])
            #expect(error.isTransient)
        }
        // The retry goes through once storage is back.
        inbox.failStores(false)
        _ = try await client.send(Self.message, from: "a@example.net", to: ["support@example.com"])
        #expect(inbox.messages.count == 1)
        await client.quit()
    }

    @Test func runEndsOnCancellation() async throws {
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(port: 0), acceptsRecipient: { _ in true }, store: { _ in }, logger: Self.logger)
        let task = Task { try await receiver.run() }
        var port: Int?
        for _ in 0..<200 where port == nil {
            try await Task.sleep(for: .milliseconds(10))
            port = receiver.port
        }
        let bound = try #require(port)
        let raw = try RawSMTP(port: bound)
        #expect(try await raw.reply().hasPrefix("220 localhost Mailroom ESMTP"))
        task.cancel()
        try await task.value
        #expect(receiver.port == nil)
        #expect(try await raw.isClosed())
    }

    // MARK: - Raw protocol

    @Test func commandsAndSequenceErrors() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        #expect(try await raw.reply() == "220 mx.mailroom.test Mailroom ESMTP")
        #expect(try await raw.command("MAIL FROM:<a@example.net>").hasPrefix("503 5.5.1"))
        #expect(try await raw.command("HELO client.test") == "250 mx.mailroom.test")
        #expect(try await raw.command("MAIL FROM:<a@example.net> SIZE=10").hasPrefix("555 "))  // no parameters after HELO
        #expect(try await raw.command("RCPT TO:<support@example.com>").hasPrefix("503 5.5.1"))
        #expect(try await raw.command("DATA").hasPrefix("503 5.5.1"))
        #expect(try await raw.command("EHLO client.test").hasPrefix("250-mx.mailroom.test"))
        #expect(try await raw.command("MAIL FROM:<a@example.net>") == "250 2.1.0 OK")
        #expect(try await raw.command("MAIL FROM:<a@example.net>").hasPrefix("503 5.5.1"))
        #expect(try await raw.command("DATA") == "554 5.5.1 No valid recipients")
        #expect(try await raw.command("RCPT TO:support@example.com").hasPrefix("501 5.5.4"))
        #expect(try await raw.command("RCPT TO:<süpport@example.com>").hasPrefix("553 5.6.7"))
        #expect(try await raw.command("RSET") == "250 2.0.0 OK")
        #expect(try await raw.command("NOOP") == "250 2.0.0 OK")
        #expect(try await raw.command("AUTH PLAIN AGFAYg==").hasPrefix("502 "))
        #expect(try await raw.command("STARTTLS").hasPrefix("502 "))
        #expect(try await raw.command("GET / HTTP/1.1").hasPrefix("502 "))
        #expect(try await raw.command("QUIT") == "221 2.0.0 mx.mailroom.test closing connection")
        #expect(try await raw.isClosed())
        #expect(inbox.messages.isEmpty)
    }

    @Test func bareLFInACommandIsRefusedAndInDataEndsTheSession() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        try raw.write("EHLO client.test\n")
        #expect(try await raw.reply().hasPrefix("500 5.5.2"))
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        #expect(try await raw.command("DATA").hasPrefix("354"))
        // The SMTP smuggling shape: LF.LF must not end the data, and a second message must not sneak in.
        try raw.write("Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@example.net>\r\n")
        #expect(try await raw.reply().hasPrefix("521 5.5.2"))
        #expect(try await raw.isClosed())
        #expect(inbox.messages.isEmpty)
    }

    @Test func overLongLinesGet500() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        // A 600-byte command, then one of 100 KB without a line end: neither is buffered whole.
        #expect(try await raw.command("NOOP " + String(repeating: "x", count: 600)) == "500 5.5.6 Line too long")
        try raw.write(String(repeating: "y", count: 100_000))
        #expect(try await raw.reply() == "500 5.5.6 Line too long")
        try raw.write("\r\n")
        #expect(try await raw.command("NOOP") == "250 2.0.0 OK")

        // A message line of 10,000 bytes (limit 8 KiB): the message is refused at its end, the session goes on.
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write("Subject: long\r\n\r\n" + String(repeating: "z", count: 10_000) + "\r\n.\r\n")
        #expect(try await raw.reply() == "500 5.5.6 Line too long")
        #expect(try await raw.command("NOOP") == "250 2.0.0 OK")
        #expect(inbox.messages.isEmpty)

        // 1,500 bytes is over RFC 5321's 1,000 but within the lenient limit.
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write("Subject: long\r\n\r\n" + String(repeating: "z", count: 1_500) + "\r\n.\r\n")
        #expect(try await raw.reply() == "250 2.0.0 Stored")
        #expect(inbox.messages.count == 1)
    }

    @Test func messagesOverTheSizeCapAreRefused() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, limits: SMTPReceiverLimits(maxMessageSize: 10_000))
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        #expect(try await raw.command("EHLO client.test").contains("250-SIZE 10000"))
        #expect(try await raw.command("MAIL FROM:<a@example.net> SIZE=10001") == "552 5.3.4 Message size exceeds fixed maximum message size")
        #expect(try await raw.command("MAIL FROM:<a@example.net> SIZE=9000 BODY=8BITMIME") == "250 2.1.0 OK")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        let line = String(repeating: "a", count: 98) + "\r\n"
        try raw.write("Subject: big\r\n\r\n" + String(repeating: line, count: 150) + ".\r\n")  // ~15 KB
        #expect(try await raw.reply() == "552 5.3.4 Message size exceeds fixed maximum message size")
        #expect(try await raw.command("NOOP") == "250 2.0.0 OK")
        #expect(inbox.messages.isEmpty)

        // Exactly at the cap is fine.
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write(String(repeating: line, count: 100) + ".\r\n")
        #expect(try await raw.reply() == "250 2.0.0 Stored")
        #expect(inbox.messages.first?.data.count == 10_000)

        // Data that never ends is cut off.
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write(String(repeating: line, count: 250))
        #expect(try await raw.reply() == "552 5.3.4 Message too big; closing connection")
        #expect(try await raw.isClosed())
    }

    @Test func theHundredAndFirstRecipientGets452() async throws {
        let inbox = Inbox()
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(port: 0, hostname: "mx.mailroom.test"),
            acceptsRecipient: { $0.hasSuffix("@example.com") }, store: { try inbox.store($0) }, logger: Self.logger)
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        // Pipelined: all 101 RCPTs in one write; the replies come back in order.
        try raw.write((1...101).map { "RCPT TO:<r\($0)@example.com>\r\n" }.joined())
        for _ in 1...100 { #expect(try await raw.reply() == "250 2.1.5 OK") }
        #expect(try await raw.reply() == "452 4.5.3 Too many recipients")
        #expect(try await raw.command("DATA").hasPrefix("354"))
        try raw.write("Subject: many\r\n\r\nx\r\n.\r\n")
        #expect(try await raw.reply() == "250 2.0.0 Stored")
        #expect(inbox.messages.first?.recipients.count == 100)
    }

    @Test func pipelinedTransaction() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        try raw.write("EHLO client.test\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<Support@Example.com>\r\nDATA\r\n")
        #expect(try await raw.reply().contains("250 ENHANCEDSTATUSCODES"))
        #expect(try await raw.reply() == "250 2.1.0 OK")
        #expect(try await raw.reply() == "550 5.1.1 <nobody@example.com>: no such support address here")
        #expect(try await raw.reply() == "250 2.1.5 OK")
        #expect(try await raw.reply().hasPrefix("354"))
        try raw.write("Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        #expect(try await raw.reply() == "250 2.0.0 Stored")
        #expect(try await raw.reply().hasPrefix("221"))
        #expect(inbox.messages.first?.data == Array("Subject: p\r\n\r\nbody\r\n".utf8))
        #expect(inbox.messages.first?.recipients == ["Support@Example.com"])
    }

    @Test func connectionsOverTheCapGet421() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, limits: SMTPReceiverLimits(maxConnections: 1))
        defer { Task { await receiver.stop() } }
        let first = try RawSMTP(port: receiver.port!)
        #expect(try await first.reply().hasPrefix("220"))
        let second = try RawSMTP(port: receiver.port!)
        #expect(try await second.reply().hasPrefix("421 4.3.2"))
        #expect(try await second.isClosed())
        #expect(try await first.command("QUIT").hasPrefix("221"))
        #expect(try await first.isClosed())
        // The slot is free again.
        var greeting = ""
        for _ in 0..<50 {
            let third = try RawSMTP(port: receiver.port!)
            greeting = try await third.reply()
            if greeting.hasPrefix("220") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(greeting.hasPrefix("220"))
    }

    @Test func tooManyErrorsEndTheSession() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        for _ in 0..<20 { #expect(try await raw.command("XYZZY").hasPrefix("502")) }
        #expect(try await raw.command("XYZZY").hasPrefix("421 4.7.0"))
        #expect(try await raw.isClosed())
    }

    // MARK: - Slow senders, many connections, allow list, spooling

    /// Sends `text` a byte every 150 ms — far more often than any idle timer would mind — until the
    /// server answers; returns that answer.
    static func trickle(_ text: String, to raw: RawSMTP) async throws -> String {
        for byte in text.utf8 {
            do { try raw.write(bytes: [byte]) } catch { break }
            if let reply = try? await raw.reply(timeout: .milliseconds(150)) { return reply }
        }
        return try await raw.reply()
    }

    /// The receiver ended the session: it let go of the connection and answers nothing more. (Not "the
    /// client saw FIN": a child process spawned meanwhile by another test in this process inherits the
    /// accepted socket — NIO does not accept with SOCK_CLOEXEC — and holds the connection open.)
    static func expectCutOff(_ raw: RawSMTP, by receiver: SMTPReceiver) async throws {
        for _ in 0..<500 where receiver.openConnectionCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(receiver.openConnectionCount == 0)
        try? raw.write("NOOP\r\n")
        #expect((try? await raw.reply(timeout: .milliseconds(500))) == nil)
    }

    @Test func aSenderTricklingACommandIsCutOffWith421AfterTheCommandLimit() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, limits: SMTPReceiverLimits(commandTimeout: .seconds(1)))
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        #expect(try await raw.reply().hasPrefix("220"))
        // 18 bytes at 150 ms each would take 2.7 s: more than the 1 s a command may take in all.
        let reply = try await Self.trickle("EHLO client.test\r\n", to: raw)
        #expect(reply == "421 4.4.2 mx.mailroom.test Timeout: command not completed within 1 s, closing connection")
        try await Self.expectCutOff(raw, by: receiver)
    }

    @Test func aSenderTricklingMessageDataIsCutOffWith421AfterTheDataLimit() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, limits: SMTPReceiverLimits(commandTimeout: .seconds(20), dataTimeout: .seconds(2)))
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        #expect(try await raw.command("DATA").hasPrefix("354"))
        // A line every 150 ms keeps the connection busy, never idle, and never finishes the message.
        let reply = try await Self.trickle("Subject: slow\r\n\r\n" + String(repeating: "x\r\n", count: 100), to: raw)
        #expect(reply == "421 4.4.2 mx.mailroom.test Timeout: message data not completed within 2 s, closing connection")
        try await Self.expectCutOff(raw, by: receiver)
        #expect(inbox.messages.isEmpty)
    }

    @Test func aClientHoldingManyConnectionsGets421WhileAnotherAddressIsServed() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, limits: SMTPReceiverLimits(maxConnections: 50, maxConnectionsPerClient: 3))
        defer { Task { await receiver.stop() } }
        var held: [RawSMTP] = []
        for _ in 0..<3 {
            let connection = try RawSMTP(port: receiver.port!)
            #expect(try await connection.reply().hasPrefix("220 "))
            held.append(connection)
        }
        let fourth = try RawSMTP(port: receiver.port!)
        #expect(try await fourth.reply() == "421 4.7.0 mx.mailroom.test Too many connections from your address, try again later")
        #expect(try await fourth.isClosed())

        // Another address is not affected, and can deliver.
        let other = try RawSMTP(port: receiver.port!, from: "127.0.0.2")
        #expect(try await other.reply().hasPrefix("220 "))
        _ = try await other.command("EHLO other.test")
        _ = try await other.command("MAIL FROM:<a@example.net>")
        #expect(try await other.command("RCPT TO:<support@example.com>") == "250 2.1.5 OK")
        #expect(try await other.command("DATA").hasPrefix("354"))
        #expect(try await other.command("Subject: other\r\n\r\nbody\r\n.") == "250 2.0.0 Stored")
        #expect(inbox.messages.count == 1)

        // The held ones still work, and a freed slot lets the first address in again.
        #expect(try await held[1].command("NOOP") == "250 2.0.0 OK")
        #expect(try await held[0].command("QUIT").hasPrefix("221"))
        #expect(try await held[0].isClosed())
        var greeting = ""
        for _ in 0..<50 {
            greeting = try await RawSMTP(port: receiver.port!).reply()
            if greeting.hasPrefix("220") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(greeting.hasPrefix("220 "))
    }

    @Test func aNetworkOutsideTheAllowListGets554AndOnlyQUIT() async throws {
        let inbox = Inbox()
        let policy = try SMTPReceiverPolicy(allowedNetworks: [try IPNetwork("127.0.0.2"), try IPNetwork("2001:db8::/32")])
        let receiver = try await Self.receiver(inbox, policy: policy)
        defer { Task { await receiver.stop() } }

        let refused = try RawSMTP(port: receiver.port!, from: "127.0.0.1")
        #expect(try await refused.reply() == "554 5.7.1 mx.mailroom.test Your network is not allowed to send mail here")
        #expect(try await refused.command("EHLO client.test").hasPrefix("503 5.7.1"))
        #expect(try await refused.command("MAIL FROM:<a@example.net>").hasPrefix("503 5.7.1"))
        #expect(try await refused.command("QUIT") == "221 2.0.0 mx.mailroom.test closing connection")
        #expect(try await refused.isClosed())

        // One that keeps talking is dropped soon.
        let stubborn = try RawSMTP(port: receiver.port!, from: "127.0.0.1")
        _ = try await stubborn.reply()
        _ = try await stubborn.command("EHLO a")
        _ = try await stubborn.command("EHLO a")
        #expect(try await stubborn.command("EHLO a").hasPrefix("421 4.7.1"))
        #expect(try await stubborn.isClosed())

        let allowed = try RawSMTP(port: receiver.port!, from: "127.0.0.2")
        #expect(try await allowed.reply().hasPrefix("220 "))
        _ = try await allowed.command("EHLO forwarder.test")
        _ = try await allowed.command("MAIL FROM:<a@example.net>")
        _ = try await allowed.command("RCPT TO:<support@example.com>")
        _ = try await allowed.command("DATA")
        #expect(try await allowed.command("Subject: allowed\r\n\r\nbody\r\n.") == "250 2.0.0 Stored")
        #expect(inbox.messages.map(\.remoteAddress) == ["127.0.0.2"])
    }

    @Test func aFailingRecipientCheckIs451NotABounce() async throws {
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(port: 0, hostname: "mx.mailroom.test"),
            acceptsRecipient: { _ in throw CancellationError() }, store: { _ in }, logger: Self.logger)
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        #expect(try await raw.command("RCPT TO:<support@example.com>")
            == "451 4.3.0 <support@example.com>: cannot check this address now, try again later")
    }

    static func spoolDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The spool files in `directory`, with their sizes and permissions.
    static func spoolFiles(_ directory: String) -> [(name: String, size: Int, mode: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("mailroom-smtp-") }.compactMap { name in
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(name)") else { return nil }
            return (name, (attributes[.size] as? NSNumber)?.intValue ?? 0, (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0)
        }
    }

    static func waitForSpoolFile(_ directory: String, atLeast size: Int) async throws -> (name: String, size: Int, mode: Int)? {
        for _ in 0..<500 {
            if let file = Self.spoolFiles(directory).first(where: { $0.size >= size }) { return file }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test func aLargeMessageIsSpooledToAPrivateFileDuringDataAndFiledIntact() async throws {
        let inbox = Inbox()
        let directory = try Self.spoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try await Self.receiver(
            inbox, limits: SMTPReceiverLimits(maxMessageSize: 8 << 20, spoolThreshold: 64 << 10), spoolDirectory: directory)
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        #expect(try await raw.command("DATA").hasPrefix("354"))

        let lines = (0..<30_000).map { "line \($0) " + String(repeating: "0123456789", count: 6) + "\r\n" }
        let message = Array(("Subject: big\r\n\r\n" + lines.joined()).utf8)  // about 2.1 MB
        let half = message.count / 2
        try raw.write(bytes: Array(message[..<half]))
        // While DATA is still open, the first megabyte is on disk, not in memory — in a file only we can read.
        let file = try #require(try await Self.waitForSpoolFile(directory, atLeast: 512 << 10))
        #expect(file.mode == 0o600)

        try raw.write(bytes: Array(message[half...]) + Array(".\r\n".utf8))
        #expect(try await raw.reply(timeout: .seconds(20)) == "250 2.0.0 Stored")
        #expect(inbox.messages.first?.data == message)
        #expect(Self.spoolFiles(directory).isEmpty)
    }

    @Test func theSpoolFileGoesWhenTheMessageIsTooBigOrTheSenderHangsUp() async throws {
        let inbox = Inbox()
        let directory = try Self.spoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try await Self.receiver(
            inbox, limits: SMTPReceiverLimits(maxMessageSize: 256 << 10, spoolThreshold: 16 << 10), spoolDirectory: directory)
        defer { Task { await receiver.stop() } }
        let chunk = String(repeating: String(repeating: "y", count: 98) + "\r\n", count: 1000)  // 100 KB

        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        _ = try await raw.command("EHLO client.test")
        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write(chunk + chunk + chunk + chunk + ".\r\n")  // 400 KB: over the size limit, which still applies
        #expect(try await raw.reply() == "552 5.3.4 Message size exceeds fixed maximum message size")
        #expect(Self.spoolFiles(directory).isEmpty)

        _ = try await raw.command("MAIL FROM:<a@example.net>")
        _ = try await raw.command("RCPT TO:<support@example.com>")
        _ = try await raw.command("DATA")
        try raw.write(chunk)
        #expect(try await Self.waitForSpoolFile(directory, atLeast: 16 << 10) != nil)
        raw.hangUp()
        var left = Self.spoolFiles(directory)
        for _ in 0..<500 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            left = Self.spoolFiles(directory)
        }
        #expect(left.isEmpty)
        #expect(inbox.messages.isEmpty)
    }

    @Test func sessionTimeLimitsAreTotalsThatBytesDoNotExtend() {
        let start = ContinuousClock.now
        func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }
        var session = SMTPReceiverSession(
            hostname: "h", limits: SMTPReceiverLimits(commandTimeout: .seconds(10), dataTimeout: .seconds(30)), now: start)
        #expect(session.deadline == at(10))
        session.feed(Array("EHLO c".utf8))
        #expect(session.next(now: at(9)) == nil)
        #expect(session.deadline == at(10))
        #expect(session.timedOut(now: at(9)) == nil)
        session.feed(Array("\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<s@x.example>\r\nDATA\r\n".utf8))
        guard case .reply(let ehlo)? = session.next(now: at(9)) else { Issue.record("no EHLO reply"); return }
        #expect(ehlo.code == 250)
        #expect(session.deadline == at(19))
        #expect(session.next(now: at(9)) == .reply(SMTPReply(code: 250, lines: ["2.1.0 OK"])))
        #expect(session.next(now: at(9)) == .checkRecipient("s@x.example"))
        #expect(session.deadline == nil)  // our turn: no limit on the client
        #expect(session.recipientChecked(.accepted, now: at(100)).code == 250)
        #expect(session.deadline == at(110))
        guard case .reply(let go)? = session.next(now: at(100)) else { Issue.record("no 354"); return }
        #expect(go.code == 354)
        #expect(session.deadline == at(130))
        session.feed(Array("Subject: x\r\n".utf8))
        #expect(session.next(now: at(129)) == nil)
        #expect(session.timedOut(now: at(129)) == nil)
        #expect(session.timedOut(now: at(130)) == SMTPReply(code: 421, lines: ["4.4.2 h Timeout: message data not completed within 30 s, closing connection"]))
        #expect(session.isClosed)
    }

    @Test func sessionHandsLargeDataOutInChunksAndNeverHoldsMoreThanTheThreshold() {
        let threshold = 4096
        var session = SMTPReceiverSession(hostname: "h", limits: SMTPReceiverLimits(spoolThreshold: threshold))
        let body = Array((0..<6000).map { "line \($0)\r\n" }.joined().utf8)  // about 64 KB
        var spooled: [UInt8] = []
        var envelope: SMTPReceiverSession.Envelope?
        var largest = 0
        var replies: [Int] = []
        func pump() {
            while let action = session.next() {
                largest = max(largest, session.messageBytesInMemory)
                switch action {
                case .reply(let reply): replies.append(reply.code)
                case .checkRecipient: replies.append(session.recipientChecked(.accepted).code)
                case .spool(let chunk):
                    #expect(chunk.count == threshold)
                    spooled += chunk
                    session.spoolWritten(true)
                case .store(let complete):
                    envelope = complete
                    replies.append(session.stored(true).code)
                default: Issue.record("unexpected \(action)")
                }
            }
        }
        session.feed(Array("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<s@x.example>\r\nDATA\r\n".utf8))
        pump()
        var wire = body + Array(".\r\n".utf8)
        while !wire.isEmpty {
            session.feed(wire.prefix(1000))
            wire.removeFirst(min(1000, wire.count))
            pump()
        }
        #expect(replies == [250, 250, 250, 354, 250])
        #expect(largest <= threshold)
        guard let complete = envelope else {
            Issue.record("nothing stored")
            return
        }
        #expect(complete.spooledByteCount == spooled.count && spooled.count >= 8 * threshold)
        #expect(spooled + complete.data == body)
    }

    @Test func sessionRefusesWithA452WhenTheSpoolCannotBeWritten() {
        var session = SMTPReceiverSession(hostname: "h", limits: SMTPReceiverLimits(spoolThreshold: 4096))
        session.feed(Array("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<s@x.example>\r\nDATA\r\n".utf8))
        session.feed(Array(String(repeating: "z\r\n", count: 3000).utf8) + Array(".\r\nNOOP\r\n".utf8))
        var actions: [SMTPReceiverSession.Action] = []
        while let action = session.next() {
            actions.append(action)
            switch action {
            case .checkRecipient: _ = session.recipientChecked(.accepted)
            case .spool: session.spoolWritten(false)
            default: break
            }
        }
        #expect(actions.filter { if case .spool = $0 { true } else { false } }.count == 1)  // no more spooling after a failure
        #expect(Array(actions.suffix(3)) == [
            .discardSpool, .reply(SMTPReply(code: 452, lines: ["4.3.1 Insufficient system storage, try again later"])),
            .reply(SMTPReply(code: 250, lines: ["2.0.0 OK"])),
        ])
    }

    @Test func sessionEndsAfterTooManyJunkCommands() {
        var session = SMTPReceiverSession(hostname: "h", limits: SMTPReceiverLimits(maxJunkCommands: 3))
        session.feed(Array("NOOP\r\nRSET\r\nVRFY x\r\nNOOP\r\n".utf8))
        var codes: [Int] = []
        while case .reply(let reply)? = session.next() { codes.append(reply.code) }
        #expect(codes == [250, 250, 252, 421])
        #expect(session.isClosed)
    }

    // MARK: - The pure session

    @Test func sessionUnstuffsDotsFedOneByteAtATime() {
        var session = SMTPReceiverSession(hostname: "h")
        var replies: [Int] = []
        var stored: [UInt8]?
        func pump() {
            while let action = session.next() {
                switch action {
                case .reply(let reply): replies.append(reply.code)
                case .checkRecipient: replies.append(session.recipientChecked(.accepted).code)
                case .store(let envelope):
                    stored = envelope.data
                    replies.append(session.stored(true).code)
                case .close: return
                case .startTLS, .spool, .discardSpool, .notice: Issue.record("unexpected \(action)")
                }
            }
        }
        let input = "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<s@x.example>\r\nDATA\r\n..a\r\n.\rb\r\n...\r\n\r\n.\r\n"
        for byte in input.utf8 {
            session.feed([byte])
            pump()
        }
        #expect(replies == [250, 250, 250, 354, 250])
        #expect(stored == Array(".a\r\n\rb\r\n..\r\n\r\n".utf8))
    }

    @Test("Paths are parsed strictly", arguments: [
        ("FROM:<a@b.example>", "a@b.example"), ("FROM: <a@b.example>", "a@b.example"), ("from:<>", ""),
        ("FROM:<@relay.example:a@b.example>", "a@b.example"), ("FROM:<\"a>b\"@c.example>", "\"a>b\"@c.example"),
        ("FROM:a@b.example", nil), ("FROM:<a@b.example", nil), ("FROM:<a b@c.example>", nil), ("FROM:<nodomain>", nil),
        ("FROM:<a@b.example>x", nil),
    ])
    func paths(argument: String, expected: String?) {
        #expect(SMTPReceiverSession.path(after: "FROM:", in: Substring(argument))?.0 == expected)
    }
}

/// A blocking-socket SMTP client that never blocks the test's thread for long (non-blocking reads
/// with short sleeps), for sending exactly the bytes a test wants.
final class RawSMTP: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1, from `source` (any loopback address: 127.0.0.2 is another client).
    init(port: Int, from source: String = "127.0.0.1") throws {
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            Glibc.close(self.fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(self.fd)
            throw POSIXError(.ECONNREFUSED)
        }
        _ = fcntl(self.fd, F_SETFL, fcntl(self.fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(self.fd) }

    /// Drops the connection without QUIT (the descriptor stays ours until deinit).
    func hangUp() {
        Glibc.shutdown(self.fd, Int32(SHUT_RDWR))
    }

    /// Writes everything (the receiver keeps reading, so this finishes).
    func write(_ text: String) throws {
        try self.write(bytes: Array(text.utf8))
    }

    func write(bytes: [UInt8]) throws {
        var offset = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline {
                usleep(1000)
            } else {
                throw POSIXError(.EPIPE)
            }
        }
    }

    /// Sends a command line and returns its reply.
    func command(_ line: String) async throws -> String {
        try self.write(line + "\r\n")
        return try await self.reply()
    }

    /// The next complete reply, lines joined with `\n`, CRLF removed.
    func reply(timeout: Duration = .seconds(5)) async throws -> String {
        var lines: [String] = []
        let deadline = ContinuousClock.now + timeout
        while true {
            if let lf = self.pending.firstIndex(of: 0x0A) {
                var line = Array(self.pending[..<lf])
                self.pending.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                lines.append(text)
                if text.count < 4 || text[text.index(text.startIndex, offsetBy: 3)] != "-" {
                    return lines.joined(separator: "\n")
                }
                continue
            }
            let late = ContinuousClock.now >= deadline
            switch self.receive() {
            case .some(true): continue
            case .some(false):
                if late { throw POSIXError(.ETIMEDOUT) }
                try await Task.sleep(for: .milliseconds(5))
            case nil: throw POSIXError(.ECONNRESET)
            }
        }
    }

    /// `true` once the server closed the connection (all unread replies are discarded).
    func isClosed(timeout: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        // Looks once more after the deadline: a starved test thread may wake up only after it.
        while true {
            let late = ContinuousClock.now >= deadline
            switch self.receive() {
            case nil: return true
            case .some(true): continue
            case .some(false):
                if late { return false }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Reads what is there: `true` if bytes came, `false` if none yet, `nil` at EOF or on error.
    private func receive() -> Bool? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            self.pending.append(contentsOf: chunk[0..<n])
            return true
        }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
        return nil
    }
}

/// The receiver's settings: networks, and what `MAILROOM_SMTP_RECEIVER_*` may hold.
@Suite("SMTP receiver settings")
struct SMTPReceiverSettingsTests {
    @Test func networksMatchIPv4IPv6AndMappedAddresses() throws {
        let v4 = try IPNetwork("192.0.2.0/24")
        #expect(v4.contains(try #require(IPAddress("192.0.2.77"))))
        #expect(!v4.contains(try #require(IPAddress("192.0.3.1"))))
        #expect(v4.contains(try #require(IPAddress("::ffff:192.0.2.9"))))  // what a dual-stack listener reports
        let v6 = try IPNetwork("2001:db8::/32")
        #expect(v6.contains(try #require(IPAddress("2001:db8:1::5"))))
        #expect(!v6.contains(try #require(IPAddress("2001:db9::1"))))
        #expect(!v6.contains(try #require(IPAddress("192.0.2.77"))))
        #expect(try IPNetwork("127.0.0.2").description == "127.0.0.2/32")
        #expect(try IPNetwork("::ffff:10.0.0.0/104").description == "10.0.0.0/8")
        #expect(try IPNetwork("0.0.0.0/0").contains(try #require(IPAddress("203.0.113.5"))))
        #expect(try IPNetwork.list("10.0.0.0/8, 2001:db8::/32 192.0.2.1").count == 3)
        #expect(IPAddress("fe80::1%eth0") != nil)
    }

    @Test("Malformed networks are refused with the reason", arguments: [
        ("10.1.2.3/8", "has host bits set; did you mean 10.0.0.0/8?"),
        ("10.0.0.300/8", "is not an IPv4 or IPv6 network"),
        ("10.0.0.0/33", "has a prefix longer than 32 bits"),
        ("2001:db8::/129", "has a prefix longer than 128 bits"),
        ("10.0.0.0/", "has no valid prefix length"),
        ("10.0.0.0/-1", "has no valid prefix length"),
        ("example.com", "is not an IPv4 or IPv6 network"),
    ])
    func malformedNetworks(text: String, reason: String) {
        #expect(throws: IPNetwork.ParseError.self) { try IPNetwork(text) }
        do {
            _ = try IPNetwork(text)
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func theEnvironmentOverridesTheDefaults() throws {
        let defaults = try SMTPReceiverConfiguration(environment: [:], host: "0.0.0.0", port: 2525)
        #expect(defaults.limits == SMTPReceiverLimits())
        #expect(defaults.policy.allowedNetworks.isEmpty && defaults.policy.tls == nil && defaults.policy.credentials == nil)
        #expect(defaults.host == "0.0.0.0" && defaults.hostname == "localhost")

        let spool = FileManager.default.temporaryDirectory.path
        let configuration = try SMTPReceiverConfiguration(environment: [
            "MAILROOM_SMTP_RECEIVER_ALLOW": "192.0.2.0/24, 2001:db8::/32",
            "MAILROOM_SMTP_RECEIVER_HOST": "::", "MAILROOM_SMTP_RECEIVER_HOSTNAME": "mx.example.com",
            "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS": "40", "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS_PER_CLIENT": "4",
            "MAILROOM_SMTP_RECEIVER_COMMAND_TIMEOUT": "1.5", "MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT": "120",
            "MAILROOM_SMTP_RECEIVER_MAX_MESSAGE_SIZE": "1048576", "MAILROOM_SMTP_RECEIVER_SPOOL_THRESHOLD": "65536",
            "MAILROOM_SMTP_RECEIVER_SPOOL_DIR": spool,
        ], host: "127.0.0.1", port: 25)
        #expect(configuration.policy.allowedNetworks.map(\.description) == ["192.0.2.0/24", "2001:db8::/32"])
        #expect(configuration.host == "::" && configuration.hostname == "mx.example.com" && configuration.port == 25)
        #expect(configuration.limits.maxConnections == 40 && configuration.limits.maxConnectionsPerClient == 4)
        #expect(configuration.limits.commandTimeout == .milliseconds(1500) && configuration.limits.dataTimeout == .seconds(120))
        #expect(configuration.limits.maxMessageSize == 1 << 20 && configuration.limits.spoolThreshold == 64 << 10)
        #expect(configuration.spoolDirectory == spool)
    }

    @Test("Malformed settings stop the receiver with a message naming the variable", arguments: [
        (["MAILROOM_SMTP_RECEIVER_ALLOW": "10.0.0.300/8"], "MAILROOM_SMTP_RECEIVER_ALLOW: «10.0.0.300/8» is not an IPv4 or IPv6 network"),
        (["MAILROOM_SMTP_RECEIVER_ALLOW": "10.1.0.0/8"], "did you mean 10.0.0.0/8?"),
        (["MAILROOM_SMTP_RECEIVER_CERT": "/nonexistent/cert.pem"], "MAILROOM_SMTP_RECEIVER_KEY is not"),
        (["MAILROOM_SMTP_RECEIVER_CERT": "/nonexistent/cert.pem", "MAILROOM_SMTP_RECEIVER_KEY": "/nonexistent/key.pem"],
         "certificate file «/nonexistent/cert.pem» cannot be read"),
        (["MAILROOM_SMTP_RECEIVER_USER": "forwarder"], "MAILROOM_SMTP_RECEIVER_PASSWORD is not"),
        (["MAILROOM_SMTP_RECEIVER_USER": "forwarder", "MAILROOM_SMTP_RECEIVER_PASSWORD": "s3cret-Forward"], "need STARTTLS"),
        (["MAILROOM_SMTP_RECEIVER_COMMAND_TIMEOUT": "0"], "MAILROOM_SMTP_RECEIVER_COMMAND_TIMEOUT must be a number of seconds"),
        (["MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT": "ten"], "MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT must be a number of seconds"),
        (["MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS_PER_CLIENT": "-3"], "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS_PER_CLIENT must be a whole number"),
        (["MAILROOM_SMTP_RECEIVER_SPOOL_DIR": "/nonexistent/spool"], "spool folder «/nonexistent/spool» is not a writable folder"),
    ])
    func malformedSettings(environment: [String: String], message: String) {
        do {
            _ = try SMTPReceiverConfiguration(environment: environment, host: "127.0.0.1", port: 2525)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
            #expect(!error.description.contains("s3cret-Forward"))
        }
    }

    @Test func credentialsNeverPrintTheirPassword() {
        let credentials = SMTPReceiverCredentials(username: "forwarder", password: "s3cret-Forward")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(text.contains("forwarder") && !text.contains("s3cret-Forward"), "\(text)")
        }
        #expect(credentials.matches(username: Array("forwarder".utf8), password: Array("s3cret-Forward".utf8)))
        #expect(!credentials.matches(username: Array("forwarder".utf8), password: Array("s3cret-Forwar".utf8)))
        #expect(!credentials.matches(username: Array("forwarder".utf8), password: Array("s3cret-Forward!".utf8)))
    }
}

@Suite("A refused network holds no slot")
struct RefusedNetworkSessionTests {
    @Test("A client outside the allow list is cut off after five seconds, not after the command limit")
    func refusedClientsGetSeconds() {
        let start = ContinuousClock.now
        var session = SMTPReceiverSession(hostname: "h", admission: .networkNotAllowed, now: start)
        #expect(session.timedOut(now: start + .seconds(4)) == nil)
        #expect(session.timedOut(now: start + .seconds(5)) != nil, "the refused client's slot is freed within seconds")
        let allowed = SMTPReceiverSession(hostname: "h", now: start)
        #expect(allowed.deadline == start + .seconds(300))
    }
}
