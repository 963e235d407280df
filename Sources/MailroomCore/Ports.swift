import Foundation

/// A secret sealed by the Vault: opaque bytes, safe to store and useless without the key.
public struct SealedSecret: Sendable, Equatable {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
}

/// The only code that sees plaintext secrets seals and opens them.
public protocol SecretVault: Sendable {
    func seal(_ secret: String, for context: SecretContext) throws -> SealedSecret
    func open(_ sealed: SealedSecret, for context: SecretContext) throws -> String
}

/// What a sealed secret is for and whose it is, sealed into it as AES-GCM associated data: a sealed password
/// copied into another mailbox's row, or an access token put where a refresh token belongs, does not open.
/// Bound to the mailbox's address (unique, and never changed), so a database can be moved or renumbered.
public struct SecretContext: Sendable, Equatable, CustomStringConvertible {
    public let description: String

    private init(_ purpose: String, mailbox: String?) {
        description = "mailroom/v2/\(purpose)" + (mailbox.map { "/" + $0.lowercased() } ?? "")
    }

    /// A mailbox's password (for fetching and, with its own SMTP server, sending).
    public static func password(of mailbox: String) -> SecretContext { SecretContext("password", mailbox: mailbox) }
    public static func accessToken(of mailbox: String) -> SecretContext { SecretContext("access-token", mailbox: mailbox) }
    public static func refreshToken(of mailbox: String) -> SecretContext { SecretContext("refresh-token", mailbox: mailbox) }
    /// A sign-in under way (its PKCE verifier and nonce), bound to its state.
    public static func pendingSignIn(state: String) -> SecretContext { SecretContext("pending-sign-in/" + state, mailbox: nil) }
    /// The value that ties a database to its key.
    public static let keyCheck = SecretContext("key-check", mailbox: nil)
}

/// Where a mailbox's fetching stands: meaningful only together with the folder's UIDVALIDITY (RFC 9051 §2.3.1.1).
public struct SyncWatermark: Sendable, Equatable, Codable {
    public var uidValidity: UInt32
    public var lastUID: UInt32
    /// The server, account and folder whose UIDs these are (see ``SyncSource``); nil for a position saved before
    /// Mailroom recorded it. UIDs of another account can coincide, UIDVALIDITY included.
    public var source: String?
    public init(uidValidity: UInt32, lastUID: UInt32, source: String? = nil) {
        self.uidValidity = uidValidity
        self.lastUID = lastUID
        self.source = source
    }
}

/// Names where UIDs come from: the same UID and UIDVALIDITY on another server, account or folder is another
/// message, so a watermark or a delete is only ever applied where it was counted.
public enum SyncSource {
    public static func of(_ server: IncomingServer) -> String {
        "imap://\(server.username.lowercased())@\(server.host.lowercased()):\(server.port)/\(server.folder)"
    }
}

/// What filing one email did.
public enum IngestOutcome: Sendable, Equatable {
    case openedTicket(TicketNumber)
    case joinedTicket(TicketNumber)
    /// Already filed (a refetch after a crash or a UIDVALIDITY change); nothing written but the watermark.
    case duplicate(TicketNumber)
}

/// An entry of a mailbox's activity log.
public struct ActivityEntry: Sendable, Codable, Equatable {
    public var at: Date
    public var kind: String
    public var text: String
    public init(at: Date, kind: String, text: String) {
        self.at = at
        self.kind = kind
        self.text = text
    }
}

/// An OAuth grant as the Store keeps it: who granted what, in clear for display and identity checks; the tokens
/// sealed by the Vault.
public struct StoredGrant: Sendable, Equatable {
    /// `microsoft`, `google` or `oidc`.
    public var provider: String
    public var tenant: String?
    /// The account that signed in (for a shared mailbox, the delegate).
    public var account: String
    /// The account's stable ID (Microsoft `oid`, else `sub`).
    public var subject: String
    public var scopes: [String]
    public var accessToken: SealedSecret
    public var accessTokenExpiresAt: Date
    public var refreshToken: SealedSecret?
    public var obtainedAt: Date
    public var refreshedAt: Date?
    /// Bumped on every write; a refresh saves only over the version it read, so two refreshers cannot lose a
    /// rotated refresh token to each other.
    public var version: Int64

    public init(
        provider: String, tenant: String?, account: String, subject: String, scopes: [String], accessToken: SealedSecret,
        accessTokenExpiresAt: Date, refreshToken: SealedSecret?, obtainedAt: Date, refreshedAt: Date?, version: Int64 = 0
    ) {
        self.provider = provider
        self.tenant = tenant
        self.account = account
        self.subject = subject
        self.scopes = scopes
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.refreshToken = refreshToken
        self.obtainedAt = obtainedAt
        self.refreshedAt = refreshedAt
        self.version = version
    }
}

