import Foundation
import MailroomCore

/// What nodes share through the SQL store, here for one process: renewal claims, the throttle, pending sign-ins.
extension InMemoryStore: PendingSignInRecords, SignInThrottleStore {
    public func claimGrantRenewal(_ id: MailboxID, expectedVersion: Int64, by node: String, lasting: Duration) async throws -> Bool {
        let now = clock(), until = now.addingTimeInterval(Self.seconds(lasting))
        return transaction { state in
            guard state.grants[id]?.version == expectedVersion else { return false }
            if let claim = state.renewalClaims[id], claim.version == expectedVersion, claim.until > now, claim.node != node { return false }
            state.renewalClaims[id] = (node, until, expectedVersion)
            return true
        }
    }

    public func releaseGrantRenewal(_ id: MailboxID, by node: String) async throws {
        if state.renewalClaims[id]?.node == node { state.renewalClaims[id] = nil }
    }

    public func updateSignInThrottle<T: Sendable>(
        keys: [String], now: Date, _ change: @Sendable (inout [String: SignInThrottle.Tally]) -> T
    ) async throws -> T {
        var tallies = state.throttle.filter { keys.contains($0.key) }
        let result = change(&tallies)
        for key in Set(keys) { state.throttle[key] = tallies[key].flatMap { $0.isEmpty ? nil : $0 } }
        return result
    }

    public func keepPendingSignIn(state signIn: String, sealed: SealedSecret, expiresAt: Date, now: Date) async throws {
        state.pendingSignIns = state.pendingSignIns.filter { $0.value.expiresAt > now }
        state.pendingSignIns[signIn] = (sealed, expiresAt)
    }

    public func takePendingSignIn(state signIn: String, now: Date) async throws -> SealedSecret? {
        guard let kept = state.pendingSignIns.removeValue(forKey: signIn), kept.expiresAt > now else { return nil }
        return kept.sealed
    }
}
