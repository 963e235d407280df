import Foundation

/// Errors from the control API (unknown account or client), reported as HTTP 404 by the routes.
public enum EmulatorControlError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownAccount(String)
    case unknownClient(String)
    case invalidArgument(String)
    /// The attached mail server (see ``EmulatorMailServer``) failed to carry out the change.
    case mailServer(String)

    public var description: String {
        switch self {
        case .unknownAccount(let address): return "unknown account \(address)"
        case .unknownClient(let id): return "unknown client \(id)"
        case .invalidArgument(let text), .mailServer(let text): return text
        }
    }
}

/// Fault injection and controls. Each puts the emulator into one provider failure mode that Mailroom
/// must classify (see protocols.md §6): re-authorization, app-admin problem, or transient.
extension IdentityEmulator {
    private func requireAccount(_ address: String) throws(EmulatorControlError) -> String {
        let key = address.lowercased()
        guard accountsByAddress[key] != nil else { throw .unknownAccount(address) }
        return key
    }

    /// The user changed their password: all refresh and access tokens of the account die. Refresh →
    /// Microsoft `invalid_grant` AADSTS50173, Google `invalid_grant` "Token has been expired or revoked.".
    public func changePassword(account: String) throws(EmulatorControlError) {
        let key = try requireAccount(account)
        store.kill(account: key, death: .revoked(issuedBefore: now()), accessTokensToo: true)
        accountFaults[key] = .passwordChanged(account: key)
        logger.info("control changePassword", metadata: ["account": "\(key)"])
    }

    /// An admin revoked the user's sessions (`Revoke-MgUserSignInSession`): like a password change,
    /// refresh and access tokens die, refresh → AADSTS50173.
    public func revokeTokens(account: String) throws(EmulatorControlError) {
        let key = try requireAccount(account)
        store.kill(account: key, death: .revoked(issuedBefore: now()), accessTokensToo: true)
        accountFaults[key] = .tokensRevoked(account: key)
        logger.info("control revokeTokens", metadata: ["account": "\(key)"])
    }

    /// The account's refresh tokens expired after 90 days without use → AADSTS700082.
    /// Access tokens are left alone (they would have expired long ago in reality).
    public func expireByInactivity(account: String) throws(EmulatorControlError) {
        let key = try requireAccount(account)
        store.kill(account: key, death: .inactive, accessTokensToo: false)
        accountFaults[key] = .refreshTokenInactive(account: key)
        logger.info("control expireByInactivity", metadata: ["account": "\(key)"])
    }

    /// The user (or an admin) withdrew consent for the app → refresh gives AADSTS65001 with
    /// `suberror: consent_required`. Existing access tokens live on until they expire, as on Microsoft.
    public func revokeConsent(account: String) throws(EmulatorControlError) {
        let key = try requireAccount(account)
        store.kill(account: key, death: .consentRevoked, accessTokensToo: false)
        accountFaults[key] = .consentRevoked(account: key)
        logger.info("control revokeConsent", metadata: ["account": "\(key)"])
    }

    /// Conditional Access now demands MFA: refresh → `interaction_required` AADSTS50076 until the user
    /// signs in interactively once (which clears it). Existing access tokens keep working.
    public func requireMFA(account: String) throws(EmulatorControlError) {
        let key = try requireAccount(account)
        mfaRequired.insert(key)
        accountFaults[key] = .mfaRequired(account: key)
        logger.info("control requireMFA", metadata: ["account": "\(key)"])
    }

    /// The client's secret expired: every token request of the client → 401 `invalid_client`
    /// AADSTS7000222 (an app-registration problem, not a per-mailbox one).
    public func expireClientSecret(clientID: String) throws(EmulatorControlError) {
        guard clientsByID[clientID] != nil else { throw .unknownClient(clientID) }
        expiredSecrets.insert(clientID)
        logger.info("control expireClientSecret", metadata: ["client": "\(clientID)"])
    }

    /// Undoes ``expireClientSecret(clientID:)`` (the admin created a new secret; same value here).
    public func renewClientSecret(clientID: String) throws(EmulatorControlError) {
        guard clientsByID[clientID] != nil else { throw .unknownClient(clientID) }
        expiredSecrets.remove(clientID)
        logger.info("control renewClientSecret", metadata: ["client": "\(clientID)"])
    }

