/// Where and how to connect. A plain value so it can be stored in configuration.
public struct IMAPServer: Sendable {
    /// Host name or IP literal. Also the name the certificate must match.
    public var host: String
    /// TCP port (usually 993 for `.tls`, 143 otherwise).
    public var port: Int
    /// Transport protection.
    public var security: IMAPSecurity
    /// Extra CA bundle (PEM) trusted in addition to the system roots, e.g. a private CA.
    ///
    /// Certificate verification is always on for `.tls`/`.starttls` (full chain + host name);
    /// this only widens the set of trusted roots.
    public var trustedCertificatesPEMFile: String?
    /// Per-step time limits.
    public var timeouts: IMAPTimeouts
    /// Largest literal (e.g. one message body) accepted from the server, in bytes.
    /// Bigger literals fail with ``IMAPError/Kind/literalTooLarge`` before any allocation.
    public var maxLiteralSize: Int

    /// Creates a server description.
    public init(
        host: String,
        port: Int,
        security: IMAPSecurity,
        trustedCertificatesPEMFile: String? = nil,
        timeouts: IMAPTimeouts = .default,
        maxLiteralSize: Int = 64 << 20
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
        self.timeouts = timeouts
        self.maxLiteralSize = maxLiteralSize
    }
}
