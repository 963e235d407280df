import Foundation

/// The server side of one SMTP session (RFC 5321) for ``SMTPReceiver``: a pure value type fed the
/// client's bytes and the current time, returning what to do next. No I/O and no clock of its own, so
/// every protocol-abuse case — including slow senders — is a unit test.
///
/// Usage: ``feed(_:)`` the bytes that arrived, then call ``next(now:)`` until it returns `nil`. When it
/// returns ``Action/checkRecipient(_:)``, ``Action/spool(_:)`` or ``Action/store(_:)``, the session waits:
/// report the outcome with ``recipientChecked(_:now:)``, ``spoolWritten(_:)`` or ``stored(_:now:)``, then
/// continue with ``next(now:)``. Commands are handled strictly in order, so pipelined input (RFC 2920)
/// simply waits in the buffer. Arrange for ``timedOut(now:)`` to be called at ``deadline``.
///
/// Hardening:
///  - Command lines are limited to ``SMTPReceiverLimits/maxCommandLineLength`` (RFC 5321 §4.5.3.1.4) and
///    message lines to ``SMTPReceiverLimits/maxTextLineLength``; longer ones get `500 5.5.6` without
///    being buffered.
///  - The message is capped at ``SMTPReceiverLimits/maxMessageSize`` while it is read: bytes past the
///    cap are counted and dropped, never kept. Past ``SMTPReceiverLimits/spoolThreshold`` the data is
///    handed out in chunks for a spool file, so at most that much of a message is ever held here.
///  - Only `CRLF.CRLF` ends the data; a bare LF inside the data ends the session with `521 5.5.2`
///    (the SMTP smuggling family of attacks relies on servers that accept `LF.LF`).
///  - Each command and each DATA has a total time limit (not an idle timer), so trickling a byte at a
///    time does not keep a connection: `421 4.4.2`.
///  - `STARTTLS` throws away whatever the client sent after it in plaintext (command injection,
///    CVE-2011-0411) and everything learned before it (RFC 3207 §4.2).
///  - Too many erroneous commands, junk commands or failed AUTHs end the session with `421`.
public struct SMTPReceiverSession: Sendable {
    /// What the connection should do.
    public enum Action: Sendable, Equatable {
        /// Send this reply.
        case reply(SMTPReply)
        /// Ask whether this recipient is a support address; answer with ``recipientChecked(_:now:)``.
        case checkRecipient(String)
        /// Start TLS as the server now (the `220` is already out); later bytes are TLS records.
        case startTLS
        /// Append these message bytes to the transaction's spool file (create it first if there is none);
        /// answer with ``spoolWritten(_:)``.
        case spool([UInt8])
        /// The transaction ended without a message: delete its spool file.
        case discardSpool
        /// Store this message durably; answer with ``stored(_:now:)``. No `250` before that.
        case store(Envelope)
        /// Something worth a log line (never with a secret in it).
        case notice(Notice)
        /// Close the connection (after sending the replies already returned).
        case close
    }

    /// Events for the log.
    public enum Notice: Sendable, Equatable {
        case authenticated(username: String)
        case authenticationFailed
    }

    /// Whether the receiver lets this connection in; decided from the client's address before the greeting.
    public enum Admission: Sendable, Equatable {
        case accepted
        /// Not in the allow list: `554 5.7.1` greeting, then only `QUIT` (RFC 5321 §3.1).
        case networkNotAllowed
        /// Over the receiver's total cap: `421 4.3.2` and close.
        case tooManyConnections
        /// Over the per-client cap: `421 4.7.0` and close.
        case tooManyConnectionsFromClient
    }

    /// The answer to ``Action/checkRecipient(_:)``.
    public enum RecipientVerdict: Sendable, Equatable {
        case accepted
        /// Not ours: `550 5.1.1`, permanently.
        case unknown
        /// Could not tell (the database is down): `451 4.3.0`, so the sender retries instead of bouncing.
        case temporaryFailure
    }

