import IMAP

/// How the inbound workers behave; operator configuration.
public struct SyncSettings: Sendable {
    /// Time between polls of a healthy mailbox (default 60 s).
    public var pollInterval: Duration
    /// UIDs fetched per UID FETCH command: bounds memory and the work redone after a crash.
    public var fetchBatchSize: Int
    /// Emails committed per transaction. One commit is one fsync; a crash refetches at most this many.
    public var commitGroupSize: Int
    /// Mailboxes synced at once.
    public var maxConcurrentMailboxes: Int
    /// Extra CA certificates (PEM) to trust for mail servers, beside the system's.
    public var trustedCertificatesPEMFile: String?
    /// Largest message accepted from a server, in bytes.
    public var maxMessageSize: Int
    /// How long a server may take to connect, greet and answer before the attempt counts as a timeout.
    public var imapTimeouts: IMAPTimeouts

    public init(
        pollInterval: Duration = .seconds(60), fetchBatchSize: Int = 100, commitGroupSize: Int = 25, maxConcurrentMailboxes: Int = 4,
        trustedCertificatesPEMFile: String? = nil, maxMessageSize: Int = 64 << 20, imapTimeouts: IMAPTimeouts = .default
    ) {
        self.imapTimeouts = imapTimeouts
        self.pollInterval = pollInterval
        self.fetchBatchSize = fetchBatchSize
        self.commitGroupSize = max(1, commitGroupSize)
        self.maxConcurrentMailboxes = maxConcurrentMailboxes
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
        self.maxMessageSize = maxMessageSize
    }
}
