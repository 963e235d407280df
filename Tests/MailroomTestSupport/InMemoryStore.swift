import Foundation
import MailroomCore

/// The Store in memory, for route and worker tests that need no database: the same ports as `SQLStore`
/// (``MailroomStore``, ``AccountStore``, ``MailboxAdministration``, ``StoreProbe``) with the semantics callers rely
/// on — one transaction per call (a call that throws changes nothing), dedupe per mailbox, threading through
/// ``ConversationMembership``, the grant's version guard, the outbox's schedule, timestamps kept to the millisecond.
///
/// What it does not imitate: SQL's own refusals beyond a duplicate address or a missing row, and hashing of session
/// tokens (it keeps them as given; nothing here outlives the test).
public actor InMemoryStore {
    var state = State()
    /// When false, ``ping()`` fails as an unreachable database does.
    var reachable = true
    /// The store's own clock, which judges leases and claims as the database's clock does for `SQLStore`.
    var clock: @Sendable () -> Date = { Date() }

    public init() {}

    /// Runs `body` on a copy of the state and keeps the copy only if it returns: the in-memory transaction.
    func transaction<T>(_ body: (inout State) throws -> T) rethrows -> T {
        var copy = state
        let result = try body(&copy)
        state = copy
        return result
    }

    /// Makes ``ping()`` fail (false) or succeed (true), to test what depends on the database answering.
    public func setReachable(_ reachable: Bool) { self.reachable = reachable }

    /// Timestamps as the SQL store keeps them: whole milliseconds since 1970.
    static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}

extension InMemoryStore {
    /// Every table as a value, so a transaction is a copy.
    struct State {
        var nextID: Int64 = 1
        var mailboxes: [MailboxID: MailboxRow] = [:]
        var credentials: [MailboxID: [Direction: SealedSecret]] = [:]
        var grants: [MailboxID: StoredGrant] = [:]
        var watermarks: [MailboxID: [String: SyncWatermark]] = [:]
        var health: [MailboxID: [Direction: ConnectionHealth]] = [:]
        var activity: [ActivityRow] = []
        var tickets: [TicketNumber: TicketSummary] = [:]
        var messages: [MessageRow] = []
        var outbox: [Delivery] = []
        var users: [UserRow] = []
        var sessions: [String: SessionRow] = [:]
        /// Mailbox leases and node heartbeats (``LeaseStore``), and who is sending which reply until when.
        var leases: [MailboxID: LeaseRow] = [:]
        var nodes: [NodeID: (expiresAt: Date, instance: NodeInstance)] = [:]
        var claims: [Int64: LeaseRow] = [:]
        /// Who is renewing each grant, until when, and which version (a saved grant ends the claim).
        var renewalClaims: [MailboxID: (node: String, until: Date, version: Int64)] = [:]
        var throttle: [String: SignInThrottle.Tally] = [:]
        var pendingSignIns: [String: (sealed: SealedSecret, expiresAt: Date)] = [:]

        /// Ids from one sequence, as unique as the SQL tables' own and always increasing.
        mutating func newID() -> Int64 {
            defer { nextID += 1 }
            return nextID
        }

        mutating func log(_ id: MailboxID, at date: Date, kind: String, text: String) {
            activity.append(ActivityRow(id: newID(), mailbox: id, entry: ActivityEntry(at: InMemoryStore.stored(date), kind: kind, text: text)))
        }
    }

    struct MailboxRow {
        var mailbox: Mailbox
        var previous: PreviousSettings?
    }

    struct ActivityRow {
        var id: Int64
        var mailbox: MailboxID
        var entry: ActivityEntry
    }

    /// A row of the SQL store's `messages` table.
    struct MessageRow {
        var id: Int64
        var ticket: TicketNumber
        var mailbox: MailboxID?
        var direction: MessageDirection
        var dedupeKey: String
        var messageID: String?
        var from: Person
        var to: [Person]
        var cc: [Person]
        var subject: String
        var textBody: String
        var htmlBody: String?
        var attachments: [AttachmentInfo]
        var defects: [String]
        var sentAt: Date?
        var receivedAt: Date
        var uidValidity: UInt32?
        var uid: UInt32?
        var raw: [UInt8]
        /// nil for replies and for notices without content.
        var contentHash: String?
        var automatic: AutomaticMailKind?
        var source: String?

        var shown: TicketMessage {
            TicketMessage(
                id: id, from: from, to: to, cc: cc, subject: subject, messageID: messageID, textBody: textBody, htmlBody: htmlBody,
                attachments: attachments, receivedAt: receivedAt, sentAt: sentAt, rawSize: raw.count, defects: defects,
                direction: direction, automatic: automatic)
        }
    }

    /// A lease or a claim: whose, until when (by the store's clock, ``InMemoryStore/clock``).
    struct LeaseRow {
        var node: NodeID
        var expiresAt: Date
    }

    struct UserRow {
        var user: User
        var passwordHash: String
    }

    struct SessionRow {
        var userID: Int64
        var csrfToken: String
        var expiresAt: Date
    }
}

extension InMemoryStore: StoreProbe {
    public func ping() async throws {
        guard reachable else { throw StoreError.unavailable("The in-memory store was made unreachable.") }
    }
}