/// An agent's reply as it enters the outbox: the composed bytes plus what the ticket shows of it.
public struct OutboundReply: Sendable {
    public var ticket: TicketNumber
    public var mailbox: MailboxID
    public var messageID: String
    public var from: Person
    public var to: [Person]
    public var cc: [Person]
    public var subject: String
    public var textBody: String
    /// The SMTP envelope: `MAIL FROM` and `RCPT TO`.
    public var envelopeFrom: String
    public var recipients: [String]
    public var raw: [UInt8]

    public init(
        ticket: TicketNumber, mailbox: MailboxID, messageID: String, from: Person, to: [Person], cc: [Person], subject: String,
        textBody: String, envelopeFrom: String, recipients: [String], raw: [UInt8]
    ) {
        self.ticket = ticket
        self.mailbox = mailbox
        self.messageID = messageID
        self.from = from
        self.to = to
        self.cc = cc
        self.subject = subject
        self.textBody = textBody
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.raw = raw
    }
}

/// Where a reply stands: shown on the ticket, so an accepted reply is never silently dropped.
public enum DeliveryState: String, Sendable, Codable {
    /// Waiting for its first attempt or for a retry after a temporary failure.
    case queued
    case sent
    /// Refused for good (or retried until the retry window closed); `lastError` says why.
    case failed
}

/// One reply in the outbox.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    /// The reply's row among the ticket's messages.
    public var messageRowID: Int64
    public var ticket: TicketNumber
    public var mailbox: MailboxID?
    public var envelopeFrom: String
    public var recipients: [String]
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: Int64, messageRowID: Int64, ticket: TicketNumber, mailbox: MailboxID?, envelopeFrom: String, recipients: [String],
        state: DeliveryState, attempts: Int, nextAttemptAt: Date, lastError: String?, createdAt: Date, sentAt: Date?
    ) {
        self.id = id
        self.messageRowID = messageRowID
        self.ticket = ticket
        self.mailbox = mailbox
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// What one delivery attempt came to.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent
    case retry(error: String, at: Date)
    case failed(error: String)
}

/// The persistence Mailroom's workers and pages need; implemented by Storage on SQLite and PostgreSQL.
public protocol MailroomStore: GrantRenewalClaims {
    /// Creates a password mailbox; the password serves every direction the mailbox uses its own server for.
    func createMailbox(_ mailbox: ValidMailbox, incomingSecret: SealedSecret?, at: Date) async throws -> Mailbox
    /// Creates a mailbox that signs in with OAuth, together with its grant, in one transaction.
    func createMailbox(_ mailbox: ValidMailbox, grant: StoredGrant, at: Date) async throws -> Mailbox
    /// The mailbox's OAuth grant, if it has one.
    func grant(_ id: MailboxID) async throws -> StoredGrant?
    /// Saves a refreshed grant only if the stored one still has `expectedVersion`; returns whether it did.
    /// The saved grant's version is `expectedVersion + 1`.
    func replaceGrant(_ id: MailboxID, with grant: StoredGrant, expectedVersion: Int64) async throws -> Bool
    func mailboxes() async throws -> [Mailbox]
    func mailbox(_ id: MailboxID) async throws -> Mailbox?
    /// Removes the mailbox and its credentials; its tickets stay.
    func removeMailbox(_ id: MailboxID) async throws -> Bool
    func incomingSecret(_ id: MailboxID) async throws -> SealedSecret?
    /// The password for the mailbox's own SMTP server (the same account's, stored per direction).
    func outgoingSecret(_ id: MailboxID) async throws -> SealedSecret?

