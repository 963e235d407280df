import Logging
import MailTransport
import NIOCore

/// An SMTP submission client for one connection (RFC 5321, with STARTTLS, AUTH and the
/// extensions Mailroom needs).
///
/// An `actor` with one command at a time (no pipelining yet). Every wait is bounded by
/// ``SMTPTimeouts``. After a fatal error (timeout, connection closed, protocol violation, TLS
/// failure, a `421` reply) the connection is closed and the client must be discarded; after an
/// ordinary refusal (`535` to AUTH, `550` to RCPT…) the session stays usable.
///
/// ```swift
/// let client = try await SMTPClient.connect(to: server, logger: logger)
/// try await client.authenticate(mechanism: SASLXOAuth2(user: mailbox, accessToken: token))
/// …
/// await client.quit()
/// ```
public actor SMTPClient {
    /// Where this client is connected.
    public nonisolated let server: SMTPServer
    let logger: Logger
    let connection: SMTPConnection

    /// The server's `220` greeting.
    public private(set) var greeting: SMTPReply?
    /// What the last `EHLO` advertised. Replaced after STARTTLS (pre-TLS answers are never trusted).
    public private(set) var extensions = SMTPExtensions()
    /// `true` once TLS protects the connection (implicit TLS, or after STARTTLS).
    public private(set) var isEncrypted = false
    /// `true` after a successful AUTH.
    public private(set) var isAuthenticated = false

    /// One command at a time on the connection, even while a command awaits the server.
    private let gate = SerialGate()

    /// The advertised extension keywords, uppercased (e.g. `AUTH`, `SIZE`, `8BITMIME`, `STARTTLS`).
    public var capabilities: Set<String> { Set(self.extensions.keywords.keys) }

    private init(server: SMTPServer, logger: Logger, connection: SMTPConnection) {
        self.server = server
        self.logger = logger
        self.connection = connection
    }

    /// Connects, reads the greeting, says `EHLO` (or `HELO` if the server refuses `EHLO`), and
    /// applies STARTTLS per ``SMTPServer/security`` (then `EHLO` again).
    ///
    /// - Throws: ``SMTPError`` (`.connectionFailed`, `.tlsFailed`, `.timeout`, `.connectionClosed`,
    ///   `.commandFailed` for a `554` greeting, …).
    public static func connect(to server: SMTPServer, logger: Logger) async throws(SMTPError) -> SMTPClient {
        if let name = server.localHostname, !Self.isSafeArgument(name) || name.isEmpty {
            throw SMTPError(.unsupported, command: "EHLO", detail: "local host name must be one word without control characters")
        }
        let connection = try await SMTPConnection.open(to: server)
        let client = SMTPClient(server: server, logger: logger, connection: connection)
        do {
            try await client.exclusive("CONNECT") { () async throws(SMTPError) in try await client.start() }
        } catch {
            await connection.close()
            throw error
        }
        return client
    }

    private func start() async throws(SMTPError) {
        self.isEncrypted = self.server.security == .implicitTLS
        let greeting = try await self.connection.nextReply()
        self.logger.debug("S: \(greeting)", metadata: ["host": "\(self.server.host)"])
        switch greeting.code {
        case 220:
            self.greeting = greeting
        case 421:
            throw SMTPError(.connectionClosed, reply: greeting, command: "greeting")
        case 554:
            throw SMTPError(.commandFailed, reply: greeting, command: "greeting", detail: "server refuses service")
        default:
            throw SMTPError(.protocolViolation, reply: greeting, command: "greeting", detail: "unexpected greeting")
        }
        try await self.hello()
        guard self.server.security == .startTLS else { return }

        guard self.extensions.startTLS else {
            throw SMTPError(.tlsFailed, command: "STARTTLS", detail: "server does not offer STARTTLS")
        }
        let reply = try await self.command("STARTTLS", timeout: self.server.timeouts.command)
        guard reply.code == 220 else {
            throw SMTPError(reply.code == 421 ? .connectionClosed : .tlsFailed, reply: reply, command: "STARTTLS")
        }
        try await self.connection.startTLS(server: self.server)
        self.isEncrypted = true
        // RFC 3207 §4.2: forget everything learned before TLS and ask again.
        self.extensions = SMTPExtensions()
        do {
            try await self.hello()
        } catch where error.reply == nil && (error.kind == .tlsFailed || error.kind == .connectionClosed) {
            // No reply over TLS yet: the handshake (or certificate check) is what failed.
            var error = error
            error.kind = .tlsFailed
            error.command = "STARTTLS"
            throw error
        }
    }

    /// `EHLO`, or `HELO` when the server does not know `EHLO` (500/502).
    private func hello() async throws(SMTPError) {
        let name = self.server.localHostname ?? self.connection.localAddressLiteral
        let reply = try await self.command("EHLO", line: "EHLO \(name)", timeout: self.server.timeouts.command)
        if reply.isPositiveCompletion {
            self.extensions = SMTPExtensions(ehlo: reply)
            return
        }
        guard reply.code == 500 || reply.code == 502 else { throw Self.failure(reply, command: "EHLO") }
        let helo = try await self.command("HELO", line: "HELO \(name)", timeout: self.server.timeouts.command)
        guard helo.isPositiveCompletion else { throw Self.failure(helo, command: "HELO") }
        self.extensions = SMTPExtensions(serverName: helo.lines.first?.split(separator: " ").first.map(String.init))
    }

    func markAuthenticated() { self.isAuthenticated = true }

    // MARK: - Serialization

    /// Runs `body` with exclusive use of the connection. Fatal errors close the connection.
    func exclusive<T>(_ command: String, _ body: () async throws(SMTPError) -> T) async throws(SMTPError) -> T {
        try await self.gate.run { () async throws(SMTPError) -> T in
            do throws(SMTPError) {
                return try await body()
            } catch var error {
                if error.command == nil { error.command = command }
                if Self.isFatal(error) {
                    self.logger.debug("SMTP connection failed", metadata: ["error": "\(error)"])
                    await self.connection.close()
                }
                throw error
            }
        }
    }

    static func isFatal(_ error: SMTPError) -> Bool {
        if error.reply?.code == 421 { return true }
        switch error.kind {
        case .connectionFailed, .tlsFailed, .timeout, .connectionClosed, .protocolViolation, .lineTooLong:
            return true
        case .authenticationFailed, .commandFailed, .unsupported, .encryptionRequired, .messageTooLarge:
            return false
        }
    }

    // MARK: - Command plumbing

    /// Sends one command line (CRLF added) and returns the reply, whatever its code.
    ///
    /// `line` defaults to the command name; `logLine` replaces it in the debug log (AUTH).
    func command(_ name: String, line: String? = nil, logLine: String? = nil, timeout: Duration) async throws(SMTPError) -> SMTPReply {
        let text = line ?? name
        self.logger.debug("C: \(logLine ?? text)")
        try await self.writeLine(text, command: name, timeout: timeout)
        let reply = try await self.connection.nextReply()
        self.logger.debug("S: \(reply)")
        if reply.code == 421 {
            throw SMTPError(.connectionClosed, reply: reply, command: name, detail: "server is closing the connection")
        }
        return reply
    }

    /// Writes `text` + CRLF, arming the reply timer.
    func writeLine(_ text: String, command: String, timeout: Duration) async throws(SMTPError) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.utf8.count + 2)
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
        try await self.connection.send(buffer, wait: .reply(TimeAmount(duration: timeout)), command: command)
    }

    /// The error for a negative reply to an ordinary command.
    static func failure(_ reply: SMTPReply, command: String) -> SMTPError {
        SMTPError(reply.code == 421 ? .connectionClosed : .commandFailed, reply: reply, command: command)
    }

    /// `true` if `text` can go into a command line: no CR, LF, NUL, space or other controls.
    static func isSafeArgument(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F }
    }

    // MARK: - Simple commands

    /// `NOOP`: checks that the session is alive.
    public func noop() async throws(SMTPError) {
        try await self.exclusive("NOOP") { () async throws(SMTPError) in
            let reply = try await self.command("NOOP", timeout: self.server.timeouts.command)
            guard reply.isPositiveCompletion else { throw Self.failure(reply, command: "NOOP") }
        }
    }

    /// `RSET`: abandons the current mail transaction.
    public func reset() async throws(SMTPError) {
        try await self.exclusive("RSET") { () async throws(SMTPError) in
            let reply = try await self.command("RSET", timeout: self.server.timeouts.command)
            guard reply.isPositiveCompletion else { throw Self.failure(reply, command: "RSET") }
        }
    }

    /// Sends `QUIT` (best effort, waiting briefly for `221`), then closes the channel. Never throws.
    public func quit() async {
        _ = try? await self.exclusive("QUIT") { () async throws(SMTPError) in
            _ = try await self.command("QUIT", timeout: self.server.timeouts.command)
        }
        await self.connection.close()
    }

    /// Closes the channel without `QUIT` (e.g. to abort a stuck session). Never throws.
    public func close() async {
        await self.connection.close()
    }
}
