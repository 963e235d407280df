import Foundation
import MailroomCore

/// Mailbox leases in memory: the same rules as the SQL store's (free, expired or already yours may be taken;
/// expiry by the store's clock), for Engine tests of the lease keeper without a database.
extension InMemoryStore: LeaseStore {
    /// Moves the store's clock, e.g. to let leases expire without waiting.
    public func setClock(_ clock: @escaping @Sendable () -> Date) { self.clock = clock }

    public func heartbeat(_ node: NodeID, instance: NodeInstance, lasting: Duration) async throws -> NodeHeartbeat {
        let now = clock()
        if let row = state.nodes[node], row.instance != instance, row.expiresAt > now { return .nameTaken }
        state.nodes[node] = (now.addingTimeInterval(Self.seconds(lasting)), instance)
        return .live(Set(state.nodes.filter { $0.value.expiresAt > now }.keys))
    }

    public func acquireLeases(_ candidates: [MailboxID], limit: Int, for node: NodeID, lasting: Duration) async throws -> Set<MailboxID> {
        let now = clock()
        var won: Set<MailboxID> = []
        for id in candidates where won.count < limit && state.mailboxes[id] != nil {
            if let lease = state.leases[id], lease.expiresAt > now, lease.node != node { continue }
            state.leases[id] = LeaseRow(node: node, expiresAt: now.addingTimeInterval(Self.seconds(lasting)))
            won.insert(id)
        }
        return won
    }

    public func renewLeases(of node: NodeID, lasting: Duration) async throws -> Set<MailboxID> {
        let until = clock().addingTimeInterval(Self.seconds(lasting))
        var renewed: Set<MailboxID> = []
        for (id, lease) in state.leases where lease.node == node {
            state.leases[id]?.expiresAt = until
            renewed.insert(id)
        }
        return renewed
    }

    public func releaseLeases(_ mailboxes: Set<MailboxID>, of node: NodeID) async throws {
        for id in mailboxes where state.leases[id]?.node == node { state.leases[id] = nil }
    }

    public func departNode(_ node: NodeID, instance: NodeInstance) async throws {
        if let row = state.nodes[node], row.instance != instance { return }
        state.leases = state.leases.filter { $0.value.node != node }
        state.nodes[node] = nil
    }

    public func leaseHolders() async throws -> [MailboxID: NodeID] {
        let now = clock()
        return state.leases.filter { $0.value.expiresAt > now }.mapValues(\.node)
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
