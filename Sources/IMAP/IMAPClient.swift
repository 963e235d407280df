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
    var encoder = CommandEncoder()

    /// Capabilities as advertised by the server, uppercased (e.g. `IMAP4REV1`, `AUTH=PLAIN`, `UIDPLUS`).
    ///
    /// Refreshed after STARTTLS and after authentication, because servers advertise different
    /// sets before and after those steps.
    public private(set) var capabilities: Set<String> = []
    /// Bumped on every capability update; lets commands tell whether they received fresh ones.
    var capabilityGeneration = 0

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
        guard case .untagged(.status(let greeting)) = try await self.nextResponse() else {
            throw IMAPError(.protocolViolation, command: "greeting", detail: "server did not start with a greeting")
        }
        self.logger.debug("IMAP greeting", metadata: ["text": "\(greeting.text)", "host": "\(self.server.host)"])
        switch greeting.kind {
        case .ok, .preauth:
            if case .capability(let caps) = greeting.code { self.setCapabilities(caps) }
        case .bye:
            throw IMAPError(.connectionClosed, code: greeting.code, serverText: greeting.text, command: "greeting")
        case .no, .bad:
            throw IMAPError(.protocolViolation, code: greeting.code, serverText: greeting.text, command: "greeting")
        }
        if self.server.security == .starttls {
            do {
                _ = try await self.run("STARTTLS")
            } catch let error as IMAPError where error.kind == .commandFailed || error.kind == .commandRejected {
                throw IMAPError(.tlsFailed, code: error.code, serverText: error.serverText, command: "STARTTLS")
            }
            try await self.connection.startTLS(server: self.server)
            self.capabilities = []
            try await self.refreshCapabilities()
        } else if self.capabilities.isEmpty {
            try await self.refreshCapabilities()
        }
    }

    // MARK: - Serialization

    /// Runs `body` with exclusive use of the connection. Fatal errors close the connection.
    func exclusive<T>(_ command: String, _ body: () async throws -> T) async throws -> T {
        try await self.gate.run {
            do {
                return try await body()
            } catch var error as IMAPError {
                if error.command == nil { error.command = command }
                if Self.isFatal(error.kind) {
                    self.logger.debug("IMAP connection failed", metadata: ["error": "\(error)"])
                    await self.connection.close()
                }
                throw error
            }
        }
    }

    static func isFatal(_ kind: IMAPError.Kind) -> Bool {
        switch kind {
        case .connectionFailed, .tlsFailed, .timeout, .connectionClosed, .protocolViolation, .literalTooLarge, .lineTooLong:
            true
        case .commandFailed, .commandRejected, .authenticationFailed, .loginDisabled, .unsupported:
            false
        }
    }

    // MARK: - Command plumbing

    /// The next response from the server (waits, bounded by the handler's timers).
    func nextResponse() async throws -> Response {
        if let response = self.inbox.popLast() { return response }
        self.inbox = try await self.connection.nextResponses().reversed()
        guard let response = self.inbox.popLast() else {
            throw IMAPError(.protocolViolation, detail: "empty response batch")
        }
        return response
    }

    /// Encodes, sends (waiting for `+` between synchronizing literals) and collects one command.
    func run(_ name: String, _ arguments: [CommandArgument] = [], sensitive: Bool = false) async throws -> CommandResult {
        try await self.drainActiveFetch()
        let command = try self.encoder.encode(name, arguments, sensitive: sensitive)
        try await self.send(command)
        return try await self.collect(command)
    }

    func send(_ command: EncodedCommand, wait: IMAPOutbound.Wait? = nil) async throws {
        self.logger.debug("C: \(command.logDescription)")
        let wait = wait ?? .command(TimeAmount(duration: self.server.timeouts.command))
        for (index, part) in command.parts.enumerated() {
            try await self.connection.send(part, wait: wait, command: command.name)
            guard index < command.parts.count - 1 else { break }
            waitForContinuation: while true {
                switch try await self.nextResponse() {
                case .continuation:
                    break waitForContinuation
                case .untagged(let untagged):
                    try self.observe(untagged, command: command.name)
                case .tagged(let tagged) where tagged.tag == command.tag:
                    throw Self.error(for: tagged.status, command: command.name)
                case .tagged(let tagged):
                    self.logger.debug("IMAP ignoring response for unknown tag", metadata: ["tag": "\(tagged.tag)"])
                }
            }
        }
    }

    /// Most untagged data (by ``UntaggedResponse/approximateSize``) one command may accumulate: far above
    /// any real answer (a `UID SEARCH` line is capped at 1 MiB), low enough that a server sending endless
    /// untagged lines fails the command instead of exhausting memory before the command timeout.
    /// (A property so tests can lower it.)
    var maxUntaggedBytesPerCommand = 64 << 20

    func limitUntaggedData(toBytes limit: Int) { self.maxUntaggedBytesPerCommand = limit }

    /// Reads until the tagged completion of `command`, collecting untagged data.
    func collect(_ command: EncodedCommand, allowBye: Bool = false) async throws -> CommandResult {
        var untagged: [UntaggedResponse] = []
        var untaggedBytes = 0
        while true {
            switch try await self.nextResponse() {
            case .untagged(let response):
                try self.observe(response, command: command.name, allowBye: allowBye)
                untaggedBytes += response.approximateSize
                guard untaggedBytes <= self.maxUntaggedBytesPerCommand else {
                    throw IMAPError(
                        .protocolViolation, command: command.name,
                        detail: "more than \(self.maxUntaggedBytesPerCommand) bytes of untagged responses to one command")
                }
                untagged.append(response)
            case .tagged(let tagged) where tagged.tag == command.tag:
                self.logger.debug("S: \(tagged.tag) \(tagged.status.kind.rawValue) \(tagged.status.text)")
                if case .capability(let caps) = tagged.status.code { self.setCapabilities(caps) }
                guard tagged.status.kind == .ok else { throw Self.error(for: tagged.status, command: command.name) }
                return CommandResult(untagged: untagged, status: tagged.status)
            case .tagged(let tagged):
                self.logger.debug("IMAP ignoring response for unknown tag", metadata: ["tag": "\(tagged.tag)"])
            case .continuation:
                throw IMAPError(.protocolViolation, command: command.name, detail: "unexpected continuation request")
            }
        }
    }

    /// Handles untagged data that matters regardless of the running command.
    func observe(_ response: UntaggedResponse, command: String, allowBye: Bool = false) throws {
        switch response {
        case .capability(let caps):
            self.setCapabilities(caps)
        case .status(let status):
            if case .capability(let caps) = status.code { self.setCapabilities(caps) }
            if status.code == .alert {
                self.logger.warning("IMAP server alert", metadata: ["text": "\(status.text)", "host": "\(self.server.host)"])
            }
            if status.kind == .bye && !allowBye {
                throw IMAPError(.connectionClosed, code: status.code, serverText: status.text, command: command)
            }
        default:
            break
        }
    }

    func setCapabilities(_ caps: [String]) {
        self.capabilities = Set(caps.map { $0.uppercased() })
        self.capabilityGeneration += 1
        self.encoder.literalPlus = self.capabilities.contains("LITERAL+")
        self.encoder.literalMinus = self.capabilities.contains("LITERAL-")
    }

    func refreshCapabilities() async throws {
        _ = try await self.run("CAPABILITY")
    }

    static func error(for status: StatusResponse, command: String) -> IMAPError {
        let kind: IMAPError.Kind = status.kind == .bad ? .commandRejected : .commandFailed
        return IMAPError(kind, code: status.code, serverText: status.text, command: command)
    }

    // MARK: - Simple commands

    /// `NOOP`: keeps the session alive and lets the server report new mail.
    public func noop() async throws {
        try await self.exclusive("NOOP") { _ = try await self.run("NOOP") }
    }

    /// Sends `LOGOUT` (best effort), then closes the channel. Never throws.
    public func logout() async {
        _ = try? await self.exclusive("LOGOUT") {
            if self.activeFetch == nil {
                let command = try self.encoder.encode("LOGOUT")
                try await self.send(command)
                _ = try await self.collect(command, allowBye: true)
            }
        }
        await self.connection.close()
    }

    /// Closes the channel without `LOGOUT` (e.g. to abort a stuck session). Never throws.
    public func close() async {
        await self.connection.close()
    }
}
