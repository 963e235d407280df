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
        idleTimeout: Duration = .seconds(30),
        maxConnections: Int = 20
    ) async throws -> SMTPReceiver {
        let receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(
                host: "127.0.0.1", port: 0, hostname: "mx.mailroom.test", limits: limits,
                idleTimeout: idleTimeout, maxConnections: maxConnections),
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

    @Test func idleConnectionsAreClosed() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, idleTimeout: .milliseconds(300))
        defer { Task { await receiver.stop() } }
        let raw = try RawSMTP(port: receiver.port!)
        _ = try await raw.reply()
        // Slowloris: half a command, then silence.
        try raw.write("EHLO cli")
        #expect(try await raw.reply(timeout: .seconds(5)) == "421 4.4.2 mx.mailroom.test Idle timeout, closing connection")
        #expect(try await raw.isClosed())
    }

    @Test func connectionsOverTheCapGet421() async throws {
        let inbox = Inbox()
        let receiver = try await Self.receiver(inbox, maxConnections: 1)
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

    // MARK: - The pure session

    @Test func sessionUnstuffsDotsFedOneByteAtATime() {
        var session = SMTPReceiverSession(hostname: "h")
        var replies: [Int] = []
        var stored: [UInt8]?
        func pump() {
            while let action = session.next() {
                switch action {
                case .reply(let reply): replies.append(reply.code)
                case .checkRecipient: replies.append(session.recipientChecked(true).code)
                case .store(let envelope):
                    stored = envelope.data
                    replies.append(session.stored(true).code)
                case .close: return
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

    init(port: Int) throws {
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = fcntl(self.fd, F_SETFL, fcntl(self.fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(self.fd) }

    /// Writes everything (the receiver keeps reading, so this finishes).
    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
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
            guard ContinuousClock.now < deadline else { throw POSIXError(.ETIMEDOUT) }
            switch self.receive() {
            case .some(true): continue
            case .some(false): try await Task.sleep(for: .milliseconds(5))
            case nil: throw POSIXError(.ECONNRESET)
            }
        }
    }

    /// `true` once the server closed the connection (all unread replies are discarded).
    func isClosed(timeout: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch self.receive() {
            case nil: return true
            case .some(true): continue
            case .some(false): try await Task.sleep(for: .milliseconds(5))
            }
        }
        return false
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
