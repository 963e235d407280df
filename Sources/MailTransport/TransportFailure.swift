import NIOCore
import NIOSSL

/// What went wrong below the mail protocol, in the few categories both clients report.
///
/// IMAP and SMTP each throw their own public error type; they build it from this classification so
/// that the same NIO, NIOSSL or BoringSSL error becomes the same kind of failure in both.
public struct TransportFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Failure category.
    public enum Kind: Sendable, Equatable {
        /// TLS set-up, handshake or certificate verification failed.
        case tls
        /// The server or the network ended the connection.
        case closed
        /// TCP connect did not finish within the connect timeout.
        case connectTimeout
        /// TCP connect failed otherwise (refused, unreachable, unknown host, pipeline set-up).
        case connectFailed
    }

    /// Why TLS failed, for the cases an admin must fix differently; nil unless `kind` is `.tls`.
    public enum TLSFault: Sendable, Equatable {
        /// The chain does not lead to a trusted authority (self-signed, unknown CA, expired, revoked).
        case untrustedCertificate
        /// The certificate is valid but for other names.
        case wrongName
        /// The two sides share no TLS version or cipher, or the port does not speak TLS at all.
        case noCommonProtocol
        case other
    }

    /// Failure category.
    public var kind: Kind
    /// Human-readable detail (the underlying error's description; never contains secrets).
    public var detail: String
    public var tlsFault: TLSFault?

    /// Creates a failure.
    public init(_ kind: Kind, detail: String, tlsFault: TLSFault? = nil) {
        self.kind = kind
        self.detail = detail
        self.tlsFault = kind == .tls ? (tlsFault ?? .other) : nil
    }

    /// Classifies an error raised by the channel, its TLS handler or a connect attempt.
    ///
    /// An unclean TLS shutdown is the server hanging up, not a TLS problem; anything unknown counts
    /// as a closed connection, because a broken channel is all the client can conclude from it.
    public init(classifying error: any Error) {
        switch error {
        case let failure as TransportFailure:
            self = failure
        case NIOSSLError.uncleanShutdown:
            self.init(.closed, detail: "server closed the TLS connection")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            let text = "\(error)"
            if let fault = Self.tlsFault(of: error, text: text) {
                self.init(.tls, detail: text, tlsFault: fault)
            } else {
                // The handshake was cut short (EOF, reset): the network's fault, not the certificate's.
                self.init(.closed, detail: "the connection ended during the TLS handshake: \(text)")
            }
        case ChannelError.connectTimeout:
            self.init(.connectTimeout, detail: "\(error)")
        default:
            self.init(.closed, detail: "\(error)")
        }
    }

    /// What a TLS error says about who must act; nil when the handshake was merely cut short. BoringSSL's
    /// reason codes are stable names, so they are matched, not the server's words.
    static func tlsFault(of error: any Error, text: String) -> TLSFault? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { return .wrongName }
        let upper = text.uppercased()
        if upper.contains("EOF DURING HANDSHAKE") || upper.contains("UNEXPECTED_EOF") || upper.contains("CONNECTION RESET")
            || upper.contains("ECONNRESET") || upper.contains("BROKEN PIPE") {
            return nil
        }
        if upper.contains("CERTIFICATE_VERIFY_FAILED") || upper.contains("UNABLETOVALIDATECERTIFICATE") { return .untrustedCertificate }
        if upper.contains("HOSTNAME") { return .wrongName }
        for code in ["UNSUPPORTED_PROTOCOL", "NO_SHARED_CIPHER", "WRONG_VERSION_NUMBER", "PROTOCOL_VERSION", "HANDSHAKE_FAILURE", "NO_CIPHERS_AVAILABLE"]
            where upper.contains(code) {
            return .noCommonProtocol
        }
        return .other
    }

    /// The pseudo-command to blame: failures before the session exists belong to `CONNECT`.
    public var command: String? {
        switch self.kind {
        case .connectTimeout, .connectFailed: "CONNECT"
        case .tls, .closed: nil
        }
    }

    public var description: String { "\(self.kind): \(self.detail)" }
}
