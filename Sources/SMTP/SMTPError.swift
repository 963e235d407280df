import MailTransport

/// The single error type thrown by ``SMTPClient``.
///
/// Built for classification (retry / ask for a new password or consent / alert an admin) and for
/// safe logging: it carries the command *name* only (`AUTH`, `MAIL`), the server's reply, and the
/// SASL mechanism's failure detail — never command arguments, passwords or tokens.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    /// Failure category.
    public enum Kind: Sendable, Equatable {
        /// TCP connection could not be established.
        case connectionFailed
        /// TLS handshake or certificate verification failed, or STARTTLS was refused or not offered.
        case tlsFailed
        /// A step exceeded its ``SMTPTimeouts`` limit.
        case timeout
        /// The server hung up (or answered `421`, closing the channel).
        case connectionClosed
        /// The server refused AUTH (`535`, `454`, `534`, …); see ``SMTPError/reply`` and ``SMTPError/saslDetail``.
        case authenticationFailed
        /// The server refused a command with a `4yz`/`5yz` reply.
        case commandFailed
        /// The server sent bytes that are not SMTP replies, or a reply that makes no sense here.
        case protocolViolation
        /// A reply line exceeded the parser's line-length limit.
        case lineTooLong
        /// The server lacks what the request needs (an AUTH mechanism, SMTPUTF8, SIZE headroom…),
        /// or an argument cannot be sent (e.g. a CR or LF in an address).
        case unsupported
        /// The message is bigger than the server's advertised `SIZE` limit; nothing was sent.
        case messageTooLarge
        /// The connection is not encrypted and ``SMTPSecurity/none`` was not chosen: credentials stay here.
        case encryptionRequired
    }

    /// Failure category.
    public var kind: Kind
    /// The server's reply, when a reply caused the failure.
    public var reply: SMTPReply?
    /// The command name (e.g. `EHLO`, `AUTH`, `RCPT`) — never its arguments.
    public var command: String?
    /// Client-side detail for failures the server did not describe (never contains secrets).
    public var detail: String?
    /// Why TLS failed, when it did (see ``TransportFailure/TLSFault``).
    public var tlsFault: TransportFailure.TLSFault?
    /// What the SASL mechanism learned from the server (``SASL/SASLMechanism/failureDetail``),
    /// e.g. `status 401, schemes bearer, scope mail` for a refused OAuth token.
    public var saslDetail: String?

    /// Creates an error.
    public init(_ kind: Kind, reply: SMTPReply? = nil, command: String? = nil, detail: String? = nil, saslDetail: String? = nil) {
        self.kind = kind
        self.reply = reply
        self.command = command
        self.detail = detail
        self.saslDetail = saslDetail
    }

    /// The reply code, e.g. `535`.
    public var code: Int? { self.reply?.code }
    /// The enhanced status code, e.g. `5.7.8`.
    public var enhancedStatusCode: EnhancedStatusCode? { self.reply?.enhancedStatusCode }

    /// The server said `5yz`: repeating the same request will fail the same way.
    public var isPermanent: Bool { self.reply?.isPermanentNegative ?? false }
    /// The server said `4yz`: the same request may succeed later.
    public var isTransient: Bool { self.reply?.isTransientNegative ?? false }

    public var description: String {
        var text = "SMTP \(self.kind)"
        if let command = self.command { text += " (\(command))" }
        if let reply = self.reply {
            text += ": \(reply.code)"
            text += " " + reply.lines.joined(separator: " / ")
        }
        if let detail = self.detail { text += " — \(detail)" }
        if let saslDetail = self.saslDetail { text += " [SASL: \(saslDetail)]" }
        return text
    }
}

extension SMTPError {
    /// The SMTP form of a transport failure (same kinds and wording as IMAP's).
    init(_ failure: TransportFailure) {
        let kind: Kind = switch failure.kind {
        case .tls: .tlsFailed
        case .closed: .connectionClosed
        case .connectTimeout: .timeout
        case .connectFailed: .connectionFailed
        }
        self.init(kind, command: failure.command, detail: failure.detail)
        self.tlsFault = failure.tlsFault
    }

    /// `error` itself if it already is an ``SMTPError``, otherwise its transport classification.
    static func wrapping(_ error: any Error) -> SMTPError {
        error as? SMTPError ?? SMTPError(TransportFailure(classifying: error))
    }
}
