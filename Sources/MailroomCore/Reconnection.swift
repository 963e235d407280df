import Foundation

/// The settings a mailbox had before it moved to another sign-in: shown read-only in «Others» (never a secret),
/// so the admin can see what was replaced and when.
public struct PreviousSettings: Sendable, Codable, Equatable {
    public var provider: MailProvider
    public var incoming: IncomingServer?
    public var outgoing: OutgoingServer?
    /// The account that had signed in, for an OAuth mailbox.
    public var account: String?
    public var replacedAt: Date

    public init(provider: MailProvider, incoming: IncomingServer?, outgoing: OutgoingServer?, account: String?, replacedAt: Date) {
        self.provider = provider
        self.incoming = incoming
        self.outgoing = outgoing
        self.account = account
        self.replacedAt = replacedAt
    }
}

/// A tested new OAuth sign-in for an existing mailbox (reauthorization, Basic→OAuth migration or an account
/// switch), applied by the Store in one transaction so the mailbox is never half old, half new.
public struct Reconnection: Sendable {
    public var provider: MailProvider
    public var incoming: IncomingServer?
    public var outgoing: OutgoingServer?
    public var grant: StoredGrant
    /// Where fetching continues on a different server or account; nil keeps the sync position as it is (same
    /// mailbox on the same server: the UIDs stay valid, so nothing is fetched twice or skipped).
    public var restartAt: SyncWatermark?
    /// What the activity log says happened.
    public var summary: String

    public init(provider: MailProvider, incoming: IncomingServer?, outgoing: OutgoingServer?, grant: StoredGrant, restartAt: SyncWatermark?, summary: String) {
        self.provider = provider
        self.incoming = incoming
        self.outgoing = outgoing
        self.grant = grant
        self.restartAt = restartAt
        self.summary = summary
    }
}
