/// The server side of one SMTP session (RFC 5321) for ``SMTPReceiver``: a pure value type fed the
/// client's bytes, returning what to do next. No I/O, so every protocol-abuse case is a unit test.
///
/// Usage: ``feed(_:)`` the bytes that arrived, then call ``next()`` until it returns `nil`. When it
/// returns ``Action/checkRecipient(_:)`` or ``Action/store(_:)``, the session waits: call
/// ``recipientChecked(_:)`` or ``stored(_:)`` with the outcome (each returns the reply to send), then
/// continue with ``next()``. Commands are handled strictly in order, so pipelined input (RFC 2920)
/// simply waits in the buffer.
///
/// Hardening:
///  - Command lines are limited to ``SMTPReceiverLimits/maxCommandLineLength`` (RFC 5321 §4.5.3.1.4) and
///    message lines to ``SMTPReceiverLimits/maxTextLineLength``; longer ones get `500 5.5.6` without
///    being buffered.
///  - The message is capped at ``SMTPReceiverLimits/maxMessageSize`` while it is read: bytes past the
///    cap are counted and dropped, never kept.
///  - Only `CRLF.CRLF` ends the data; a bare LF inside the data ends the session with `521 5.5.2`
///    (the SMTP smuggling family of attacks relies on servers that accept `LF.LF`).
///  - Too many erroneous commands end the session with `421`.
public struct SMTPReceiverSession: Sendable {
    /// What the connection should do.
    public enum Action: Sendable, Equatable {
        /// Send this reply.
        case reply(SMTPReply)
        /// Ask whether this recipient is a support address; answer with ``recipientChecked(_:)``.
        case checkRecipient(String)
        /// Store this message durably; answer with ``stored(_:)``. No `250` before that.
        case store(Envelope)
        /// Close the connection (after sending the replies already returned).
        case close
    }

    /// A complete message with its envelope.
    public struct Envelope: Sendable, Equatable {
        /// The reverse path; `""` for the null sender `<>`.
        public var from: String
        /// Accepted forward paths, in order, without duplicates.
        public var recipients: [String]
        /// The message exactly as sent, dot-stuffing removed, lines ending in CRLF.
        public var data: [UInt8]
        /// The name the client gave in `EHLO`/`HELO`.
        public var heloName: String?
    }

    private enum Phase: Sendable, Equatable {
        /// Reading command lines.
        case command
        /// Reading message data.
        case data
        /// Waiting for ``recipientChecked(_:)``.
        case awaitingRecipient(String)
        /// Waiting for ``stored(_:)``.
        case awaitingStore
        /// Closed; nothing more happens.
        case closed
    }

    /// Where the data reader is within a line.
    private enum DataState: Sendable {
        case lineStart, dot, dotCR, inLine
    }

    public let hostname: String
    public let limits: SMTPReceiverLimits

    private var phase: Phase = .command
    private var input: [UInt8] = []
    private var inputStart = 0
    /// Dropping the rest of an over-long command line, up to its LF.
    private var discardingLine = false
    private var errors = 0

    // Session and transaction.
    private var heloName: String?
    private var extended = false
    private var mailFrom: String?
    private var smtpUTF8 = false
    private var recipients: [String] = []

    // Message data.
    private var message: [UInt8] = []
    private var dataState = DataState.lineStart
    private var previousCR = false
    private var lineLength = 0
    private var oversized = false
    private var lineTooLong = false
    private var dropped = 0

    /// Creates a session; send ``greeting`` first.
    public init(hostname: String, limits: SMTPReceiverLimits = SMTPReceiverLimits()) {
        self.hostname = hostname
        self.limits = limits
    }

    /// `220 <hostname> Mailroom ESMTP`.
    public var greeting: SMTPReply { SMTPReply(code: 220, lines: ["\(self.hostname) Mailroom ESMTP"]) }

    /// `true` while waiting for a recipient check or a store.
    public var isWaiting: Bool {
        switch self.phase {
        case .awaitingRecipient, .awaitingStore: true
        default: false
        }
    }

