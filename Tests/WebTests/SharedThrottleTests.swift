import Foundation
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
@testable import Web

/// Two `mailroom serve` nodes on one PostgreSQL: a guesser who spreads guesses over both gets no more tries.
@Suite("The sign-in throttle across nodes")
struct SharedThrottleTests {
    @Test("Five wrong passwords for one address, sent to two nodes in turn, lock the address on both")
    func guessesAtBothNodesCountTogether() async throws {
        let one = try await StoreFixture.make(.postgres, name: "nodes-throttle")
        let two = try await one.anotherNode()
        _ = try await Accounts(store: one.store, cost: 4).create(email: "lead@nodes.test", name: "Lead", role: .admin, password: "the right password")
        let nodes = [Accounts(store: one.store, cost: 4), Accounts(store: two.store, cost: 4)]
        for n in 0..<5 {
            guard case .refused = try await nodes[n % 2].authenticate(email: "lead@nodes.test", password: "wrong \(n)", client: "192.0.2.\(n)") else {
                Issue.record("guess \(n) was not checked")
                return
            }
        }
        for (n, node) in nodes.enumerated() {
            let verdict = try await node.authenticate(email: "LEAD@nodes.test", password: "the right password", client: "198.51.100.\(n)")
            guard case .throttled(let throttled) = verdict else {
                Issue.record("node \(n + 1) let a sixth try through: \(verdict)")
                continue
            }
            #expect(throttled == .account)
        }
    }

    @Test("Guesses sent to both nodes at once are reserved before bcrypt: no more than the limit are checked")
    func parallelGuessesAtBothNodes() async throws {
        let one = try await StoreFixture.make(.postgres, name: "nodes-parallel")
        let two = try await one.anotherNode()
        _ = try await Accounts(store: one.store, cost: 4).create(email: "lead@nodes.test", name: "Lead", role: .admin, password: "the right password")
        let nodes = [Accounts(store: one.store, cost: 4), Accounts(store: two.store, cost: 4)]
        let checked = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<12 {
                group.addTask {
                    if case .refused = try await nodes[n % 2].authenticate(email: "lead@nodes.test", password: "wrong", client: "192.0.2.\(n)") { return true }
                    return false
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(checked <= 5, "\(checked) guesses were checked")
    }
}