    /// A complete message with its envelope.
    public struct Envelope: Sendable, Equatable {
        /// The reverse path; `""` for the null sender `<>`.
        public var from: String
        /// Accepted forward paths, in order, without duplicates.
        public var recipients: [String]
        /// The message exactly as sent, dot-stuffing removed, lines ending in CRLF — or, when
        /// ``spooledByteCount`` is not 0, the part that follows what is in the spool file.
        public var data: [UInt8]
        /// Bytes of the message already handed out with ``Action/spool(_:)``, which come before ``data``.
        public var spooledByteCount: Int
        /// The name the client gave in `EHLO`/`HELO`.
        public var heloName: String?
        /// Whether the message came over TLS.
        public var encrypted: Bool
        /// The user name of a successful AUTH.
        public var authenticatedUser: String?
    }

    private enum Phase: Sendable, Equatable {
        /// Reading command lines.
        case command
        /// Reading the client's answer in an AUTH exchange.
        case authentication(AuthenticationStep)
        /// Reading message data.
        case data
        /// Waiting for ``recipientChecked(_:now:)``.
        case awaitingRecipient(String)
        /// Waiting for ``spoolWritten(_:)``; the DATA time limit keeps running.
        case awaitingSpool
        /// Waiting for ``stored(_:now:)``.
        case awaitingStore
        /// The greeting was `554`: only QUIT is answered (RFC 5321 §3.1).
        case refused
        /// Closed; nothing more happens.
        case closed
    }

    private enum AuthenticationStep: Sendable, Equatable {
        case plain, loginUsername
        case loginPassword(username: [UInt8])
    }

    /// Where the data reader is within a line.
    private enum DataState: Sendable {
        case lineStart, dot, dotCR, inLine
    }

    /// Commands a refused client may send before it is disconnected.
    private static let maxRefusedCommands = 3

    public let hostname: String
    public let limits: SMTPReceiverLimits
    public let policy: SMTPReceiverPolicy
    public let admission: Admission

    private var phase: Phase
    private var input: [UInt8] = []
    private var inputStart = 0
    /// Dropping the rest of an over-long command line, up to its LF.
    private var discardingLine = false
    private var errors = 0
    private var junkCommands = 0
    private var authenticationFailures = 0
    /// Actions already decided, returned by ``next(now:)`` before anything else.
    private var pending: [Action] = []

    /// When the current command or DATA runs out of time; `nil` while the session waits for us.
    public private(set) var deadline: ContinuousClock.Instant?
    private var deadlineIsForData = false

    // Session state.
    private var encrypted = false
    private var authenticatedUser: String?
    private var heloName: String?
    private var extended = false

    // Transaction.
    private var mailFrom: String?
    private var smtpUTF8 = false
    private var recipients: [String] = []

    // Message data.
    private var message: [UInt8] = []
    private var messageSize = 0
    private var spooledByteCount = 0
    private var dataState = DataState.lineStart
    private var previousCR = false
    private var lineLength = 0
    private var oversized = false
    private var lineTooLong = false
    private var spoolFailed = false
    private var dropped = 0

    /// Creates a session that starts now; send ``greeting`` first.
    public init(
        hostname: String, limits: SMTPReceiverLimits = SMTPReceiverLimits(), policy: SMTPReceiverPolicy = .open,
        admission: Admission = .accepted, now: ContinuousClock.Instant = .now
    ) {
        self.hostname = hostname
        self.limits = limits
        self.policy = policy
        self.admission = admission
        switch admission {
        case .accepted: self.phase = .command
        case .networkNotAllowed: self.phase = .refused
        case .tooManyConnections, .tooManyConnectionsFromClient: self.phase = .closed
        }
        self.restartDeadline(now)
    }

    /// `220 <hostname> Mailroom ESMTP`, or the refusal the admission calls for.
    public var greeting: SMTPReply {
        switch self.admission {
        case .accepted:
            SMTPReply(code: 220, lines: ["\(self.hostname) Mailroom ESMTP"])
        case .networkNotAllowed:
            SMTPReply(code: 554, lines: ["5.7.1 \(self.hostname) Your network is not allowed to send mail here"])
        case .tooManyConnections:
            SMTPReply(code: 421, lines: ["4.3.2 \(self.hostname) Too many connections, try again later"])
        case .tooManyConnectionsFromClient:
            SMTPReply(code: 421, lines: ["4.7.0 \(self.hostname) Too many connections from your address, try again later"])
        }
    }

    /// `true` while waiting for a recipient check, a spool write or a store.
    public var isWaiting: Bool {
        switch self.phase {
        case .awaitingRecipient, .awaitingSpool, .awaitingStore: true
        default: false
        }
    }

