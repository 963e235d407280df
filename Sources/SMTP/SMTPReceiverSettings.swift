import Foundation
import NIOSSL

/// How much one client may take from ``SMTPReceiver``: sizes, counts and time limits.
///
/// The defaults suit a receiver that only takes mail from a few forwarding servers: RFC 5321's
/// minimums where it has them, and limits small enough that no one client can hold the receiver.
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
    /// `NOOP`, `RSET`, `VRFY` and `HELP` tolerated per session, so no client keeps a slot forever by chatting.
    public var maxJunkCommands: Int
    /// Failed `AUTH` attempts per session before it is closed with `421 4.7.0`.
    public var maxAuthenticationFailures: Int
    /// Total time from being ready for a command until its whole line has arrived (includes the TLS
    /// handshake after `STARTTLS`). A total, not an idle timer, so a client trickling a byte now and
    /// then is still cut off (`421 4.4.2`). RFC 5321 §4.5.3.2.7 suggests 5 minutes.
    public var commandTimeout: Duration
    /// Total time from `354` until the final `.` (`421 4.4.2` after it). RFC 5321 §4.5.3.2.6 gives
    /// clients 10 minutes for the end of data, so this must not be shorter for real senders.
    public var dataTimeout: Duration
    /// Open connections in all; beyond it `421 4.3.2`.
    public var maxConnections: Int
    /// Open connections from one client (an IPv4 address, or an IPv6 /64, which one host usually has
    /// whole); beyond it `421 4.7.0`.
    public var maxConnectionsPerClient: Int
    /// Message data beyond this many bytes goes to a spool file, in chunks of this size, so memory per
    /// connection stays bounded however large the message.
    public var spoolThreshold: Int
    /// Spooled messages read back into memory for filing at the same time (the store takes whole
    /// messages); more wait, so a burst of large messages cannot multiply memory.
    public var maxConcurrentSpooledFilings: Int

    /// Creates limits. Defaults: 25 MiB messages, 100 recipients, 512-byte commands, 8 KiB text lines,
    /// 20 errors, 100 junk commands, 3 failed AUTHs, 300 s per command, 600 s per DATA, 100 connections,
    /// 10 per client, 1 MiB in memory before spooling, 4 spooled filings at once.
    public init(
        maxMessageSize: Int = 25 << 20,
        maxRecipients: Int = 100,
        maxCommandLineLength: Int = 512,
        maxTextLineLength: Int = 8192,
        maxErrors: Int = 20,
        maxJunkCommands: Int = 100,
        maxAuthenticationFailures: Int = 3,
        commandTimeout: Duration = .seconds(300),
        dataTimeout: Duration = .seconds(600),
        maxConnections: Int = 100,
        maxConnectionsPerClient: Int = 10,
        spoolThreshold: Int = 1 << 20,
        maxConcurrentSpooledFilings: Int = 4
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxCommandLineLength = maxCommandLineLength
        self.maxTextLineLength = maxTextLineLength
        self.maxErrors = maxErrors
        self.maxJunkCommands = maxJunkCommands
        self.maxAuthenticationFailures = maxAuthenticationFailures
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.spoolThreshold = spoolThreshold
        self.maxConcurrentSpooledFilings = maxConcurrentSpooledFilings
    }
}

/// Who may use ``SMTPReceiver`` and how: the networks it takes mail from, STARTTLS, and AUTH.
public struct SMTPReceiverPolicy: Sendable {
    /// Clients outside every one of these get `554 5.7.1` instead of the greeting; empty lets anyone in
    /// (recipients are still only support addresses, so the receiver never relays).
    public var allowedNetworks: [IPNetwork]
    /// The certificate offered with `STARTTLS`; `nil` offers no STARTTLS.
    public var tls: SMTPReceiverTLS?
    /// When set, `MAIL` needs a successful `AUTH PLAIN` or `AUTH LOGIN` first, and AUTH is only
    /// offered after `STARTTLS`, so the password never crosses the network in the clear.
    public var credentials: SMTPReceiverCredentials?

    /// Creates a policy. AUTH without TLS is refused: it could never be used.
    public init(
        allowedNetworks: [IPNetwork] = [], tls: SMTPReceiverTLS? = nil, credentials: SMTPReceiverCredentials? = nil
    ) throws(SMTPReceiverConfigurationError) {
        if credentials != nil && tls == nil {
            throw SMTPReceiverConfigurationError("AUTH for the SMTP receiver needs STARTTLS: set a certificate and key as well.")
        }
        self.allowedNetworks = allowedNetworks
        self.tls = tls
        self.credentials = credentials
    }

    /// Anyone, no STARTTLS, no AUTH.
    public static let open = SMTPReceiverPolicy(unchecked: ())

