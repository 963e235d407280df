/// What `SELECT`/`EXAMINE` reported about a mailbox.
///
/// `uidValidity` must be stored with any remembered UID: if it changes, old UIDs are void
/// (RFC 9051 §2.3.1.1).
public struct MailboxStatus: Sendable, Equatable {
    /// `[UIDVALIDITY n]`.
    public var uidValidity: UInt32
    /// `[UIDNEXT n]` if the server sent it (a hint, not a promise).
    public var uidNext: UInt32?
    /// Number of messages (`* n EXISTS`).
    public var exists: Int
    /// `true` when opened with EXAMINE or the server answered `[READ-ONLY]`.
    public var readOnly: Bool

    /// Creates a status value.
    public init(uidValidity: UInt32, uidNext: UInt32?, exists: Int, readOnly: Bool) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.exists = exists
        self.readOnly = readOnly
    }
}
