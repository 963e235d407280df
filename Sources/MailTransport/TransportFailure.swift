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

    /// Failure category.
    public var kind: Kind
    /// Human-readable detail (the underlying error's description; never contains secrets).
    public var detail: String

    /// Creates a failure.
    public init(_ kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
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
            self.init(.tls, detail: "\(error)")
        case ChannelError.connectTimeout:
            self.init(.connectTimeout, detail: "\(error)")
        default:
            self.init(.closed, detail: "\(error)")
        }
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
