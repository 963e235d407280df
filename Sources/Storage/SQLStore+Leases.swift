import Foundation
import MailroomCore
import SQLKit

/// Mailbox leases and node heartbeats: which node fetches which mailbox when several share one database.
///
/// Leases are rows, not PostgreSQL advisory locks: a row outlives a stalled connection only until it expires (an
/// advisory lock lives exactly as long as its session, so a node stuck with a live connection would hold its
/// mailboxes for ever, and a pool that reconnects would silently drop them), it can be read to show who holds what,
/// and the same statements work on SQLite. Every deadline is judged by ``DatabaseClock``.
extension SQLStore: LeaseStore {
    public func heartbeat(_ node: NodeID, instance: NodeInstance, lasting: Duration) async throws -> NodeHeartbeat {
        let now = DatabaseClock.now(database.dialect)
        let lease = DatabaseClock.millis(lasting)
        return try await database.withSQL { sql in
            // The row is taken over only from this same process or from one whose heartbeat expired: one atomic
            // upsert, so of two processes starting under one name exactly one holds it.
            let held = try await sql.raw("""
                INSERT INTO nodes (node_id, heartbeat_at, expires_at, started_at, instance)
                VALUES (\(bind: node.rawValue), \(unsafeRaw: now), \(unsafeRaw: now) + \(bind: lease), \(unsafeRaw: now), \(bind: instance.rawValue))
                ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
                    started_at = CASE WHEN nodes.instance = excluded.instance THEN nodes.started_at ELSE excluded.started_at END,
                    instance = excluded.instance
                WHERE nodes.instance = excluded.instance OR nodes.expires_at <= excluded.heartbeat_at
                RETURNING node_id
                """).first()
            guard held != nil else { return .nameTaken }
            // Nodes gone for an hour are forgotten: every process start is a new node.
            try await sql.raw("DELETE FROM nodes WHERE expires_at < \(unsafeRaw: now) - 3600000").run()
            return .live(Set(try await sql.raw("SELECT node_id FROM nodes WHERE expires_at > \(unsafeRaw: now)").all()
                .map { NodeID(try $0.string("node_id")) }))
        }
    }

    public func acquireLeases(_ candidates: [MailboxID], limit: Int, for node: NodeID, lasting: Duration) async throws -> Set<MailboxID> {
        var won: Set<MailboxID> = []
        var remaining = candidates[...]
        while won.count < limit, !remaining.isEmpty {
            let batch = remaining.prefix(limit - won.count)
            remaining = remaining.dropFirst(batch.count)
            won.formUnion(try await acquire(Array(batch), for: node, lasting: lasting))
        }
        return won
    }

    /// One atomic statement: a row is inserted for a free mailbox, or taken over only where the present lease has
    /// expired (or is already `node`'s). On PostgreSQL the conflicting row is locked and the condition re-checked
    /// on its latest version, so of two racing nodes one updates and the other gets no row back.
    private func acquire(_ ids: [MailboxID], for node: NodeID, lasting: Duration) async throws -> Set<MailboxID> {
        guard !ids.isEmpty else { return [] }
        let now = DatabaseClock.now(database.dialect)
        let lease = DatabaseClock.millis(lasting)
        return try await database.withSQL { sql in
            Set(try await sql.raw("""
                INSERT INTO mailbox_leases (mailbox_id, node_id, acquired_at, expires_at)
                SELECT id, \(bind: node.rawValue), \(unsafeRaw: now), \(unsafeRaw: now) + \(bind: lease) FROM mailboxes
                WHERE id IN (\(binds: ids.map(\.rawValue)))
                ON CONFLICT (mailbox_id) DO UPDATE SET node_id = excluded.node_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                WHERE mailbox_leases.expires_at <= excluded.acquired_at OR mailbox_leases.node_id = excluded.node_id
                RETURNING mailbox_id
                """).all().map { MailboxID(try $0.int64("mailbox_id")) })
        }
    }

    public func renewLeases(of node: NodeID, lasting: Duration) async throws -> Set<MailboxID> {
        let now = DatabaseClock.now(database.dialect)
        return try await database.withSQL { sql in
            Set(try await sql.raw("""
                UPDATE mailbox_leases SET expires_at = \(unsafeRaw: now) + \(bind: DatabaseClock.millis(lasting))
                WHERE node_id = \(bind: node.rawValue)
                RETURNING mailbox_id
                """).all().map { MailboxID(try $0.int64("mailbox_id")) })
        }
    }

    public func releaseLeases(_ mailboxes: Set<MailboxID>, of node: NodeID) async throws {
        guard !mailboxes.isEmpty else { return }
        try await database.withSQL { sql in
            try await sql.raw("""
                DELETE FROM mailbox_leases WHERE node_id = \(bind: node.rawValue) AND mailbox_id IN (\(binds: mailboxes.map(\.rawValue)))
                """).run()
        }
    }

    public func departNode(_ node: NodeID, instance: NodeInstance) async throws {
        try await database.transaction { sql in
            // Another live process under this name (this one never held it, or lost it): its leases stay.
            let row = try await sql.raw("SELECT instance FROM nodes WHERE node_id = \(bind: node.rawValue)").first()
            if let row, try row.string("instance") != instance.rawValue { return }
            try await sql.raw("DELETE FROM mailbox_leases WHERE node_id = \(bind: node.rawValue)").run()
            // The outbox stopped before the leases are released (services stop in reverse): its claims are free now.
            try await sql.raw("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = \(bind: node.rawValue) AND status = 'queued'").run()
            try await sql.raw("DELETE FROM nodes WHERE node_id = \(bind: node.rawValue)").run()
        }
    }

    /// Ends the heartbeat of whatever process last held `node`'s name, so this one takes it (and its leases) at its
    /// first heartbeat. Only for a caller that knows that process is gone: `serve` on SQLite, holding ``ServeLock``.
    public func expireNode(_ node: NodeID) async throws {
        let now = DatabaseClock.now(database.dialect)
        try await database.withSQL { sql in
            try await sql.raw("UPDATE nodes SET expires_at = \(unsafeRaw: now) WHERE node_id = \(bind: node.rawValue) AND expires_at > \(unsafeRaw: now)").run()
        }
    }

    public func leaseHolders() async throws -> [MailboxID: NodeID] {
        let now = DatabaseClock.now(database.dialect)
        return try await database.withSQL { sql in
            var holders: [MailboxID: NodeID] = [:]
            for row in try await sql.raw("SELECT mailbox_id, node_id FROM mailbox_leases WHERE expires_at > \(unsafeRaw: now)").all() {
                holders[MailboxID(try row.int64("mailbox_id"))] = NodeID(try row.string("node_id"))
            }
            return holders
        }
    }
}
