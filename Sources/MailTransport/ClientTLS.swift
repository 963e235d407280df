import NIOCore
import NIOSSL

/// The client TLS policy shared by IMAP and SMTP, kept in one place so the two cannot drift apart.
public enum ClientTLS {
    /// A client context with full chain and host-name verification and TLS 1.2 or newer.
    ///
    /// `trustedCertificatesPEMFile` only *adds* roots (e.g. a private CA) to the system ones; there
    /// is deliberately no way to turn verification off.
    public static func makeContext(trustedCertificatesPEMFile: String?) throws(TransportFailure) -> NIOSSLContext {
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            configuration.minimumTLSVersion = .tlsv12
            if let path = trustedCertificatesPEMFile {
                configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(path))]
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TransportFailure(.tls, detail: "cannot set up TLS: \(error)")
        }
    }

    /// The TLS handler for a connection to `host`.
    ///
    /// SNI must not carry an IP literal, so for those no server name is sent (the certificate is
    /// then checked against the address).
    public static func makeHandler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isIPAddress ? nil : host)
    }
}