    /// `true` once the session decided to close.
    public var isClosed: Bool { self.phase == .closed }

    /// `true` after `STARTTLS`.
    public var isEncrypted: Bool { self.encrypted }

    /// Bytes received but not processed yet (pipelined commands).
    public var bufferedByteCount: Int { self.input.count - self.inputStart }

    /// Message bytes held in memory right now (never more than the spool threshold).
    public var messageBytesInMemory: Int { self.message.count }

    /// Adds received bytes. Data bytes are consumed by the next ``next(now:)`` call, never kept past the cap.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        guard self.phase != .closed else { return }
        if self.inputStart > 4096 && self.inputStart * 2 > self.input.count {
            self.input.removeFirst(self.inputStart)
            self.inputStart = 0
        }
        self.input.append(contentsOf: bytes)
    }

    /// The next thing to do, or `nil` when more input (or an outcome) is needed.
    public mutating func next(now: ContinuousClock.Instant = .now) -> Action? {
        if !self.pending.isEmpty { return self.pending.removeFirst() }
        switch self.phase {
        case .closed, .awaitingRecipient, .awaitingSpool, .awaitingStore:
            return nil
        case .data:
            return self.readData(now)
        case .command, .authentication, .refused:
            return self.readCommand(now)
        }
    }

    /// The outcome of ``Action/checkRecipient(_:)``; returns the reply to send.
    public mutating func recipientChecked(_ verdict: RecipientVerdict, now: ContinuousClock.Instant = .now) -> SMTPReply {
        guard case .awaitingRecipient(let address) = self.phase else {
            return SMTPReply(code: 451, lines: ["4.3.0 Internal state error"])
        }
        self.phase = .command
        self.restartDeadline(now)
        switch verdict {
        case .accepted:
            if !self.recipients.contains(address) { self.recipients.append(address) }
            return SMTPReply(code: 250, lines: ["2.1.5 OK"])
        case .unknown:
            self.errors += 1
            return SMTPReply(code: 550, lines: ["5.1.1 <\(address)>: no such support address here"])
        case .temporaryFailure:
            return SMTPReply(code: 451, lines: ["4.3.0 <\(address)>: cannot check this address now, try again later"])
        }
    }

    /// The outcome of ``Action/spool(_:)``. After a failure the rest of the data is read and dropped,
    /// and the message is refused with `452 4.3.1` at its end (the sender keeps it and retries).
    public mutating func spoolWritten(_ success: Bool) {
        guard self.phase == .awaitingSpool else { return }
        self.phase = .data
        if !success {
            self.spoolFailed = true
            self.message = []
        }
    }

    /// The outcome of ``Action/store(_:)``; returns the reply to send. The transaction ends either way.
    public mutating func stored(_ success: Bool, now: ContinuousClock.Instant = .now) -> SMTPReply {
        guard self.phase == .awaitingStore else {
            return SMTPReply(code: 451, lines: ["4.3.0 Internal state error"])
        }
        self.phase = .command
        self.restartDeadline(now)
        self.resetTransaction()
        return success
            ? SMTPReply(code: 250, lines: ["2.0.0 Stored"])
            : SMTPReply(code: 451, lines: ["4.3.0 Try again later"])
    }

    /// When ``deadline`` has passed: closes the session and returns the `421 4.4.2` to send; else `nil`.
    public mutating func timedOut(now: ContinuousClock.Instant = .now) -> SMTPReply? {
        guard let deadline = self.deadline, now >= deadline, self.phase != .closed else { return nil }
        let (what, limit) = self.deadlineIsForData ? ("message data", self.limits.dataTimeout) : ("command", self.limits.commandTimeout)
        self.close()
        return SMTPReply(code: 421, lines: ["4.4.2 \(self.hostname) Timeout: \(what) not completed within \(Self.describe(limit)), closing connection"])
    }

    private mutating func close() {
        self.phase = .closed
        self.input = []
        self.inputStart = 0
        self.message = []
        self.pending = []
        self.deadline = nil
    }

    /// A new time limit starts whenever the client's turn starts: a command when we are ready for one,
    /// the data at `354`. None while we work (recipient check, store); the spool write keeps DATA's.
    private mutating func restartDeadline(_ now: ContinuousClock.Instant) {
        switch self.phase {
        case .refused:
            // A network that may not send gets seconds, not the command limit: it must never hold the slots the
            // forwarding servers need.
            self.deadline = now + min(self.limits.commandTimeout, .seconds(5))
            self.deadlineIsForData = false
        case .command, .authentication:
            self.deadline = now + self.limits.commandTimeout
            self.deadlineIsForData = false
        case .data:
            self.deadline = now + self.limits.dataTimeout
            self.deadlineIsForData = true
        case .awaitingSpool:
            break
        case .awaitingRecipient, .awaitingStore, .closed:
            self.deadline = nil
        }
    }

    private static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds) s" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }

    // MARK: - Commands

    private mutating func readCommand(_ now: ContinuousClock.Instant) -> Action? {
        while true {
            let available = self.input.count - self.inputStart
            guard available > 0 else { return nil }
            let lf = self.input[self.inputStart...].firstIndex(of: 0x0A)
            if self.discardingLine {
                guard let lf else {
                    self.inputStart = self.input.count
                    return nil
                }
                self.inputStart = lf + 1
                self.discardingLine = false
                continue
            }
            guard let lf else {
                if available >= self.limits.maxCommandLineLength {
                    self.inputStart = self.input.count
                    self.discardingLine = true
                    return self.finish(self.lineTooLongError(), now)
                }
                return nil
            }
            let lineLength = lf + 1 - self.inputStart
            let hasCR = lf > self.inputStart && self.input[lf - 1] == 0x0D
            let line = Array(self.input[self.inputStart..<(hasCR ? lf - 1 : lf)])
            self.inputStart = lf + 1
            if lineLength > self.limits.maxCommandLineLength {
                return self.finish(self.lineTooLongError(), now)
            }
            guard hasCR else {
                if case .authentication = self.phase { self.phase = .command }
                return self.finish(self.error(500, "5.5.2 Bare LF received; lines must end with CRLF"), now)
            }
            switch self.phase {
            case .authentication(let step):
                return self.finish(self.authenticationResponse(line, step: step), now)
            case .refused:
                return self.finish(self.refusedCommand(line), now)
            default:
                return self.finish(self.command(line), now)
            }
        }
    }

    /// A complete line was answered: the client's next turn starts now.
    private mutating func finish(_ action: Action, _ now: ContinuousClock.Instant) -> Action {
        self.restartDeadline(now)
        return action
    }

    private mutating func lineTooLongError() -> Action {
        if case .authentication = self.phase {
            self.phase = .command
            return self.error(500, "5.5.6 Authentication exchange line is too long")
        }
        return self.error(500, "5.5.6 Line too long")
    }

    /// After a `554` greeting: `503` to everything but QUIT, and not for long.
    private mutating func refusedCommand(_ bytes: [UInt8]) -> Action {
        let verb = String(decoding: bytes.prefix { $0 != 0x20 }, as: UTF8.self).uppercased()
        if verb == "QUIT" {
            self.close()
            return .reply(SMTPReply(code: 221, lines: ["2.0.0 \(self.hostname) closing connection"]))
        }
        self.errors += 1
        if self.errors >= Self.maxRefusedCommands {
            self.close()
            return .reply(SMTPReply(code: 421, lines: ["4.7.1 \(self.hostname) Your network is not allowed to send mail here, closing connection"]))
        }
        return .reply(SMTPReply(code: 503, lines: ["5.7.1 Your network is not allowed to send mail here; send QUIT"]))
    }

    private mutating func command(_ bytes: [UInt8]) -> Action {
        guard !bytes.contains(where: { $0 == 0 || $0 == 0x0D }), let line = String(validating: bytes, as: UTF8.self) else {
            return self.error(500, "5.5.2 Syntax error: invalid characters in command")
        }
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let argument = line[verbEnd...].drop { $0 == " " }
        switch verb {
        case "EHLO", "HELO":
            guard Self.isDomainArgument(argument) else { return self.error(501, "5.5.4 Syntax: \(verb) hostname") }
            self.resetTransaction()
            self.heloName = String(argument)
            self.extended = verb == "EHLO"
            if verb == "HELO" { return .reply(SMTPReply(code: 250, lines: [self.hostname])) }
            var lines = [
                "\(self.hostname) Hello \(argument)",
                "SIZE \(self.limits.maxMessageSize)",
                "8BITMIME",
                "SMTPUTF8",
                "PIPELINING",
                "ENHANCEDSTATUSCODES",
            ]
            if self.policy.tls != nil && !self.encrypted { lines.append("STARTTLS") }
            // RFC 4954 §4: not before TLS, so no client is tempted to send the password in the clear.
            if self.policy.credentials != nil && self.encrypted && self.authenticatedUser == nil { lines.append("AUTH PLAIN LOGIN") }
            return .reply(SMTPReply(code: 250, lines: lines))
        case "STARTTLS":
            return self.startTLS(argument)
        case "AUTH":
            return self.authenticate(argument)
        case "MAIL":
            return self.mail(argument)
        case "RCPT":
            return self.rcpt(argument)
        case "DATA":
            guard argument.isEmpty else { return self.error(501, "5.5.4 Syntax: DATA") }
            guard self.mailFrom != nil else { return self.error(503, "5.5.1 Need MAIL command") }
            guard !self.recipients.isEmpty else { return self.error(554, "5.5.1 No valid recipients") }
            self.phase = .data
            self.message = []
            self.messageSize = 0
            self.spooledByteCount = 0
            self.dataState = .lineStart
            self.previousCR = false
            self.lineLength = 0
            self.oversized = false
            self.lineTooLong = false
            self.spoolFailed = false
            self.dropped = 0
            return .reply(SMTPReply(code: 354, lines: ["End data with <CR><LF>.<CR><LF>"]))
        case "RSET":
            guard argument.isEmpty else { return self.error(501, "5.5.4 Syntax: RSET") }
            if let closing = self.junk() { return closing }
            self.resetTransaction()
            return .reply(SMTPReply(code: 250, lines: ["2.0.0 OK"]))
        case "NOOP":
            if let closing = self.junk() { return closing }
            return .reply(SMTPReply(code: 250, lines: ["2.0.0 OK"]))
        case "QUIT":
            self.close()
            return .reply(SMTPReply(code: 221, lines: ["2.0.0 \(self.hostname) closing connection"]))
        case "VRFY":
            if let closing = self.junk() { return closing }
            return .reply(SMTPReply(code: 252, lines: ["2.5.0 Cannot VRFY user; send some mail"]))
        default:
            // BDAT, EXPN, TURN, HTTP verbs, garbage…
            return self.error(502, "5.5.1 Command not implemented")
        }
    }

    /// Counts a command that moves no mail; past the limit the session ends with `421`.
    private mutating func junk() -> Action? {
        self.junkCommands += 1
        guard self.junkCommands > self.limits.maxJunkCommands else { return nil }
        self.close()
        return .reply(SMTPReply(code: 421, lines: ["4.7.0 \(self.hostname) Too many commands, closing connection"]))
    }

    private mutating func startTLS(_ argument: Substring) -> Action {
        guard self.policy.tls != nil else { return self.error(502, "5.5.1 Command not implemented") }
        guard argument.isEmpty else { return self.error(501, "5.5.4 Syntax: STARTTLS") }
        guard !self.encrypted else { return self.error(503, "5.5.1 TLS already active") }
        // Anything pipelined after STARTTLS was sent in the clear and must not count as sent over TLS.
        self.input = []
        self.inputStart = 0
        self.discardingLine = false
        self.encrypted = true
        self.heloName = nil
        self.extended = false
        self.authenticatedUser = nil
        self.resetTransaction()
        self.pending.append(.startTLS)
        return .reply(SMTPReply(code: 220, lines: ["2.0.0 Ready to start TLS"]))
    }

    // MARK: - AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN

    private mutating func authenticate(_ argument: Substring) -> Action {
        guard self.policy.credentials != nil else { return self.error(502, "5.5.1 Command not implemented") }
        guard self.encrypted else { return self.error(538, "5.7.11 Encryption required for requested authentication mechanism") }
        guard self.extended else { return self.error(503, "5.5.1 Send EHLO first") }
        guard self.authenticatedUser == nil else { return self.error(503, "5.5.1 Already authenticated") }
        guard self.mailFrom == nil else { return self.error(503, "5.5.1 AUTH is not allowed during a mail transaction") }
        let parts = argument.split(separator: " ")
        guard let mechanism = parts.first?.uppercased(), parts.count <= 2 else {
            return self.error(501, "5.5.4 Syntax: AUTH mechanism [initial-response]")
        }
        var initial: [UInt8]?
        if parts.count == 2 {
            guard let decoded = Self.base64Decoded(parts[1]) else { return self.error(501, "5.5.2 Cannot decode the response") }
            initial = decoded
        }
        switch mechanism {
        case "PLAIN":
            if let initial { return self.verifyPlain(initial) }
            self.phase = .authentication(.plain)
            return .reply(SMTPReply(code: 334, lines: [""]))
        case "LOGIN":
            if let initial {
                self.phase = .authentication(.loginPassword(username: initial))
                return .reply(SMTPReply(code: 334, lines: ["UGFzc3dvcmQ6"]))  // "Password:"
            }
            self.phase = .authentication(.loginUsername)
            return .reply(SMTPReply(code: 334, lines: ["VXNlcm5hbWU6"]))  // "Username:"
        default:
            return self.error(504, "5.5.4 Unrecognized authentication type")
        }
    }

    private mutating func authenticationResponse(_ bytes: [UInt8], step: AuthenticationStep) -> Action {
        self.phase = .command
        if bytes == [0x2A] { return self.error(501, "5.0.0 Authentication cancelled") }
        guard let text = String(validating: bytes, as: UTF8.self), let decoded = Self.base64Decoded(text[...]) else {
            return self.error(501, "5.5.2 Cannot decode the response")
        }
        switch step {
        case .plain:
            return self.verifyPlain(decoded)
        case .loginUsername:
            self.phase = .authentication(.loginPassword(username: decoded))
            return .reply(SMTPReply(code: 334, lines: ["UGFzc3dvcmQ6"]))
        case .loginPassword(let username):
            return self.verify(username: username, password: decoded)
        }
    }

    /// `[authzid] NUL authcid NUL passwd`; acting as someone else is not a thing here.
    private mutating func verifyPlain(_ response: [UInt8]) -> Action {
        let fields = response.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0].isEmpty || fields[0].elementsEqual(fields[1]) else {
            return self.authenticationFailed()
        }
        return self.verify(username: Array(fields[1]), password: Array(fields[2]))
    }

    private mutating func verify(username: [UInt8], password: [UInt8]) -> Action {
        guard let credentials = self.policy.credentials, credentials.matches(username: username, password: password) else {
            return self.authenticationFailed()
        }
        self.authenticatedUser = credentials.username
        self.pending.append(.reply(SMTPReply(code: 235, lines: ["2.7.0 Authentication successful"])))
        return .notice(.authenticated(username: credentials.username))
    }

    private mutating func authenticationFailed() -> Action {
        self.authenticationFailures += 1
        if self.authenticationFailures >= self.limits.maxAuthenticationFailures {
            self.close()
            self.pending = [.reply(SMTPReply(code: 421, lines: ["4.7.0 \(self.hostname) Too many failed authentications, closing connection"]))]
        } else {
            self.errors += 1
            self.pending.append(.reply(SMTPReply(code: 535, lines: ["5.7.8 Authentication credentials invalid"])))
        }
        return .notice(.authenticationFailed)
    }

    /// Base64 as RFC 4954 uses it: `=` is the empty response.
    private static func base64Decoded(_ text: Substring) -> [UInt8]? {
        if text == "=" { return [] }
        guard let data = Data(base64Encoded: String(text)) else { return nil }
        return [UInt8](data)
    }

    // MARK: - Transaction

    private mutating func mail(_ argument: Substring) -> Action {
        guard self.heloName != nil else { return self.error(503, "5.5.1 Send EHLO or HELO first") }
        if self.policy.credentials != nil && self.authenticatedUser == nil {
            return self.error(530, self.encrypted ? "5.7.0 Authentication required" : "5.7.0 Must issue a STARTTLS command first")
        }
        guard self.mailFrom == nil else { return self.error(503, "5.5.1 Nested MAIL command") }
        guard let (path, rest) = Self.path(after: "FROM:", in: argument) else {
            return self.error(501, "5.5.4 Syntax: MAIL FROM:<address>")
        }
        var utf8 = false
        for parameter in rest.split(separator: " ") {
            guard self.extended else { return self.error(555, "5.5.4 Parameters need EHLO") }
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].uppercased()
            let value = parts.count > 1 ? String(parts[1]) : nil
            switch (key, value?.uppercased()) {
            case ("SIZE", let value?):
                guard let size = Int(value), size >= 0, value.utf8.count <= 20 else {
                    return self.error(501, "5.5.4 Bad SIZE parameter")
                }
                if size > self.limits.maxMessageSize {
                    return self.error(552, "5.3.4 Message size exceeds fixed maximum message size")
                }
            case ("BODY", "7BIT"?), ("BODY", "8BITMIME"?):
                break
            case ("SMTPUTF8", nil):
                utf8 = true
            case ("AUTH", _?):
                // RFC 4954 §5: the original submitter; accepted and not used.
                break
            default:
                return self.error(555, "5.5.4 Unsupported parameter \(Self.printable(key))")
            }
        }
        if !utf8 && !path.utf8.allSatisfy({ $0 < 0x80 }) {
            return self.error(553, "5.6.7 Non-ASCII address needs SMTPUTF8")
        }
        self.mailFrom = path
        self.smtpUTF8 = utf8
        self.recipients = []
        return .reply(SMTPReply(code: 250, lines: ["2.1.0 OK"]))
    }

    private mutating func rcpt(_ argument: Substring) -> Action {
        guard self.mailFrom != nil else { return self.error(503, "5.5.1 Need MAIL command") }
        guard let (path, rest) = Self.path(after: "TO:", in: argument), !path.isEmpty else {
            return self.error(501, "5.5.4 Syntax: RCPT TO:<address>")
        }
        guard rest.allSatisfy({ $0 == " " }) else { return self.error(555, "5.5.4 Unsupported parameter") }
        if !self.smtpUTF8 && !path.utf8.allSatisfy({ $0 < 0x80 }) {
            return self.error(553, "5.6.7 Non-ASCII address needs SMTPUTF8")
        }
        guard self.recipients.count < self.limits.maxRecipients else {
            return .reply(SMTPReply(code: 452, lines: ["4.5.3 Too many recipients"]))
        }
        self.phase = .awaitingRecipient(path)
        return .checkRecipient(path)
    }

    /// A syntax or sequence error: counts towards the limit, which ends the session with `421`.
    private mutating func error(_ code: Int, _ text: String) -> Action {
        self.errors += 1
        if self.errors > self.limits.maxErrors {
            self.close()
            return .reply(SMTPReply(code: 421, lines: ["4.7.0 \(self.hostname) Too many errors, closing connection"]))
        }
        return .reply(SMTPReply(code: code, lines: [text]))
    }

    private mutating func resetTransaction() {
        self.mailFrom = nil
        self.smtpUTF8 = false
        self.recipients = []
        self.message = []
        self.messageSize = 0
        self.spooledByteCount = 0
    }

    // MARK: - Message data

    private mutating func readData(_ now: ContinuousClock.Instant) -> Action? {
        var index = self.inputStart
        let end = self.input.count
        defer {
            if self.phase != .closed { self.inputStart = index }
        }
        while index < end {
            if self.message.count >= self.limits.spoolThreshold {
                // Checked before every byte, so memory never holds more than the threshold.
                let chunk = self.message
                self.message = []
                self.spooledByteCount += chunk.count
                self.phase = .awaitingSpool
                return .spool(chunk)
            }
            let byte = self.input[index]
            index += 1
            switch self.dataState {
            case .lineStart:
                if byte == 0x2E {
                    self.dataState = .dot
                    continue
                }
                self.dataState = .inLine
            case .dot:
                if byte == 0x0D {
                    self.dataState = .dotCR
                    continue
                }
                // A stuffed dot: drop it, keep the byte.
                self.dataState = .inLine
            case .dotCR:
                if byte == 0x0A {
                    self.inputStart = index
                    return self.finish(self.endOfData(), now)
                }
                // ".\r" then something else: the dot was stuffing, the CR is content.
                self.dataState = .inLine
                self.lineLength = 0
                self.append(0x0D)
                self.previousCR = true
            case .inLine:
                break
            }
            if byte == 0x0A {
                guard self.previousCR else { return self.bareLFInData() }
                self.append(byte)
                self.previousCR = false
                self.lineLength = 0
                self.dataState = .lineStart
                continue
            }
            self.previousCR = byte == 0x0D
            self.lineLength += 1
            if self.lineLength > self.limits.maxTextLineLength { self.lineTooLong = true }
            self.append(byte)
            if self.dropped > self.limits.maxMessageSize {
                // Endless data: stop reading it.
                self.close()
                return .reply(SMTPReply(code: 552, lines: ["5.3.4 Message too big; closing connection"]))
            }
        }
        return nil
    }

    private mutating func append(_ byte: UInt8) {
        if self.oversized || self.lineTooLong || self.spoolFailed || self.messageSize >= self.limits.maxMessageSize {
            if !self.lineTooLong && !self.spoolFailed { self.oversized = true }
            if !self.message.isEmpty { self.message = [] }
            self.dropped += 1
            return
        }
        self.message.append(byte)
        self.messageSize += 1
    }

    private mutating func bareLFInData() -> Action {
        self.close()
        return .reply(SMTPReply(code: 521, lines: ["5.5.2 Bare LF received in message data; closing connection"]))
    }

    private mutating func endOfData() -> Action {
        let refusal: Action
        if self.lineTooLong {
            self.phase = .command
            refusal = self.error(500, "5.5.6 Line too long")
        } else if self.oversized {
            self.phase = .command
            refusal = .reply(SMTPReply(code: 552, lines: ["5.3.4 Message size exceeds fixed maximum message size"]))
        } else if self.spoolFailed {
            self.phase = .command
            refusal = .reply(SMTPReply(code: 452, lines: ["4.3.1 Insufficient system storage, try again later"]))
        } else {
            self.phase = .awaitingStore
            let envelope = Envelope(
                from: self.mailFrom ?? "", recipients: self.recipients, data: self.message, spooledByteCount: self.spooledByteCount,
                heloName: self.heloName, encrypted: self.encrypted, authenticatedUser: self.authenticatedUser)
            self.message = []
            return .store(envelope)
        }
        let spooled = self.spooledByteCount > 0
        self.resetTransaction()
        guard spooled else { return refusal }
        self.pending.append(refusal)
        return .discardSpool
    }

    // MARK: - Syntax helpers

    /// Parses `FROM:<path> params` (case-insensitive keyword, optional spaces after the colon).
    /// Returns the path without brackets or source route, and the parameters.
    static func path(after keyword: String, in argument: Substring) -> (String, Substring)? {
        guard argument.count > keyword.count, argument.prefix(keyword.count).uppercased() == keyword else { return nil }
        let rest = argument.dropFirst(keyword.count).drop { $0 == " " }
        guard rest.first == "<" else { return nil }
        var inQuotes = false
        var escaped = false
        var close: Substring.Index?
        var index = rest.index(after: rest.startIndex)
        while index < rest.endIndex {
            let character = rest[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ">" && !inQuotes {
                close = index
                break
            }
            index = rest.index(after: index)
        }
        guard let close else { return nil }
        var path = rest[rest.index(after: rest.startIndex)..<close]
        let parameters = rest[rest.index(after: close)...]
        guard parameters.isEmpty || parameters.first == " " else { return nil }
        // RFC 5321 §4.1.2: a source route (`@a,@b:user@c`) is accepted and ignored.
        if path.first == "@" {
            guard let colon = path.firstIndex(of: ":") else { return nil }
            path = path[path.index(after: colon)...]
        }
        guard path.utf8.count <= 256 else { return nil }
        inQuotes = false
        for scalar in path.unicodeScalars {
            if scalar == "\"" { inQuotes.toggle() }
            if scalar.value < 0x20 || scalar.value == 0x7F { return nil }
            if scalar == " " && !inQuotes { return nil }
        }
        if !path.isEmpty {
            guard let at = path.lastIndex(of: "@"), at != path.startIndex, path.index(after: at) != path.endIndex else {
                // Only `<postmaster>` may go without a domain (RFC 5321 §4.5.1).
                return path.lowercased() == "postmaster" ? (String(path), parameters) : nil
            }
        }
        return (String(path), parameters)
    }

    private static func isDomainArgument(_ argument: Substring) -> Bool {
        guard !argument.isEmpty, argument.utf8.count <= 255 else { return false }
        let name = argument.split(separator: " ", maxSplits: 1).first ?? ""
        return !name.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F }
    }

    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(32).filter { $0.value >= 0x21 && $0.value < 0x7F })
    }
}