    /// `true` once the session decided to close.
    public var isClosed: Bool { self.phase == .closed }

    /// Bytes received but not processed yet (pipelined commands).
    public var bufferedByteCount: Int { self.input.count - self.inputStart }

    /// Adds received bytes. Data bytes are consumed by the next ``next()`` call, never kept past the cap.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        guard self.phase != .closed else { return }
        if self.inputStart > 4096 && self.inputStart * 2 > self.input.count {
            self.input.removeFirst(self.inputStart)
            self.inputStart = 0
        }
        self.input.append(contentsOf: bytes)
    }

    /// The next thing to do, or `nil` when more input (or an outcome) is needed.
    public mutating func next() -> Action? {
        switch self.phase {
        case .closed, .awaitingRecipient, .awaitingStore:
            return nil
        case .data:
            return self.readData()
        case .command:
            return self.readCommand()
        }
    }

    /// The outcome of ``Action/checkRecipient(_:)``; returns the reply to send.
    public mutating func recipientChecked(_ accepted: Bool) -> SMTPReply {
        guard case .awaitingRecipient(let address) = self.phase else {
            return SMTPReply(code: 451, lines: ["4.3.0 Internal state error"])
        }
        self.phase = .command
        guard accepted else {
            self.errors += 1
            return SMTPReply(code: 550, lines: ["5.1.1 <\(address)>: no such support address here"])
        }
        if !self.recipients.contains(address) { self.recipients.append(address) }
        return SMTPReply(code: 250, lines: ["2.1.5 OK"])
    }

    /// The outcome of ``Action/store(_:)``; returns the reply to send. The transaction ends either way.
    public mutating func stored(_ success: Bool) -> SMTPReply {
        guard self.phase == .awaitingStore else {
            return SMTPReply(code: 451, lines: ["4.3.0 Internal state error"])
        }
        self.phase = .command
        self.resetTransaction()
        return success
            ? SMTPReply(code: 250, lines: ["2.0.0 Stored"])
            : SMTPReply(code: 451, lines: ["4.3.0 Try again later"])
    }

    /// The reply for an idle connection that is being closed.
    public mutating func idleTimeout() -> SMTPReply {
        self.phase = .closed
        return SMTPReply(code: 421, lines: ["4.4.2 \(self.hostname) Idle timeout, closing connection"])
    }

    // MARK: - Commands

    private mutating func readCommand() -> Action? {
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
                    return self.error(500, "5.5.6 Line too long")
                }
                return nil
            }
            let lineLength = lf + 1 - self.inputStart
            let hasCR = lf > self.inputStart && self.input[lf - 1] == 0x0D
            let line = Array(self.input[self.inputStart..<(hasCR ? lf - 1 : lf)])
            self.inputStart = lf + 1
            if lineLength > self.limits.maxCommandLineLength {
                return self.error(500, "5.5.6 Line too long")
            }
            guard hasCR else { return self.error(500, "5.5.2 Bare LF received; lines must end with CRLF") }
            return self.command(line)
        }
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
            return .reply(SMTPReply(code: 250, lines: [
                "\(self.hostname) Hello \(argument)",
                "SIZE \(self.limits.maxMessageSize)",
                "8BITMIME",
                "SMTPUTF8",
                "PIPELINING",
                "ENHANCEDSTATUSCODES",
            ]))
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
            self.dataState = .lineStart
            self.previousCR = false
            self.lineLength = 0
            self.oversized = false
            self.lineTooLong = false
            self.dropped = 0
            return .reply(SMTPReply(code: 354, lines: ["End data with <CR><LF>.<CR><LF>"]))
        case "RSET":
            guard argument.isEmpty else { return self.error(501, "5.5.4 Syntax: RSET") }
            self.resetTransaction()
            return .reply(SMTPReply(code: 250, lines: ["2.0.0 OK"]))
        case "NOOP":
            return .reply(SMTPReply(code: 250, lines: ["2.0.0 OK"]))
        case "QUIT":
            self.phase = .closed
            self.input = []
            self.inputStart = 0
            return .reply(SMTPReply(code: 221, lines: ["2.0.0 \(self.hostname) closing connection"]))
        case "VRFY":
            return .reply(SMTPReply(code: 252, lines: ["2.5.0 Cannot VRFY user; send some mail"]))
        default:
            // STARTTLS, AUTH, BDAT, EXPN, TURN, HTTP verbs, garbage…
            return self.error(502, "5.5.1 Command not implemented")
        }
    }

    private mutating func mail(_ argument: Substring) -> Action {
        guard self.heloName != nil else { return self.error(503, "5.5.1 Send EHLO or HELO first") }
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
            self.phase = .closed
            return .reply(SMTPReply(code: 421, lines: ["4.7.0 \(self.hostname) Too many errors, closing connection"]))
        }
        return .reply(SMTPReply(code: code, lines: [text]))
    }

    private mutating func resetTransaction() {
        self.mailFrom = nil
        self.smtpUTF8 = false
        self.recipients = []
        self.message = []
    }

    // MARK: - Message data

    private mutating func readData() -> Action? {
        var index = self.inputStart
        let end = self.input.count
        defer {
            if self.phase != .closed { self.inputStart = index }
        }
        while index < end {
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
                    return self.endOfData()
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
                self.phase = .closed
                self.message = []
                return .reply(SMTPReply(code: 552, lines: ["5.3.4 Message too big; closing connection"]))
            }
        }
        return nil
    }

    private mutating func append(_ byte: UInt8) {
        if self.oversized || self.lineTooLong || self.message.count >= self.limits.maxMessageSize {
            if !self.lineTooLong { self.oversized = true }
            if !self.message.isEmpty { self.message = [] }
            self.dropped += 1
            return
        }
        self.message.append(byte)
    }

    private mutating func bareLFInData() -> Action {
        self.phase = .closed
        self.message = []
        return .reply(SMTPReply(code: 521, lines: ["5.5.2 Bare LF received in message data; closing connection"]))
    }

    private mutating func endOfData() -> Action {
        if self.lineTooLong {
            self.phase = .command
            self.resetTransaction()
            return self.error(500, "5.5.6 Line too long")
        }
        if self.oversized {
            self.phase = .command
            self.resetTransaction()
            return .reply(SMTPReply(code: 552, lines: ["5.3.4 Message size exceeds fixed maximum message size"]))
        }
        self.phase = .awaitingStore
        let envelope = Envelope(from: self.mailFrom ?? "", recipients: self.recipients, data: self.message, heloName: self.heloName)
        self.message = []
        return .store(envelope)
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

/// Limits for ``SMTPReceiver`` sessions.
public struct SMTPReceiverLimits: Sendable, Equatable {
    /// Largest message accepted (advertised as `SIZE`), in bytes after dot-unstuffing.
    public var maxMessageSize: Int
    /// Recipients per message (RFC 5321 §4.5.3.1.8 asks for at least 100).
    public var maxRecipients: Int
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512).
    public var maxCommandLineLength: Int
    /// Longest line of message data, CRLF excluded. RFC 5321 says 998; real mail is sometimes longer.
    public var maxTextLineLength: Int
    /// Erroneous commands tolerated before the session is closed with `421`.
    public var maxErrors: Int

    /// Creates limits; the defaults are 25 MiB, 100 recipients, 512-byte commands, 8 KiB text lines, 20 errors.
    public init(
        maxMessageSize: Int = 25 << 20,
        maxRecipients: Int = 100,
        maxCommandLineLength: Int = 512,
        maxTextLineLength: Int = 8192,
        maxErrors: Int = 20
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxCommandLineLength = maxCommandLineLength
        self.maxTextLineLength = maxTextLineLength
        self.maxErrors = maxErrors
    }
}
