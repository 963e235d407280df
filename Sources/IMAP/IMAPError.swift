import MailTransport

/// The single error type thrown by ``IMAPClient``.
///
/// Designed for classification (retry / re-authorize / alert an admin) and for safe logging:
/// it carries the command *name* only and the server's text, never arguments or credentials.
public struct IMAPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Failure category.
    public enum Kind: Sendable, Equatable {
        /// TCP connection could not be established.
        case connectionFailed
        /// TLS handshake or certificate verification failed (or STARTTLS was refused).
        case tlsFailed
        /// A step exceeded its ``IMAPTimeouts`` limit.
        case timeout
        /// The server hung up or said `BYE`.
        case connectionClosed
        /// Tagged `NO`.
        case commandFailed
        /// Tagged `BAD`.
        case commandRejected
        /// `NO` to LOGIN/AUTHENTICATE; see ``IMAPError/code`` for the RFC 5530 reason.
        case authenticationFailed
        /// The server advertises `LOGINDISABLED` and offers no usable alternative.
        case loginDisabled
        /// The server sent bytes we could not parse.
        case protocolViolation
        /// A literal exceeded ``IMAPServer/maxLiteralSize``.
        case literalTooLarge
        /// A response line exceeded the line-length limit.
        case lineTooLong
        /// The server lacks a required capability (e.g. UIDPLUS), or an argument cannot be sent.
        case unsupported
    }

    /// Failure category.
    public var kind: Kind
    /// Response code from the server's status response, if any (RFC 5530 and friends).
    public var code: ResponseCode?
    /// The server's human-readable text, e.g. "Authentication failed.".
    public var serverText: String?
    /// The command name (e.g. `LOGIN`, `SELECT`) — never its arguments.
    public var command: String?
    /// Client-side detail for failures the server did not describe (never contains secrets).
    public var detail: String?
    /// Why TLS failed, when it did (see ``TransportFailure/TLSFault``).
    public var tlsFault: TransportFailure.TLSFault?

    /// Creates an error.
    public init(_ kind: Kind, code: ResponseCode? = nil, serverText: String? = nil, command: String? = nil, detail: String? = nil) {
        self.kind = kind
        self.code = code
        self.serverText = serverText
        self.command = command
        self.detail = detail
    }

    public var description: String {
        var text = "IMAP \(self.kind)"
        if let command = self.command { text += " (\(command))" }
        if let code = self.code { text += " [\(code)]" }
        if let serverText = self.serverText { text += ": \(serverText)" }
        if let detail = self.detail { text += " — \(detail)" }
        return text
    }
}

extension IMAPError {
    /// The IMAP form of a transport failure (same kinds and wording as SMTP's).
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

    /// `error` itself if it already is an ``IMAPError``, otherwise its transport classification.
    static func wrapping(_ error: any Error) -> IMAPError {
        error as? IMAPError ?? IMAPError(TransportFailure(classifying: error))
    }
}
