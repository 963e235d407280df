import Foundation

/// One node's claim on renewing a grant: several `mailroom serve` processes may share one database, and a provider
/// that rotates refresh tokens accepts the old one only once, so only the node holding the claim asks it.
public protocol GrantRenewalClaims: Sendable {
    /// Claims the renewal of the mailbox's grant for `node`, `lasting` from now by the store's clock (as leases are:
    /// nodes whose clocks disagree still agree on when a claim ran out), if the grant still has `expectedVersion`
    /// and no other node holds an unexpired claim. Exactly one of several concurrent callers wins (true).
    func claimGrantRenewal(_ id: MailboxID, expectedVersion: Int64, by node: String, lasting: Duration) async throws -> Bool
    /// Gives up a claim `node` holds (its renewal failed), so others need not wait for it to expire.
    /// Saving a grant (``MailroomStore/replaceGrant(_:with:expectedVersion:)``) ends any claim by itself.
    func releaseGrantRenewal(_ id: MailboxID, by node: String) async throws
}

/// Sign-ins under way, kept where every node can finish them: the browser may come back from the identity provider
/// to any node behind the load balancer. The record is sealed by the caller (it holds the PKCE verifier and the
/// nonce); the store keeps it under a hash of the state, which the browser carries.
public protocol PendingSignInRecords: Sendable {
    /// Keeps a sealed record until `expiresAt`; records already expired at `now` go.
    func keepPendingSignIn(state: String, sealed: SealedSecret, expiresAt: Date, now: Date) async throws
    /// Takes the record out, atomically: of several callers with one state at most one gets it, and never again.
    /// Nil when unknown, already taken, or expired at `now`.
    func takePendingSignIn(state: String, now: Date) async throws -> SealedSecret?
}
