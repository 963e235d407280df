import Foundation
import Logging
import SMTP
import Synchronization
import Testing

/// The SMTP receiver against a real, independent SMTP client: swaks (Debian package `swaks`).
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
}