    private init(unchecked: Void) {
        self.allowedNetworks = []
        self.tls = nil
        self.credentials = nil
    }

    /// Whether a client at `address` may send mail; `nil` (no IP address) only when there is no allow list.
    public func allows(_ address: IPAddress?) -> Bool {
        guard !self.allowedNetworks.isEmpty else { return true }
        guard let address else { return false }
        return self.allowedNetworks.contains { $0.contains(address) }
    }
}

/// The operator's certificate and key for `STARTTLS`, loaded and checked once, at start-up.
public struct SMTPReceiverTLS: Sendable {
    public let certificateFile: String
    public let keyFile: String
    let context: NIOSSLContext

    /// Loads a PEM certificate chain (leaf first) and its PEM private key. TLS 1.2 or newer.
    ///
    /// - Throws: ``SMTPReceiverConfigurationError`` naming the file when one cannot be read or parsed,
    ///   or when the key does not belong to the certificate.
    public init(certificateFile: String, keyFile: String) throws(SMTPReceiverConfigurationError) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        guard FileManager.default.isReadableFile(atPath: certificateFile) else {
            throw SMTPReceiverConfigurationError("The SMTP receiver's certificate file «\(certificateFile)» cannot be read.")
        }
        guard FileManager.default.isReadableFile(atPath: keyFile) else {
            throw SMTPReceiverConfigurationError("The SMTP receiver's key file «\(keyFile)» cannot be read.")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw SMTPReceiverConfigurationError("The SMTP receiver's certificate file «\(certificateFile)» holds no PEM certificate.")
        }
        guard !chain.isEmpty else {
            throw SMTPReceiverConfigurationError("The SMTP receiver's certificate file «\(certificateFile)» holds no PEM certificate.")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            // Not the underlying error: it could quote the file.
            throw SMTPReceiverConfigurationError("The SMTP receiver's key file «\(keyFile)» holds no unencrypted PEM private key.")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            self.context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw SMTPReceiverConfigurationError(
                "The SMTP receiver's key «\(keyFile)» does not belong to its certificate «\(certificateFile)».")
        }
    }
}

/// The one user name and password a forwarding server signs in with. The password never prints.
public struct SMTPReceiverCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let username: String
    private let password: [UInt8]

    /// Creates credentials; both must be non-empty (the caller checks and says which is missing).
    public init(username: String, password: String) {
        self.username = username
        self.password = Array(password.utf8)
    }

    /// Compares in time that depends only on what the client sent, never on where it first differs.
    func matches(username: some Collection<UInt8>, password: some Collection<UInt8>) -> Bool {
        let userMatches = Self.constantTimeEquals(username, Array(self.username.utf8))
        let passwordMatches = Self.constantTimeEquals(password, self.password)
        return userMatches && passwordMatches
    }

    static func constantTimeEquals(_ given: some Collection<UInt8>, _ expected: [UInt8]) -> Bool {
        var difference = given.count ^ expected.count
        for (index, byte) in given.enumerated() {
            difference |= Int(byte ^ (index < expected.count ? expected[index] : 0))
        }
        return difference == 0
    }

    public var description: String { "SMTPReceiverCredentials(username: \(self.username), password: <redacted>)" }
    public var debugDescription: String { self.description }
    public var customMirror: Mirror { Mirror(self, children: ["username": self.username, "password": "<redacted>"]) }
}

/// A setting of the SMTP receiver that cannot be used; the message says which and how to fix it.
public struct SMTPReceiverConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}

/// Where and how ``SMTPReceiver`` listens.
public struct SMTPReceiverConfiguration: Sendable {
    /// Address to bind (e.g. `0.0.0.0`, `::`, `127.0.0.1`).
    public var host: String
    /// Port to bind; `0` picks a free one (see ``SMTPReceiver/port``).
    public var port: Int
    /// Our name in the greeting and replies (ideally the name in the certificate).
    public var hostname: String
    /// Sizes, counts, time limits and connection caps.
    public var limits: SMTPReceiverLimits
    /// Allowed networks, STARTTLS and AUTH.
    public var policy: SMTPReceiverPolicy
    /// Where large messages are spooled while they arrive (files `mailroom-smtp-*`, mode 0600,
    /// removed once the message is filed or refused).
    public var spoolDirectory: String

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 2525,
        hostname: String = "localhost",
        limits: SMTPReceiverLimits = SMTPReceiverLimits(),
        policy: SMTPReceiverPolicy = .open,
        spoolDirectory: String = FileManager.default.temporaryDirectory.path
    ) {
        self.host = host
        self.port = port
        self.hostname = hostname
        self.limits = limits
        self.policy = policy
        self.spoolDirectory = spoolDirectory
    }
}
