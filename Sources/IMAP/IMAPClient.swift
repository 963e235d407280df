import Foundation
import Logging
import MailTransport
import NIOCore

/// An IMAP4rev1 client for one mailbox connection.
///
/// An `actor` so commands are naturally serialized (IMAP is one command at a time for us; no
/// pipelining). Every wait is bounded by ``IMAPTimeouts``; server hang-ups and `BYE` surface as
/// ``IMAPError/Kind/connectionClosed``. After a fatal error (timeout, connection closed, protocol
/// violation, TLS failure) the connection is closed and the client must be discarded.
///
/// The protocol itself is ``IMAPSessionStateMachine``: this actor only feeds it the server's responses
/// and carries out what it answers (write these bytes, read on, deliver this, fail, close).
///
/// ```swift
/// let client = try await IMAPClient.connect(to: server, logger: logger)
/// try await client.login(username: "bench1", password: secret)
/// let status = try await client.select("INBOX")
/// for try await message in client.uidFetch(UIDSet(UIDRange(from: lastUID + 1))) { … }
/// await client.logout()
/// ```
public actor IMAPClient {
    let server: IMAPServer
    let logger: Logger
    let connection: IMAPConnection
    /// Every decision about the session: state, tags, continuations, capabilities, errors.
    var session: IMAPSessionStateMachine

    /// Capabilities as advertised by the server, uppercased (e.g. `IMAP4REV1`, `AUTH=PLAIN`, `UIDPLUS`).
    ///
    /// Refreshed after STARTTLS and after authentication, because servers advertise different
    /// sets before and after those steps.
    public var capabilities: Set<String> { self.session.capabilities ?? [] }

    /// Responses received but not yet consumed, in reverse order (so `popLast` moves them out).
    private var inbox: [Response] = []
    /// The fetch stream whose command is still running, if any.
    var activeFetch: FetchStream?
    /// One command at a time on the connection, even while a command awaits the server.
    private let gate = SerialGate()

    private init(server: IMAPServer, logger: Logger, connection: IMAPConnection) {
        self.server = server
        self.logger = logger
        self.connection = connection
        self.session = IMAPSessionStateMachine(timeouts: server.timeouts)
    }

    /// Connects, applies TLS or STARTTLS per ``IMAPServer/security``, reads the greeting and
    /// learns the capabilities.
    ///
    /// - Throws: ``IMAPError`` (`.connectionFailed`, `.tlsFailed`, `.timeout`, `.connectionClosed`, …).
    public static func connect(to server: IMAPServer, logger: Logger) async throws -> IMAPClient {
        let connection = try await IMAPConnection.open(to: server)
        let client = IMAPClient(server: server, logger: logger, connection: connection)
        do {
            try await client.exclusive("CONNECT") { try await client.start() }
        } catch {
            await connection.close()
            throw error
        }
        return client
    }

    private func start() async throws {
        guard case .greeting(let greeting) = try await self.drive(.readResponse) else {
            throw IMAPError(.protocolViolation, command: "greeting", detail: "server did not start with a greeting")
        }
        self.logger.debug("IMAP greeting", metadata: ["text": "\(greeting.text)", "host": "\(self.server.host)"])
        if self.server.security == .starttls {
            _ = try await self.execute(.startTLS)
            // Responses already read past STARTTLS's OK came in plaintext; the handler checks what it still holds.
            guard self.inbox.isEmpty else {
                throw IMAPError(.tlsFailed, command: "STARTTLS", detail: "server sent data after STARTTLS OK (possible injection)")
            }
            try await self.connection.startTLS(server: self.server)
            self.session.tlsEstablished()
        }
        if self.session.capabilities == nil { try await self.refreshCapabilities() }
    }

    // MARK: - Serialization

    /// Runs `body` with exclusive use of the connection. Fatal errors close the connection.
    func exclusive<T>(_ command: String, _ body: () async throws -> T) async throws -> T {
        try await self.gate.run {
            do {
                return try await body()
            } catch var error as IMAPError {
                if error.command == nil { error.command = command }
                await self.closeIfFatal(error)
                throw error
            }
        }
    }

    /// A fatal error ends the session and closes the connection, whenever it surfaces to the caller.
    func closeIfFatal(_ error: IMAPError) async {
        guard IMAPSessionStateMachine.isFatal(error.kind) else { return }
        self.logger.debug("IMAP connection failed", metadata: ["error": "\(error)"])
        _ = self.session.connectionFailed(error)
        await self.connection.close()
    }

    // MARK: - Carrying out the session's actions

    /// Performs actions until the session delivers something for the caller.
    func drive(_ first: IMAPSessionStateMachine.Action) async throws -> IMAPSessionStateMachine.Delivery {
        var action = first
        while true {
            switch action {
            case .readResponse:
                action = await self.receive()
            case .write(let outbound):
                action = await self.write(outbound)
            case .deliver(let delivery):
                return delivery
            case .fail(let error):
                throw error
            case .close(let error):
                await self.connection.close()
                throw error
            }
        }
    }

    /// Writes, then reads on; a failed write is the session's to judge.
    private func write(_ outbound: IMAPOutbound) async -> IMAPSessionStateMachine.Action {
        if let line = outbound.logDescription { self.logger.debug("C: \(line)") }
        do {
            try await self.connection.send(outbound.bytes, wait: outbound.wait, command: outbound.commandName)
            return .readResponse
        } catch {
            return self.session.connectionFailed(IMAPError.wrapping(error))
        }
    }

    /// The next response, fed to the session.
    private func receive() async -> IMAPSessionStateMachine.Action {
        let response: Response
        do {
            response = try await self.nextResponse()
        } catch {
            return self.session.connectionFailed(IMAPError.wrapping(error))
        }
        switch response {
        case .tagged(let tagged):
            self.logger.debug("S: \(tagged.tag) \(tagged.status.kind.rawValue) \(tagged.status.text)")
        case .untagged(.status(let status)) where status.code == .alert:
            self.logger.warning("IMAP server alert", metadata: ["text": "\(status.text)", "host": "\(self.server.host)"])
        case .untagged, .continuation:
            break
        }
        return self.session.received(response)
    }

    /// Whether the next response is a FETCH already received: taking it costs no wait.
    var nextReceivedIsFetch: Bool {
        if case .untagged(.fetch)? = self.inbox.last { return true }
        return false
    }

    /// The next response from the server (waits, bounded by the handler's timers).
    private func nextResponse() async throws -> Response {
        if let response = self.inbox.popLast() { return response }
        self.inbox = try await self.connection.nextResponses().reversed()
        guard let response = self.inbox.popLast() else {
            throw IMAPError(.protocolViolation, detail: "empty response batch")
        }
        return response
    }

    /// Runs one command to its tagged `OK` (after finishing an unfinished fetch).
    func execute(_ command: IMAPCommand) async throws -> CommandResult {
        try await self.drainActiveFetch()
        let delivery = try await self.drive(self.session.sendCommand(command))
        guard case .completed(let result) = delivery else {
            throw IMAPError(.protocolViolation, command: command.name, detail: "unexpected \(delivery.name) for \(command.name)")
        }
        return result
    }

    /// Lowers the bound on untagged data per command (tests).
    func limitUntaggedData(toBytes limit: Int) { self.session.maxUntaggedBytesPerCommand = limit }

    func refreshCapabilities() async throws {
        _ = try await self.execute(.capability)
    }

    // MARK: - Simple commands

    /// `NOOP`: keeps the session alive and lets the server report new mail.
    public func noop() async throws {
        try await self.exclusive("NOOP") { _ = try await self.execute(.noop) }
    }

    /// Sends `LOGOUT` (best effort), then closes the channel. Never throws.
    public func logout() async {
        _ = try? await self.exclusive("LOGOUT") {
            if self.activeFetch == nil {
                _ = try await self.drive(self.session.sendCommand(.logout))
            }
        }
        self.session.closeRequested()
        await self.connection.close()
    }

    /// Closes the channel without `LOGOUT` (e.g. to abort a stuck session). Never throws.
    public func close() async {
        self.session.closeRequested()
        await self.connection.close()
    }
}