    func watermark(_ id: MailboxID, folder: String) async throws -> SyncWatermark?
    /// Sets the watermark without filing mail (an empty folder, or a new UIDVALIDITY).
    func setWatermark(_ id: MailboxID, folder: String, _ watermark: SyncWatermark, at: Date) async throws
    /// Files one email and moves the watermark in one transaction, so a crash can only cause a refetch.
    ///
    /// The commit is atomic but not yet durable: a power failure may undo it, together with its watermark, which
    /// only means the mail is fetched again from the server that still holds it. Call ``makeDurable()`` before
    /// anything that relies on it surviving (deleting the mail from the server).
    func ingest(_ email: IncomingEmail, mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> IngestOutcome
    /// Files several emails and moves the watermark in one transaction (atomic, durable only after ``makeDurable()``).
    func ingest(_ emails: [IncomingEmail], mailbox: MailboxID, folder: String, watermark: SyncWatermark) async throws -> [IngestOutcome]
    /// Returns once every commit so far survives a power failure: the durable point before a destructive step.
    /// Every other write is durable when it returns; a durable commit also makes every earlier one durable.
    func makeDurable() async throws
    /// Writes raw messages where the store keeps them apart from its rows (SQLite's mail archive, PostgreSQL's
    /// `raw_blobs`) and returns with where each went; nil when the store keeps these in its rows. Set the locations as
    /// ``IncomingEmail/archived`` before filing: they are durable no later than the commit that files them (synced
    /// first, or earlier in the same log), so a row never refers to bytes a power failure could take. It does not
    /// wait for the group before, so it runs while that one is committing.
    func archive(_ raws: [[UInt8]]) async throws -> [RawLocation]?

    /// Files one email that arrived over SMTP (no folder, no watermark); committed before the sender hears `250`.
    func receive(_ email: IncomingEmail, mailbox: MailboxID) async throws -> IngestOutcome

    /// UIDs of this folder generation whose content is stored: the only mail delete-after-fetch may remove.
    func storedUIDs(mailbox: MailboxID, source: String, uidValidity: UInt32, through lastUID: UInt32) async throws -> Set<UInt32>

    /// Replaces the password of every direction that signs in with one (Case 2: the password changed).
    func replacePassword(_ id: MailboxID, with sealed: SealedSecret, at: Date) async throws
    /// Moves the mailbox to a new, tested OAuth sign-in in one transaction; the old settings go to «Others».
    func reconnect(_ id: MailboxID, _ change: Reconnection, at: Date) async throws -> Mailbox
    /// The settings replaced by the last reconnection, if any.
    func previousSettings(_ id: MailboxID) async throws -> PreviousSettings?

    /// The admins, who are emailed when a mailbox needs action and when it recovers.
    func admins() async throws -> [User]
    /// Claims a notice: records that the admins are told about `state` (nil: the episode is over) only if the
    /// recorded state is still `expected`, and returns whether this call won. A compare-and-set, so of several
    /// nodes seeing the same notice due exactly one sends it; the winner that fails to send sets it back
    /// (`from: state, to: expected`) so a later pass retries. False also when the direction has no health row.
    func markNotified(_ id: MailboxID, _ direction: Direction, from expected: HealthState?, to state: HealthState?, at: Date) async throws -> Bool

    func health(_ id: MailboxID) async throws -> [Direction: ConnectionHealth]
    /// Every mailbox's health in one read: a pass over all mailboxes costs one query, not one per mailbox.
    func allHealth() async throws -> [MailboxID: [Direction: ConnectionHealth]]
    func setHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth) async throws
    /// Saves `health` only while the direction's recorded health is still `previous` (the same state and last
    /// attempt; no row at all when `previous` has no attempt and is pending), and returns whether it did. For a
    /// writer that judged from what it read: one that read before a sign-in was replaced cannot undo the fix.
    func replaceHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth, ifStill previous: ConnectionHealth) async throws -> Bool
    func log(_ id: MailboxID, _ entry: ActivityEntry) async throws
    func activity(_ id: MailboxID, limit: Int) async throws -> [ActivityEntry]

    func tickets(limit: Int, offset: Int) async throws -> [TicketSummary]
    func ticketCount() async throws -> Int
    func ticket(_ number: TicketNumber) async throws -> TicketDetail?
    /// The original bytes of a stored message, e.g. to hand out an attachment.
    func rawMessage(_ messageID: Int64) async throws -> [UInt8]?

    /// Puts a reply on its ticket and in the outbox, in one transaction.
    func enqueue(_ reply: OutboundReply, at: Date) async throws -> Delivery
    /// Queued replies whose next attempt is due, oldest first, claimed or not: for views and checks. Workers
    /// take their replies with ``claimDueDeliveries(now:limit:by:for:)``.
    func dueDeliveries(now: Date, limit: Int) async throws -> [Delivery]
    /// Claims up to `limit` due replies for `node`, oldest first, and returns them: each row is claimed by one
    /// node at a time (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so nodes sharing a database send each reply once.
    /// A claim lasts `claim` by the database's clock; a reply whose claimant died is claimed again after that.
    /// Replies of a mailbox with a live claim by another node are left to that node, which keeps them in order.
    /// `now` is the node's time, compared with the schedule it wrote (`nextAttemptAt`).
    func claimDueDeliveries(now: Date, limit: Int, by node: NodeID, for claim: Duration) async throws -> [Delivery]
    /// Extends `node`'s claim on a reply before an attempt; false when the claim was lost (it expired and another
    /// node claimed the reply), in which case the reply is that node's to send.
    func renewClaim(delivery id: Int64, by node: NodeID, for claim: Duration) async throws -> Bool
    /// Records an attempt's outcome and ends the claim, only if `node` holds the reply's claim; returns whether
    /// it did. A refusal means another node claimed the reply meanwhile (and will record its own attempt).
    @discardableResult
    func record(_ outcome: DeliveryOutcome, delivery id: Int64, claimedBy node: NodeID, at: Date) async throws -> Bool
    /// The ticket's replies and where each stands, by message row.
    func deliveries(ticket: TicketNumber) async throws -> [Int64: Delivery]
}
