import Foundation
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

/// Mailbox leases between two nodes on one database: never two holders, handed over at expiry or at once on a
/// graceful shutdown, and spread evenly.
@Suite("Mailbox leases between nodes", .serialized)
struct LeaseTests {
    static let long = Duration.seconds(30)

    @Test("Racing acquisitions from two nodes never give a mailbox to both", arguments: Backend.allCases)
    func racing(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leaserace")
        let ids = try await nodes.mailboxes(10)
        for round in 0..<15 {
            async let first = nodes.first.acquireLeases(ids.shuffled(), limit: 10, for: TwoNodes.a, lasting: Self.long)
            async let second = nodes.second.acquireLeases(ids.shuffled(), limit: 10, for: TwoNodes.b, lasting: Self.long)
            let (mine, theirs) = try await (first, second)
            #expect(mine.isDisjoint(with: theirs), "round \(round): \(mine.intersection(theirs)) held by both")
            #expect(mine.union(theirs) == Set(ids), "round \(round): every mailbox is held")
            let holders = try await nodes.second.leaseHolders()
            #expect(Set(holders.filter { $0.value == TwoNodes.a }.keys) == mine)
            #expect(Set(holders.filter { $0.value == TwoNodes.b }.keys) == theirs)
            try await nodes.first.releaseLeases(mine, of: TwoNodes.a)
            try await nodes.second.releaseLeases(theirs, of: TwoNodes.b)
        }
        #expect(try await nodes.first.leaseHolders().isEmpty)
    }

    @Test("A held lease is not taken; once it expires the other node takes it, and the old holder's renewal no longer has it",
          arguments: Backend.allCases)
    func expiry(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leaseexpiry")
        let ids = try await nodes.mailboxes(3)
        #expect(try await nodes.first.acquireLeases(ids, limit: 10, for: TwoNodes.a, lasting: .milliseconds(800)) == Set(ids))
        #expect(try await nodes.second.acquireLeases(ids, limit: 10, for: TwoNodes.b, lasting: Self.long).isEmpty)
        #expect(try await nodes.first.acquireLeases(ids, limit: 10, for: TwoNodes.a, lasting: .milliseconds(800)) == Set(ids), "a holder may take its own again")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await nodes.second.leaseHolders().isEmpty, "expired leases hold nothing")
        #expect(try await nodes.second.acquireLeases(ids, limit: 2, for: TwoNodes.b, lasting: Self.long).count == 2, "up to the limit")
        #expect(try await nodes.second.acquireLeases(ids, limit: 10, for: TwoNodes.b, lasting: Self.long) == Set(ids))
        #expect(try await nodes.first.renewLeases(of: TwoNodes.a, lasting: Self.long).isEmpty)
        #expect(try await nodes.second.renewLeases(of: TwoNodes.b, lasting: Self.long) == Set(ids))
    }

    @Test("A graceful shutdown hands the leases over at once and leaves the live nodes", arguments: Backend.allCases)
    func gracefulRelease(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leasedepart")
        let ids = try await nodes.mailboxes(4)
        _ = try await nodes.first.heartbeat(TwoNodes.a, lasting: Self.long)
        #expect(try await nodes.second.heartbeat(TwoNodes.b, lasting: Self.long) == [TwoNodes.a, TwoNodes.b])
        #expect(try await nodes.first.acquireLeases(ids, limit: 10, for: TwoNodes.a, lasting: Self.long) == Set(ids))
        try await nodes.first.departNode(TwoNodes.a)
        #expect(try await nodes.second.acquireLeases(ids, limit: 10, for: TwoNodes.b, lasting: Self.long) == Set(ids))
        #expect(try await nodes.second.heartbeat(TwoNodes.b, lasting: Self.long) == [TwoNodes.b])
    }

    @Test("Two processes under one node name: the second holds nothing until the first stops or its heartbeat expires", arguments: Backend.allCases)
    func oneProcessPerName(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leasesamename")
        let ids = try await nodes.mailboxes(2)
        let (first, second) = (NodeInstance(), NodeInstance())
        #expect(try await nodes.first.heartbeat(TwoNodes.a, instance: first, lasting: .milliseconds(900)) == .live([TwoNodes.a]))
        #expect(try await nodes.first.acquireLeases(ids, limit: 10, for: TwoNodes.a, lasting: Self.long) == Set(ids))
        #expect(try await nodes.second.heartbeat(TwoNodes.a, instance: second, lasting: Self.long) == .nameTaken)
        // The second process's shutdown must not hand the first one's mailboxes to anybody.
        try await nodes.second.departNode(TwoNodes.a, instance: second)
        #expect(try await nodes.second.leaseHolders() == [ids[0]: TwoNodes.a, ids[1]: TwoNodes.a])
        #expect(try await nodes.first.heartbeat(TwoNodes.a, instance: first, lasting: .milliseconds(900)) == .live([TwoNodes.a]))
        // The first one dies without a word: once its heartbeat has expired, the name (and its leases) pass on.
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await nodes.second.heartbeat(TwoNodes.a, instance: second, lasting: Self.long) == .live([TwoNodes.a]))
        #expect(try await nodes.second.renewLeases(of: TwoNodes.a, lasting: Self.long) == Set(ids), "the name's leases pass on with it")
        // Back from a stall, the first process finds its name taken.
        #expect(try await nodes.first.heartbeat(TwoNodes.a, instance: first, lasting: Self.long) == .nameTaken)
        // A graceful stop of the holder frees the name at once.
        try await nodes.second.departNode(TwoNodes.a, instance: second)
        #expect(try await nodes.first.heartbeat(TwoNodes.a, instance: first, lasting: Self.long) == .live([TwoNodes.a]))
    }

    @Test("A removed mailbox takes its lease with it, and a lease is never taken for a mailbox that does not exist", arguments: Backend.allCases)
    func removedMailbox(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leaseremoved")
        let ids = try await nodes.mailboxes(2)
        #expect(try await nodes.first.acquireLeases(ids + [MailboxID(99_999)], limit: 10, for: TwoNodes.a, lasting: Self.long) == Set(ids))
        #expect(try await nodes.first.removeMailbox(ids[0]))
        #expect(try await nodes.second.leaseHolders() == [ids[1]: TwoNodes.a])
    }

    @Test("Balancing splits ten mailboxes five and five when a second node arrives", arguments: Backend.allCases)
    func balancing(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "leasebalance")
        let ids = Set(try await nodes.mailboxes(10))
        /// What the lease keeper does at each heartbeat, on one node's own connection.
        func beat(_ store: SQLStore, _ node: NodeID) async throws {
            let live = try await store.heartbeat(node, lasting: Self.long)
            _ = try await store.renewLeases(of: node, lasting: Self.long)
            let plan = LeaseBalance.plan(node: node, liveNodes: live, mailboxes: ids, holders: try await store.leaseHolders())
            try await store.releaseLeases(plan.release, of: node)
            _ = try await store.acquireLeases(plan.acquire, limit: plan.acquireLimit, for: node, lasting: Self.long)
        }
        try await beat(nodes.first, TwoNodes.a)
        #expect(try await nodes.first.leaseHolders().count == 10, "alone, the first node holds everything")
        for _ in 0..<2 {
            try await beat(nodes.second, TwoNodes.b)
            try await beat(nodes.first, TwoNodes.a)
        }
        let holders = try await nodes.second.leaseHolders()
        #expect(Set(holders.keys) == ids)
        #expect(holders.values.filter { $0 == TwoNodes.a }.count == 5)
        #expect(holders.values.filter { $0 == TwoNodes.b }.count == 5)
    }
}