    /// Makes the token endpoint fail transiently (503 or 429 + Retry-After); nil ends the outage.
    /// Makes the emulator's host fail as a real outage does: refuse every connection, or accept and never answer.
    /// Only for an emulator started with `gated: true` (in-process: its own control routes are behind the gate).
    public func networkOutage(_ outage: NetworkOutage?) async throws {
        guard let gate else { throw EmulatorControlError.invalidArgument("network outages need an emulator started with gated: true") }
        networkDown = outage
        logger.info("control networkOutage", metadata: ["outage": "\(outage.map(\.rawValue) ?? "none")"])
        try await gate.set(outage)
    }

    func attach(_ gate: ConnectionGate) { self.gate = gate }

    public func tokenEndpointOutage(_ outage: TokenEndpointOutage?) {
        tokenOutage = outage
        logger.info("control tokenEndpointOutage", metadata: ["outage": "\(outage.map { "\($0)" } ?? "none")"])
    }

    /// Makes `/introspect` answer 503, so Dovecot reports `[UNAVAILABLE]` / `454 4.7.0`.
    public func introspectionOutage(_ on: Bool) {
        introspectionDown = on
        logger.info("control introspectionOutage", metadata: ["on": "\(on)"])
    }

    /// Enables or disables IMAP or SMTP for a mailbox (an account address or a shared mailbox), as
    /// `Set-CASMailbox -ImapEnabled/-SmtpClientAuthenticationDisabled` would.
    public func setProtocolEnabled(_ mailbox: String, _ mailProtocol: MailProtocol, _ enabled: Bool) {
        let key = "\(mailbox.lowercased())\n\(mailProtocol.rawValue)"
        if enabled { disabledProtocols.remove(key) } else { disabledProtocols.insert(key) }
        logger.info(
            "control setProtocolEnabled",
            metadata: ["mailbox": "\(mailbox.lowercased())", "protocol": "\(mailProtocol.rawValue)", "enabled": "\(enabled)"])
    }

    func isProtocolEnabled(_ mailbox: String, _ mailProtocol: MailProtocol) -> Bool {
        !disabledProtocols.contains("\(mailbox.lowercased())\n\(mailProtocol.rawValue)")
    }

    /// `expires_in` (and real expiry) of access tokens issued from now on. Default 3600.
    public func setAccessTokenLifetime(_ seconds: Int) {
        accessTokenLifetimeSeconds = max(1, seconds)
        logger.info("control setAccessTokenLifetime", metadata: ["seconds": "\(seconds)"])
    }

    public func accessTokenLifetime() -> Int { accessTokenLifetimeSeconds }

    /// Moves the emulator's clock forward, so tests can expire codes (10 min) and access tokens
    /// without waiting.
    public func advanceClock(by seconds: TimeInterval) {
        clockOffset += max(0, seconds)
        logger.info("control advanceClock", metadata: ["seconds": "\(seconds)"])
    }

    /// Puts the emulator's clock back on real time, so a test that moved it does not leave a shared emulator
    /// issuing ID tokens from the future.
    public func resetClock() {
        clockOffset = 0
        logger.info("control resetClock")
    }

    /// Lists every fault currently in force.
    public func activeFaults() -> [EmulatorFault] {
        var faults: [EmulatorFault] = accountOrder.compactMap { accountFaults[$0] }
        for account in accountOrder where mfaRequired.contains(account) && accountFaults[account] != .mfaRequired(account: account) {
            faults.append(.mfaRequired(account: account))
        }
        faults += clientOrder.filter { expiredSecrets.contains($0) }.map { .clientSecretExpired(clientID: $0) }
        if let tokenOutage { faults.append(.tokenEndpointOutage(tokenOutage)) }
        if let networkDown { faults.append(.networkOutage(networkDown)) }
        if introspectionDown { faults.append(.introspectionOutage) }
        for entry in disabledProtocols.sorted() {
            let parts = entry.split(separator: "\n").map(String.init)
            if parts.count == 2, let proto = MailProtocol(rawValue: parts[1]) {
                faults.append(.protocolDisabled(mailbox: parts[0], protocol: proto))
            }
        }
        return faults
    }

    /// Clears every fault (tokens already killed stay dead).
    public func clearFaults() {
        accountFaults = [:]
        mfaRequired = []
        expiredSecrets = []
        tokenOutage = nil
        introspectionDown = false
        disabledProtocols = []
        clockOffset = 0
        if networkDown != nil, let gate {
            networkDown = nil
            Task { try? await gate.set(nil) }
        }
        logger.info("control clearFaults")
    }

    /// An interactive sign-in fixes what the user can fix: MFA is done, consent given again.
    func interactiveSignInCompleted(account: String) {
        mfaRequired.remove(account)
        accountFaults[account] = nil
    }
}
