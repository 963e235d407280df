import MailTransport
import NIOCore

/// The outcome of one `RCPT TO`.
public struct SMTPRecipientResult: Sendable, Equatable {
    /// The address as given.
    public var address: String
    /// The server's reply (`250`/`251` when accepted).
    public var reply: SMTPReply
    /// `true` if the server accepted the recipient.
    public var accepted: Bool { self.reply.isPositiveCompletion }
}

/// The outcome of a mail transaction that reached the end of `DATA`.
public struct SMTPSendResult: Sendable, Equatable {
    /// Every recipient, in the order given, with its reply; rejected ones did not get the message.
    public var recipients: [SMTPRecipientResult]
    /// The server's `250` after the message data (often names the queue ID).
    public var reply: SMTPReply

    /// Addresses the server took responsibility for.
    public var accepted: [String] { self.recipients.filter(\.accepted).map(\.address) }
    /// Recipients the server refused, with the reason.
    public var rejected: [SMTPRecipientResult] { self.recipients.filter { !$0.accepted } }
}

extension SMTPClient {
    /// Sends one message: `MAIL FROM`, one `RCPT TO` per recipient, `DATA`, the dot-stuffed message.
    ///
    /// Parameters are added as the server allows: `SIZE=` when `SIZE` is advertised (a message over
    /// the server's limit is refused here, before sending), `BODY=8BITMIME` when the message has
    /// 8-bit bytes (refused locally if the server lacks `8BITMIME`), `SMTPUTF8` when an address is
    /// not ASCII (refused locally if the server lacks `SMTPUTF8`).
    ///
    /// Recipients the server refuses are reported in the result; the message goes to the others.
    /// If every recipient is refused, the transaction is reset and the most hopeful refusal is
    /// thrown (a `4yz` over a `5yz`).
    ///
    /// - Parameters:
    ///   - message: The complete RFC 5322 message (headers and body). Bare LFs become CRLF.
    ///   - from: The reverse path (`""` for the null sender `<>`).
    ///   - recipients: Forward paths, at least one.
    /// - Throws: ``SMTPError`` `.commandFailed` (with the reply of `MAIL`, `RCPT` or `DATA`),
    ///   `.unsupported`, `.messageTooLarge`, or a fatal kind.
    public func send(_ message: [UInt8], from: String, to recipients: [String]) async throws(SMTPError) -> SMTPSendResult {
        try await self.exclusive("MAIL") { () async throws(SMTPError) in
            guard !recipients.isEmpty else { throw SMTPError(.unsupported, command: "RCPT", detail: "no recipients") }
            for address in [from] + recipients where !Self.isValidPath(address) {
                throw SMTPError(.unsupported, command: "MAIL", detail: "an address contains characters SMTP cannot carry")
            }
            if recipients.contains(where: \.isEmpty) {
                throw SMTPError(.unsupported, command: "RCPT", detail: "empty recipient address")
            }
            let extensions = self.extensions
            let timeouts = self.server.timeouts

            var parameters: [String] = []
            let data = SMTPMessageData.encode(message)
            let size = message.count
            if extensions.size {
                if let limit = extensions.maxMessageSize, size > limit {
                    throw SMTPError(.messageTooLarge, command: "MAIL", detail: "message has \(size) bytes, server accepts \(limit)")
                }
                parameters.append("SIZE=\(size)")
            }
            let needsUTF8 = ([from] + recipients).contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
            if SMTPMessageData.hasEightBitData(message) || needsUTF8 {
                if extensions.eightBitMIME {
                    parameters.append("BODY=8BITMIME")
                } else if !needsUTF8 || !extensions.smtpUTF8 {
                    throw SMTPError(.unsupported, command: "MAIL", detail: "message has 8-bit data and the server lacks 8BITMIME")
                }
            }
            if needsUTF8 {
                guard extensions.smtpUTF8 else {
                    throw SMTPError(.unsupported, command: "MAIL", detail: "an address is not ASCII and the server lacks SMTPUTF8")
                }
                parameters.append("SMTPUTF8")
            }

            let mail = try await self.command(
                "MAIL", line: (["MAIL FROM:<\(from)>"] + parameters).joined(separator: " "), timeout: timeouts.mail)
            guard mail.isPositiveCompletion else { throw Self.failure(mail, command: "MAIL") }

            var results: [SMTPRecipientResult] = []
            for recipient in recipients {
                let reply = try await self.command("RCPT", line: "RCPT TO:<\(recipient)>", timeout: timeouts.rcpt)
                results.append(SMTPRecipientResult(address: recipient, reply: reply))
            }
            guard results.contains(where: \.accepted) else {
                _ = try? await self.command("RSET", timeout: timeouts.command)
                let refusal = results.first { $0.reply.isTransientNegative } ?? results[0]
                throw SMTPError(.commandFailed, reply: refusal.reply, command: "RCPT", detail: "no recipient accepted")
            }

            let start = try await self.command("DATA", timeout: timeouts.dataInitiation)
            guard start.code == 354 else {
                if start.isPositiveCompletion {
                    throw SMTPError(.protocolViolation, reply: start, command: "DATA", detail: "expected 354")
                }
                throw Self.failure(start, command: "DATA")
            }
            self.logger.debug("C: <message data, \(data.count) bytes>")
            let block = 64 << 10
            var offset = 0
            // All but the last block only need to leave in time; the last one starts the wait for the reply.
            while data.count - offset > block {
                let buffer = ByteBuffer(bytes: data[offset..<(offset + block)])
                try await self.connection.send(buffer, wait: .write(TimeAmount(duration: timeouts.dataBlock)), command: "DATA")
                offset += block
            }
            try await self.connection.send(
                ByteBuffer(bytes: data[offset...]), wait: .reply(TimeAmount(duration: timeouts.dataTermination)), command: "DATA")
            let end = try await self.connection.nextReply()
            self.logger.debug("S: \(end)")
            guard end.isPositiveCompletion else { throw Self.failure(end, command: "DATA") }
            return SMTPSendResult(recipients: results, reply: end)
        }
    }

    /// A path SMTP can carry inside `<…>`: no controls, spaces or angle brackets.
    static func isValidPath(_ address: String) -> Bool {
        !address.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F || $0 == "<" || $0 == ">" }
    }
}
