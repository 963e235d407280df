import IMAP

/// How the inbound workers behave; operator configuration.
public struct SyncSettings: Sendable {
    /// Time between polls of a healthy mailbox (default 60 s).
    public var pollInterval: Duration
    /// UIDs fetched per UID FETCH command. Messages stream in one at a time and are committed in groups, and the
    /// commits run on into the next batch, so this bounds neither memory nor the work redone after a crash: only
    /// how much one command asks for, and how often a pass with delete-after-fetch stops to delete.
    public var fetchBatchSize: Int
    /// Emails committed per transaction (and at most ``commitGroupBytes``, which bounds it first for most mail): a
    /// group costs a handful of statements and one sync of the mail archive whatever its size, and a crash
    /// refetches at most one group per commit in flight. 250 rather than 100 filed the bench corpus about 8% faster.
    public var commitGroupSize: Int
    /// Raw bytes of one commit group at most: with the groups waiting to commit, what a pass holds stays bounded.
    public static let commitGroupBytes = 8 << 20

    /// Whether a group of this many emails and raw bytes is complete and goes to commit.
    public func closesGroup(emails: Int, bytes: Int) -> Bool { emails >= commitGroupSize || bytes >= Self.commitGroupBytes }
    /// Mailboxes synced at once.
    public var maxConcurrentMailboxes: Int
    /// Extra CA certificates (PEM) to trust for mail servers, beside the system's.
    public var trustedCertificatesPEMFile: String?
    /// Largest message accepted from a server, in bytes.
    public var maxMessageSize: Int
    /// How long a server may take to connect, greet and answer before the attempt counts as a timeout.
    public var imapTimeouts: IMAPTimeouts
    /// Push: keep one session per mailbox open and wait in IDLE (RFC 2177) for new mail, instead of polling.
    public var push: Bool
    /// How long one IDLE lasts before it is re-issued (servers end it after about 30 minutes; RFC 2177 says 29).
    public var idleRenewal: Duration
    /// How often a session fetches whatever the server announced (a server that fails to announce mail cannot
    /// hide it longer than this).
    public var reconcileInterval: Duration

    public init(
        pollInterval: Duration = .seconds(60), fetchBatchSize: Int = 500, commitGroupSize: Int = 250, maxConcurrentMailboxes: Int = 4,
        trustedCertificatesPEMFile: String? = nil, maxMessageSize: Int = 64 << 20, imapTimeouts: IMAPTimeouts = .default,
        push: Bool = false, idleRenewal: Duration = .seconds(25 * 60), reconcileInterval: Duration = .seconds(15 * 60)
    ) {
        self.push = push
        self.idleRenewal = min(idleRenewal, .seconds(25 * 60))
        self.reconcileInterval = reconcileInterval
        self.imapTimeouts = imapTimeouts
        self.pollInterval = pollInterval
        self.fetchBatchSize = fetchBatchSize
        self.commitGroupSize = max(1, commitGroupSize)
        self.maxConcurrentMailboxes = maxConcurrentMailboxes
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
        self.maxMessageSize = maxMessageSize
    }
}
