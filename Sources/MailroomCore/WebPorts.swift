import Foundation

/// What the admin pages change on a mailbox beyond ``MailroomStore``: pausing, and the banner's question.
public protocol MailboxAdministration: Sendable {
    /// Pauses or resumes fetching for a mailbox («Paused»: turned off by an admin), with an activity-log entry;
    /// false when there is no such mailbox.
    func setEnabled(_ id: MailboxID, _ enabled: Bool, at: Date) async throws -> Bool
    /// Mailboxes with a stored direction in «Reauthorization required» or «Migration to OAuth required», by id: most
    /// of what raises the banner (a migration the configuration implies but no job recorded yet is the rest).
    func mailboxesNeedingReauthorization() async throws -> [MailboxID]
}

/// A store that can say whether it answers, for `/healthz`.
public protocol StoreProbe: Sendable {
    /// A trivial round trip; throws when the store cannot be reached.
    func ping() async throws
}

/// Everything the Web layer needs of persistence, as ports: it holds `any WebStore`, so it never sees SQL and its
/// routes can be tested against an in-memory store.
public typealias WebStore = MailroomStore & AccountStore & MailboxAdministration & StoreProbe
