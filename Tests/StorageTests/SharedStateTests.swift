import Foundation
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

/// What several nodes on one database share instead of keeping in memory, proven with two Stores on one database
/// (on PostgreSQL: two connection pools, as two `mailroom serve` processes have).
@Suite("State every node shares: pending sign-ins, the sign-in throttle, grant renewal claims", .serialized)
struct SharedStateTests {
    @Test("A sign-in kept by one node is taken by another exactly once; a replay and an expired one get nothing", arguments: Backend.allCases)
    func pendingSignInsTakenOnce(backend: Backend) async throws {
        let one = try await StoreFixture.make(backend, name: "signins")
        let two = try await one.anotherNode()
        let now = Date()
        let sealed = try one.vault.seal("{\"verifier\":\"secret\"}", for: .pendingSignIn(state: "state-1"))
        try await one.store.keepPendingSignIn(state: "state-1", sealed: sealed, expiresAt: now.addingTimeInterval(600), now: now)
        #expect(try await two.store.takePendingSignIn(state: "state-1", now: now) == sealed)
        #expect(try await one.store.takePendingSignIn(state: "state-1", now: now) == nil, "a replay is refused")
        #expect(try await two.store.takePendingSignIn(state: "state-1", now: now) == nil)
        // Two callbacks with one state at once, one on each node: one gets it.
        try await one.store.keepPendingSignIn(state: "state-2", sealed: sealed, expiresAt: now.addingTimeInterval(600), now: now)
        let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
            for node in [one, two, one, two] {
                group.addTask { try await node.store.takePendingSignIn(state: "state-2", now: now) != nil }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(taken == 1)
        // Expired: refused, and gone.
        try await one.store.keepPendingSignIn(state: "state-3", sealed: sealed, expiresAt: now.addingTimeInterval(1), now: now)
        #expect(try await two.store.takePendingSignIn(state: "state-3", now: now.addingTimeInterval(2)) == nil)
        try await one.store.keepPendingSignIn(state: "state-4", sealed: sealed, expiresAt: now.addingTimeInterval(1), now: now)
        try await one.store.keepPendingSignIn(state: "state-5", sealed: sealed, expiresAt: now.addingTimeInterval(600), now: now.addingTimeInterval(5))
        #expect(try await two.store.takePendingSignIn(state: "state-4", now: now) == nil, "a new sign-in sweeps the expired ones")
    }

    @Test("The throttle's tallies are shared: guesses at both nodes count together, also when they arrive at once", arguments: Backend.allCases)
    func throttleCountsAcrossNodes(backend: Backend) async throws {
        let one = try await StoreFixture.make(backend, name: "throttle")
        let two = try await one.anotherNode()
        let limits = SignInThrottle.Limits(perAccount: 5, perClient: 30, window: 900)
        let now = Date()
        @Sendable func attempt(_ node: StoreFixture, client: String, settle: Bool) async throws -> SignInThrottle.Refusal? {
            let (account, clientKey) = SignInThrottle.keys(account: "lead@example.com", client: client)
            let result = try await node.store.updateSignInThrottle(keys: [account] + (clientKey.map { [$0] } ?? []), now: now) { tallies in
                var throttle = SignInThrottle(limits: limits, tallies: tallies)
                defer { tallies = throttle.tallies }
                return throttle.reserve(account: "lead@example.com", client: client, now: now)
            }
            switch result {
            case .failure(let refusal): return refusal
            case .success(let reservation):
                guard settle else { return nil }
                try await node.store.updateSignInThrottle(keys: reservation.keys, now: now) { tallies in
                    var throttle = SignInThrottle(limits: limits, tallies: tallies)
                    throttle.settle(reservation, succeeded: false, now: now)
                    tallies = throttle.tallies
                }
                return nil
            }
        }
        // Ten reservations at once, five on each node: exactly five pass, the rest wait for them.
        let refusals = try await withThrowingTaskGroup(of: SignInThrottle.Refusal?.self) { group in
            for n in 0..<10 { group.addTask { try await attempt(n % 2 == 0 ? one : two, client: "192.0.2.\(n)", settle: false) } }
            return try await group.reduce(into: [SignInThrottle.Refusal?]()) { $0.append($1) }
        }
        #expect(refusals.filter { $0 == nil }.count == 5)
        #expect(refusals.filter { $0 == .busy }.count == 5)
        // A fresh address: wrong passwords alternate between the nodes; after five, both refuse.
        let fresh = try await StoreFixture.make(backend, name: "throttle2")
        let other = try await fresh.anotherNode()
        for n in 0..<5 { #expect(try await attempt(n % 2 == 0 ? fresh : other, client: "198.51.100.1", settle: true) == nil) }
        #expect(try await attempt(fresh, client: "198.51.100.2", settle: true) == .account)
        #expect(try await attempt(other, client: "198.51.100.3", settle: true) == .account)
    }

    @Test("Exactly one node claims a grant's renewal; saving the grant or releasing ends the claim, and a stale claim lapses", arguments: Backend.allCases)
    func renewalClaims(backend: Backend) async throws {
        let one = try await StoreFixture.make(backend, name: "claims")
        let two = try await one.anotherNode()
        let email = "oauth@example.com"
        let grant = StoredGrant(
            provider: "microsoft", tenant: nil, account: email, subject: "sub", scopes: ["a"],
            accessToken: try one.vault.seal("access", for: .accessToken(of: email)), accessTokenExpiresAt: Date(),
            refreshToken: try one.vault.seal("refresh", for: .refreshToken(of: email)), obtainedAt: Date(), refreshedAt: nil)
        let mailbox = try await one.store.createMailbox(
            try MailboxDraft(email: email, name: "S", provider: .microsoft, imapHost: "imap.example.com", authentication: .oauth2).validated(),
            grant: grant, at: Date())
        let version = try #require(try await one.store.grant(mailbox.id)).version
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (n, node) in [one, two, one, two].enumerated() {
                group.addTask { try await node.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "node-\(n)", lasting: .seconds(2)) }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(winners == 1)
        #expect(try await two.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "early", lasting: .seconds(30)) == false)
        // Lapsed after its time, by the database's clock (the nodes only say how long): another node may take over.
        try await Task.sleep(for: .milliseconds(2200))
        #expect(try await two.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "late", lasting: .seconds(30)))
        #expect(try await one.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "other", lasting: .seconds(30)) == false)
        try await two.store.releaseGrantRenewal(mailbox.id, by: "late")
        #expect(try await one.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "other", lasting: .seconds(30)))
        // Saving the grant ends the claim; a claim on the old version fails.
        let stored = try #require(try await one.store.grant(mailbox.id))
        #expect(try await one.store.replaceGrant(mailbox.id, with: stored, expectedVersion: version))
        #expect(try await two.store.replaceGrant(mailbox.id, with: stored, expectedVersion: version) == false, "one save per version")
        #expect(try await two.store.claimGrantRenewal(mailbox.id, expectedVersion: version, by: "stale", lasting: .seconds(30)) == false)
        #expect(try await two.store.claimGrantRenewal(mailbox.id, expectedVersion: version + 1, by: "next", lasting: .seconds(30)))
    }
}
