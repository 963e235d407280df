import Foundation

/// One `mailroom serve` process among those sharing a database: a random UUID per process plus the host's name
/// (`MAILROOM_NODE_ID` overrides), so a restarted process is a new node and never mistakes an old lease for its own.
public struct NodeID: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One process start, told apart from any other process given the same node name: leases belong to a name (so a
/// node restarted under its name takes its mailboxes back), and two live processes under one name would both
/// fetch its mailboxes and send its replies. The name's heartbeat row records the instance that holds it.
public struct NodeInstance: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// A new random instance: one per process start.
    public init() { self.rawValue = UUID().uuidString.lowercased() }
    public var description: String { rawValue }
}

/// What a heartbeat found.
public enum NodeHeartbeat: Sendable, Equatable {
    /// The name is this process's: the nodes alive now, this one included.
    case live(Set<NodeID>)
    /// Another process with an unexpired heartbeat holds this name: this one must hold no lease and send nothing.
    case nameTaken
}

/// Who fetches which mailbox when several nodes share one database: a lease row per mailbox, held by one node
/// until it expires. Every expiry is judged by the database's clock (PostgreSQL `now()`, SQLite's
/// `julianday('now')`), never by a node's: nodes' clocks drift apart by seconds, and a lease of 30 s compared
/// against two clocks could have two holders or none. Nodes pass only durations.
///
/// Acquisition is atomic (one conditional upsert per mailbox): of two nodes racing for a free or expired lease,
/// exactly one gets it.
public protocol LeaseStore: Sendable {
    /// Records that `node`, run by the process `instance`, is alive for `lasting` more, and returns the nodes alive
    /// now (this one included); or ``NodeHeartbeat/nameTaken`` when another process whose heartbeat has not expired
    /// runs under the same name, which is then left alone.
    func heartbeat(_ node: NodeID, instance: NodeInstance, lasting: Duration) async throws -> NodeHeartbeat
    /// Tries `candidates` in order and takes each lease that is free, expired or already `node`'s, until `limit`
    /// are taken; returns the ones taken. Mailboxes that no longer exist are skipped.
    func acquireLeases(_ candidates: [MailboxID], limit: Int, for node: NodeID, lasting: Duration) async throws -> Set<MailboxID>
    /// Extends every lease `node` still holds by `lasting`; returns them. A lease another node took after it
    /// expired is not `node`'s any more and is not returned.
    func renewLeases(of node: NodeID, lasting: Duration) async throws -> Set<MailboxID>
    /// Gives up these leases of `node` at once (a surplus after another node arrived).
    func releaseLeases(_ mailboxes: Set<MailboxID>, of node: NodeID) async throws
    /// A graceful shutdown: deletes every lease of `node` and its heartbeat, so others take over at once; nothing
    /// when the name is another live process's.
    func departNode(_ node: NodeID, instance: NodeInstance) async throws
    /// The unexpired leases: which node fetches which mailbox now.
    func leaseHolders() async throws -> [MailboxID: NodeID]
}
