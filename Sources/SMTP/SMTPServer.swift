/// How the SMTP connection is protected. Chosen explicitly by the operator.
public enum SMTPSecurity: String, Sendable, Codable, CaseIterable {
    /// TLS from the first byte ("submissions", port 465, RFC 8314).
    case implicitTLS
    /// Plain TCP upgraded with `STARTTLS` before anything else (port 587). Fails if the upgrade fails.
    case startTLS
    /// No encryption at all. Only for loopback/test servers; the only mode in which AUTH may run in plaintext.
    case none
}

/// Where and how to connect. A plain value so it can be stored in configuration.
public struct SMTPServer: Sendable, Equatable {
    /// Host name or IP literal. Also the name the certificate must match.
    public var host: String
    /// TCP port (465 for `.implicitTLS`, 587 for `.startTLS`).
    public var port: Int
    /// Transport protection.
    public var security: SMTPSecurity
    /// Extra CA bundle (PEM) trusted in addition to the system roots, e.g. a private CA.
    ///
    /// Certificate verification is always on for `.implicitTLS`/`.startTLS` (full chain + host name);
    /// this only widens the set of trusted roots.
    public var trustedCertificatesPEMFile: String?
    /// Per-step time limits.
    public var timeouts: SMTPTimeouts
    /// The name we give in `EHLO`/`HELO`. `nil` sends the address literal of our end of the
    /// connection (e.g. `[192.0.2.7]`), which RFC 5321 §4.1.4 allows when there is no meaningful name.
    public var localHostname: String?

    /// Creates a server description.
    public init(
        host: String,
        port: Int,
        security: SMTPSecurity,
        trustedCertificatesPEMFile: String? = nil,
        timeouts: SMTPTimeouts = .default,
        localHostname: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
        self.timeouts = timeouts
        self.localHostname = localHostname
    }
}

/// Per-step time limits. Every network wait in ``SMTPClient`` is bounded by one of these.
///
/// The defaults are RFC 5321 §4.5.3.2's minimums for the mail transaction; the session commands
/// (EHLO, STARTTLS, AUTH, QUIT, RSET, NOOP) use the shorter ``command`` limit.
public struct SMTPTimeouts: Sendable, Equatable {
    /// TCP connect.
    public var connect: Duration
    /// From connected to the `220` greeting (includes the TLS handshake for `.implicitTLS`). RFC: 5 minutes.
    public var greeting: Duration
    /// EHLO/HELO, STARTTLS (including the handshake), AUTH (each step), RSET, NOOP, QUIT.
    public var command: Duration
    /// `MAIL FROM`. RFC: 5 minutes.
    public var mail: Duration
    /// Each `RCPT TO`. RFC: 5 minutes.
    public var rcpt: Duration
    /// `DATA` until the `354`. RFC: 2 minutes.
    public var dataInitiation: Duration
    /// Each block of message data written to the socket. RFC: 3 minutes.
    public var dataBlock: Duration
    /// From the final `.` to the reply. RFC: 10 minutes.
    public var dataTermination: Duration

    /// Creates a timeout set; the defaults follow RFC 5321 §4.5.3.2.
    public init(
        connect: Duration = .seconds(30),
        greeting: Duration = .seconds(300),
        command: Duration = .seconds(60),
        mail: Duration = .seconds(300),
        rcpt: Duration = .seconds(300),
        dataInitiation: Duration = .seconds(120),
        dataBlock: Duration = .seconds(180),
        dataTermination: Duration = .seconds(600)
    ) {
        self.connect = connect
        self.greeting = greeting
        self.command = command
        self.mail = mail
        self.rcpt = rcpt
        self.dataInitiation = dataInitiation
        self.dataBlock = dataBlock
        self.dataTermination = dataTermination
    }

    /// 30 s connect, 5 min greeting, 60 s per session command, and RFC 5321's transaction limits.
    public static let `default` = SMTPTimeouts()
}
