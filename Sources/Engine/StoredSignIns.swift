import Foundation
import MailroomCore
import OAuth

/// Pending OAuth sign-ins in the database every node shares, so the provider's callback completes on whichever node
/// the load balancer sends it to. The record holds the PKCE verifier and the nonce, so the Vault seals it (bound to
/// its state); the store keeps it under a hash of the state and gives it out once.
public struct StoredSignIns: PendingSignInStore {
    let records: any PendingSignInRecords
    let vault: any SecretVault

    public init(records: any PendingSignInRecords, vault: any SecretVault) {
        self.records = records
        self.vault = vault
    }

    public func remember(_ signIn: PendingSignIn, expiresAt: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(signIn), as: UTF8.self)
        let sealed = try vault.seal(json, for: .pendingSignIn(state: signIn.state))
        try await records.keepPendingSignIn(state: signIn.state, sealed: sealed, expiresAt: expiresAt, now: signIn.createdAt)
    }

    public func take(state: String, now: Date) async throws -> PendingSignIn? {
        guard let sealed = try await records.takePendingSignIn(state: state, now: now) else { return nil }
        let json = try vault.open(sealed, for: .pendingSignIn(state: state))
        return try JSONDecoder().decode(PendingSignIn.self, from: Data(json.utf8))
    }
}
