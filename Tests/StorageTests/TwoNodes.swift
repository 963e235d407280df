import Foundation
import MailroomCore
import MailroomTestSupport
import Storage

/// Two «nodes» on one database: two `SQLStore`s, each with its own connection (pool), as two `mailroom serve`
/// processes would have, and the names they claim by.
struct TwoNodes {
    let fixture: StoreFixture
    let first: SQLStore
    let second: SQLStore
    static let a = NodeID("node-a")
    static let b = NodeID("node-b")

    static func make(_ backend: Backend, name: String) async throws -> TwoNodes {
        let fixture = try await StoreFixture.make(backend, name: name)
        let database = try await Database.open(try DatabaseURL(parsing: fixture.databaseURL), logger: fixture.logger)
        Task { try? await database.run() }
        return TwoNodes(fixture: fixture, first: fixture.store, second: SQLStore(database: database))
    }

    /// `count` fetching mailboxes.
    func mailboxes(_ count: Int) async throws -> [MailboxID] {
        var ids: [MailboxID] = []
        for index in 0..<count {
            let email = "support\(index)@example.com"
            let mailbox = try await first.createMailbox(
                try MailboxDraft(email: email, name: "S\(index)", imapHost: "imap.example.com").validated(),
                incomingSecret: try fixture.vault.seal("pw", for: .password(of: email)), at: Date())
            ids.append(mailbox.id)
        }
        return ids
    }
}

extension SQLStore {
    /// The process each test node stands for: one per name, so these tests run one process per node.
    static func process(of node: NodeID) -> NodeInstance { NodeInstance(rawValue: "process-of-\(node.rawValue)") }

    /// A heartbeat of the node's one process: the live nodes.
    func heartbeat(_ node: NodeID, lasting: Duration) async throws -> Set<NodeID> {
        guard case .live(let live) = try await heartbeat(node, instance: Self.process(of: node), lasting: lasting) else {
            throw NodeNameTakenInTest(node: node)
        }
        return live
    }

    func departNode(_ node: NodeID) async throws {
        try await departNode(node, instance: Self.process(of: node))
    }
}

struct NodeNameTakenInTest: Error { let node: NodeID }
