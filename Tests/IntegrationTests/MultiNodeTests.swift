import Engine
import Foundation
import IdentityEmulator
import MailroomCore
import MailroomTestSupport
import OAuth
import Storage
import Testing

/// Two `mailroom serve` nodes behind one load balancer, sharing one PostgreSQL: a sign-in and a token renewal
/// must not depend on which node a request reaches.
@Suite("Two nodes on one PostgreSQL, through the identity emulator", .serialized)
struct MultiNodeTests {
    /// One node's OAuth apps, keeping pending sign-ins in its Store, as `mailroom serve` wires them.
    static func providers(_ emulator: EmulatorFixture, node: StoreFixture) -> OAuthProviders {
        OAuthProviders([
            .microsoft: .profile(.microsoft(
                clientID: EmulatorFixture.microsoftClient.id, clientSecret: EmulatorFixture.microsoftClient.secret, tenant: "common",
                authority: URL(string: emulator.baseURL)!)),
        ], states: SignInStates(store: StoredSignIns(records: node.store, vault: node.vault)))
    }

    @Test("A sign-in started on one node completes on the other, once: a replay on either node is refused")
    func signInFinishesOnAnotherNode() async throws {
        let emulator = try await TestServers.shared.emulator()
        let one = try await StoreFixture.make(.postgres, name: "nodes-signin")
        let two = try await one.anotherNode()
        let (first, second) = (Self.providers(emulator, node: one), Self.providers(emulator, node: two))
        let account = await emulator.workAccount("nodes")
        let url = try await first.client(for: .microsoft).startSignIn(
            redirectURI: EmulatorFixture.redirectURI, session: "admin-session", loginHint: account, context: "the new mailbox's settings")
        let callback = FakeBrowser.query(try await FakeBrowser.signIn(at: url.absoluteString, as: account))
        // Another browser session cannot use it on either node.
        let stranger = await #expect(throws: OAuthFailure.self) { try await second.finishSignIn(callback: callback, session: "another-session") }
        #expect(stranger?.error == "invalid_state")

        let url2 = try await first.client(for: .microsoft).startSignIn(
            redirectURI: EmulatorFixture.redirectURI, session: "admin-session", loginHint: account, context: "the new mailbox's settings")
        let callback2 = FakeBrowser.query(try await FakeBrowser.signIn(at: url2.absoluteString, as: account))
        let completed = try await second.finishSignIn(callback: callback2, session: "admin-session")
        #expect(completed.identity.address.lowercased() == account.lowercased())
        #expect(completed.context == "the new mailbox's settings")
        for node in [first, second] {
            let replay = await #expect(throws: OAuthFailure.self) { try await node.finishSignIn(callback: callback2, session: "admin-session") }
            #expect(replay?.error == "invalid_state")
        }
    }

    @Test("Two nodes renewing one expired grant at once make one refresh request and use the same new token; nobody is asked to sign in again")
    func oneRenewalAcrossNodes() async throws {
        let world = try await OAuthWorld.make(.postgres, name: "nodes-renew")
        let two = try await world.fixture.anotherNode()
        let account = await world.emulator.workAccount("nodesrenew")
        let mailbox = try await world.addMailbox(try await world.signIn(.microsoft, as: account), provider: .microsoft)
        try await world.expireStoredAccessToken(mailbox)
        let before = try await world.openGrant(mailbox)
        let keepers = [
            world.tokens,
            TokenKeeper(store: two.store, vault: two.vault, providers: world.emulator.providers(logger: world.logs.logger("oauth-2")), logger: world.logs.logger("tokens-2")),
        ]
        func refreshes() async -> Int {
            await world.emulator.emulator.tokenRequests().filter { $0.account == account.lowercased() && $0.grantType == "refresh_token" }.count
        }
        let refreshesBefore = await refreshes()
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for n in 0..<8 {
                group.addTask { try await keepers[n % 2].accessToken(for: mailbox.id).token }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(tokens).count == 1, "both nodes use the one renewed token")
        #expect(tokens.first != before.access)
        #expect(await refreshes() - refreshesBefore == 1, "exactly one refresh request reached the provider")
        let after = try await world.openGrant(mailbox)
        #expect(after.version == before.version + 1)
        #expect(after.refresh != before.refresh, "the rotated refresh token is saved")
        #expect(!world.logs.text.contains("invalid_grant"))
        // The grant keeps renewing from either node.
        _ = try await keepers[1].accessToken(for: mailbox.id, replacing: after.access)
        #expect(try await world.openGrant(mailbox).version == after.version + 1)
    }

    @Test("A node that finds the renewal claimed waits for the other node's grant and never asks the provider; when the other gives up, it renews itself")
    func theLoserWaitsForTheWinner() async throws {
        let world = try await OAuthWorld.make(.postgres, name: "nodes-wait")
        let other = try await world.fixture.anotherNode()
        let account = await world.emulator.workAccount("nodeswait")
        let mailbox = try await world.addMailbox(try await world.signIn(.microsoft, as: account), provider: .microsoft)
        func refreshes() async -> Int {
            await world.emulator.emulator.tokenRequests().filter { $0.account == account.lowercased() && $0.grantType == "refresh_token" }.count
        }
        try await world.expireStoredAccessToken(mailbox)
        let stored = try #require(try await world.fixture.store.grant(mailbox.id))
        #expect(try await other.store.claimGrantRenewal(mailbox.id, expectedVersion: stored.version, by: "the other node", lasting: .seconds(30)))
        let before = await refreshes()
        let waiting = Task { try await world.tokens.accessToken(for: mailbox.id).token }
        try await Task.sleep(for: .milliseconds(400))
        // The other node saves its renewal: the waiting node uses it.
        var renewed = stored
        renewed.accessToken = try world.fixture.vault.seal("renewed-by-the-other-node", for: .accessToken(of: mailbox.email))
        renewed.accessTokenExpiresAt = Date().addingTimeInterval(3600)
        #expect(try await other.store.replaceGrant(mailbox.id, with: renewed, expectedVersion: stored.version))
        #expect(try await waiting.value == "renewed-by-the-other-node")
        #expect(await refreshes() == before, "the node that lost the claim sent no refresh request")
        #expect(world.logs.text.contains("Using the grant another node renewed"))

        // The other node claims again and gives up (its request failed): the waiting node takes over and renews.
        let current = try #require(try await world.fixture.store.grant(mailbox.id))
        #expect(try await other.store.claimGrantRenewal(mailbox.id, expectedVersion: current.version, by: "the other node", lasting: .seconds(30)))
        let takeOver = Task { try await world.tokens.accessToken(for: mailbox.id, replacing: "renewed-by-the-other-node").token }
        try await Task.sleep(for: .milliseconds(400))
        try await other.store.releaseGrantRenewal(mailbox.id, by: "the other node")
        let token = try await takeOver.value
        #expect(token != "renewed-by-the-other-node")
        #expect(await refreshes() == before + 1)
        #expect(try await world.fixture.store.grant(mailbox.id)?.version == current.version + 1)
    }
}
