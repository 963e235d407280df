import Engine
import Foundation
import IdentityEmulator
import MailroomCore
import OAuth
import Synchronization
import Testing

/// What a provider or server fault must do to a mailbox's state (PRODUCT.md «Connection health», protocols.md §6).
enum OAuthFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case passwordChanged, tokensRevoked, refreshTokenInactive, consentRevoked, mfaRequired
    case googlePasswordChanged
    case clientSecretExpired, tokenEndpointDown, tokenEndpointThrottled, introspectionDown, imapDisabled

    var testDescription: String { rawValue }

    var expectedState: HealthState {
        switch self {
        case .passwordChanged, .tokensRevoked, .refreshTokenInactive, .consentRevoked, .mfaRequired, .googlePasswordChanged: .reauthorizationRequired
        case .clientSecretExpired, .imapDisabled: .actionNeededAtProvider
        case .tokenEndpointDown, .tokenEndpointThrottled, .introspectionDown: .temporarilyFailing
        }
    }

    /// The provider's code the admin is shown as detail.
    var expectedDetail: String? {
        switch self {
        case .passwordChanged, .tokensRevoked: "AADSTS50173"
        case .refreshTokenInactive: "AADSTS700082"
        case .consentRevoked: "AADSTS65001"
        case .mfaRequired: "AADSTS50076"
        case .clientSecretExpired: "AADSTS7000222"
        case .googlePasswordChanged: "invalid_grant"
        case .tokenEndpointDown: "HTTP 503"
        case .tokenEndpointThrottled: "HTTP 429"
        case .introspectionDown: "[UNAVAILABLE]"
        case .imapDisabled: "[AUTHENTICATIONFAILED]"
        }
    }

    var provider: MailProvider { self == .googlePasswordChanged ? .google : .microsoft }

    /// Faults the token endpoint shows only on renewal: the test makes the stored access token look expired.
    var needsRenewal: Bool {
        switch self {
        case .refreshTokenInactive, .consentRevoked, .mfaRequired, .clientSecretExpired, .tokenEndpointDown, .tokenEndpointThrottled: true
        default: false
        }
    }

    func apply(_ emulator: IdentityEmulator, account: String) async throws {
        switch self {
        case .passwordChanged, .googlePasswordChanged: try await emulator.changePassword(account: account)
        case .tokensRevoked: try await emulator.revokeTokens(account: account)
        case .refreshTokenInactive: try await emulator.expireByInactivity(account: account)
        case .consentRevoked: try await emulator.revokeConsent(account: account)
        case .mfaRequired: try await emulator.requireMFA(account: account)
        case .clientSecretExpired: try await emulator.expireClientSecret(clientID: EmulatorFixture.microsoftClient.id)
        case .tokenEndpointDown: await emulator.tokenEndpointOutage(.unavailable)
        case .tokenEndpointThrottled: await emulator.tokenEndpointOutage(.throttled(retryAfter: 1))
        case .introspectionDown: await emulator.introspectionOutage(true)
        case .imapDisabled: await emulator.setProtocolEnabled(account, .imap, false)
        }
    }

    /// Ends an outage; returns whether fetching is expected to work again without anyone signing in.
    func clear(_ emulator: IdentityEmulator) async throws -> Bool {
        switch self {
        case .clientSecretExpired:
            try await emulator.renewClientSecret(clientID: EmulatorFixture.microsoftClient.id)
            return true
        case .tokenEndpointDown, .tokenEndpointThrottled:
            await emulator.tokenEndpointOutage(nil)
            return true
        case .introspectionDown:
            await emulator.introspectionOutage(false)
            return true
        default:
            return false
        }
    }
}

@Suite("OAuth faults and renewals against the identity emulator and Dovecot", .serialized)
struct OAuthFaultTests {
    @Test("Every fault is classified: reauthorization, action at the provider, or a transient failure that never asks anyone to sign in",
          arguments: OAuthFault.allCases)
    func faultMatrix(fault: OAuthFault) async throws {
        let world = try await OAuthWorld.make(name: "fault")
        let account = fault.provider == .google ? await world.emulator.googleAccount("fault") : await world.emulator.workAccount("fault")
        let signIn = try await world.signIn(fault.provider == .google ? .google : .microsoft, as: account)
        let mailbox = try await world.addMailbox(signIn, provider: fault.provider)
        try world.deliver(1, to: account, tag: "before-\(fault.rawValue)")
        guard case .success = await world.syncer.syncAndRecord(mailbox) else {
            Issue.record("the first fetch failed: \(try await world.health(mailbox))")
            return
        }
        let grantBefore = try await world.openGrant(mailbox)

        try await fault.apply(world.emulator.emulator, account: account)
        if fault.needsRenewal { try await world.expireStoredAccessToken(mailbox) }
        try world.deliver(1, to: account, tag: "during-\(fault.rawValue)")
        let result = await world.syncer.syncAndRecord(mailbox)
        let cleared = try await fault.clear(world.emulator.emulator)
        guard case .failure = result else {
            Issue.record("fetching succeeded despite \(fault.rawValue)")
            return
        }
        let health = try await world.health(mailbox)
        #expect(health.state == fault.expectedState, "\(fault.rawValue): \(health.cause ?? "") / \(health.detail ?? "")")
        if let code = fault.expectedDetail {
            #expect(health.detail?.contains(code) == true, "detail «\(health.detail ?? "")» should name \(code)")
        }
        switch fault.expectedState {
        case .reauthorizationRequired:
            let expected = fault.provider == .google
                ? "Your Gmail credentials have expired. Please sign in again."
                : "Your Microsoft Office 365 credentials have expired. Please sign in again."
            #expect(health.cause == expected)
        case .temporarilyFailing:
            #expect(health.cause?.contains("sign in") != true)
            #expect(health.fix == "Nothing to do yet: Mailroom retries automatically and no mail is lost.")
        default:
            #expect(health.fix?.contains("Signing in again will not help") == true || health.fix?.contains("enable IMAP") == true || health.fix?.contains("Enable IMAP") == true)
        }

        if cleared {
            // Mailroom keeps the provider's Retry-After across attempts (FaultIsolationTests proves it alone).
            if fault == .tokenEndpointThrottled { try await Task.sleep(for: .milliseconds(1200)) }
            // The outage never cost the grant: once it ends, fetching resumes by itself and the mail arrives once.
            guard case .success = await world.syncer.syncAndRecord(mailbox) else {
                Issue.record("fetching did not resume after \(fault.rawValue): \(try await world.health(mailbox))")
                return
            }
            #expect(try await world.health(mailbox).state == .connected)
            #expect(try await world.fixture.store.messageCount() == 2)
        } else if fault.expectedState == .reauthorizationRequired {
            // The dead grant is kept (for the identity check at reauthorization), not silently replaced.
            #expect(try await world.openGrant(mailbox).refresh == grantBefore.refresh)
        }
        if fault == .imapDisabled { await world.emulator.emulator.setProtocolEnabled(account, .imap, true) }
    }

    @Test("Concurrent renewals of one grant make one refresh request, and the grant stays usable")
    func concurrentRenewals() async throws {
        let world = try await OAuthWorld.make(name: "concurrent")
        let account = await world.emulator.workAccount("concurrent")
        let mailbox = try await world.addMailbox(try await world.signIn(.microsoft, as: account), provider: .microsoft)
        let before = try await world.openGrant(mailbox)
        let refreshesBefore = await world.emulator.emulator.tokenRequests().filter { $0.account == account.lowercased() && $0.grantType == "refresh_token" }.count
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try await world.tokens.accessToken(for: mailbox.id, replacing: before.access).token }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(tokens).count == 1)
        #expect(tokens.first != before.access)
        let refreshes = await world.emulator.emulator.tokenRequests().filter { $0.account == account.lowercased() && $0.grantType == "refresh_token" }
        #expect(refreshes.count - refreshesBefore == 1)
        let after = try await world.openGrant(mailbox)
        #expect(after.version == before.version + 1)
        #expect(after.refresh != before.refresh)
        // And the grant still renews.
        _ = try await world.tokens.accessToken(for: mailbox.id, replacing: after.access)
        #expect(try await world.openGrant(mailbox).version == after.version + 1)
    }

    @Test("Google sends no new refresh token on renewal: Mailroom keeps the one it has, and it keeps working")
    func googleKeepsItsRefreshToken() async throws {
        let world = try await OAuthWorld.make(name: "google")
        let account = await world.emulator.googleAccount("keep")
        let mailbox = try await world.addMailbox(try await world.signIn(.google, as: account), provider: .google)
        let before = try await world.openGrant(mailbox)
        for _ in 0..<2 {
            let current = try await world.openGrant(mailbox)
            _ = try await world.tokens.accessToken(for: mailbox.id, replacing: current.access)
        }
        let after = try await world.openGrant(mailbox)
        #expect(after.refresh == before.refresh)
        #expect(after.access != before.access)
        #expect(after.version == before.version + 2)
    }

    /// Issue 3 asked for 60-second access tokens over five minutes. The five minutes pass on a clock the test moves,
    /// 5 s per fetch, shared by Mailroom's token keeper and the identity emulator (whose introspection Dovecot asks
    /// at every sign-in): each token expires, and is renewed with a fifth of its life left, as in real time.
    @Test("With 60-second access tokens, fetching runs for five minutes across renewals; each rotated refresh token is saved and the old ones are refused")
    func fiveMinutesOfRenewals() async throws {
        let clock = MovableClock()
        let world = try await OAuthWorld.make(name: "longrun", now: clock.now)
        let emulator = world.emulator.emulator
        await emulator.resetClock()
        await emulator.setAccessTokenLifetime(60)
        do {
            try await Self.fiveMinutesOfRenewals(world, clock: clock)
        } catch {
            await emulator.setAccessTokenLifetime(3600)
            await emulator.resetClock()
            throw error
        }
        // Awaited, so the next test signs in with hour-long tokens on real time again.
        await emulator.setAccessTokenLifetime(3600)
        await emulator.resetClock()
    }

    private static func fiveMinutesOfRenewals(_ world: OAuthWorld, clock: MovableClock) async throws {
        let emulator = world.emulator.emulator
        let account = await world.emulator.workAccount("longrun")
        let signIn = try await world.signIn(.microsoft, as: account)
        #expect(signIn.grant.accessTokenExpiresAt.timeIntervalSinceNow <= 61)
        let mailbox = try await world.addMailbox(signIn, provider: .microsoft)
        var refreshTokens: [String] = [try #require(signIn.grant.refreshToken)]
        let firstAccess = try await world.openGrant(mailbox).access
        // Sixty fetches 5 s apart: five minutes by construction, however long each fetch takes in real time.
        let rounds = 60
        for round in 1...rounds {
            try world.deliver(1, to: account, tag: "round-\(round)")
            let before = try #require(try await world.fixture.store.grant(mailbox.id))
            let left = before.accessTokenExpiresAt.timeIntervalSince(clock.now())
            guard case .success(let report) = await world.syncer.syncAndRecord(mailbox) else {
                Issue.record("round \(round) failed: \(try await world.health(mailbox))")
                return
            }
            #expect(report.fetched == 1)
            let current = try #require(try await world.openGrant(mailbox).refresh)
            // Renewed ahead of expiry, with a fifth of the token's life (12 s) left or less, never after the mail
            // server refused it; and never used with less (half a second of slack for the fetch itself).
            if current != refreshTokens.last {
                refreshTokens.append(current)
                #expect(left > 0 && left <= 12.5, "round \(round) renewed a token with \(left) s left")
            } else {
                #expect(left > 11.5, "round \(round) fetched with a token \(left) s from expiry")
            }
            clock.advance(by: 5)
            await emulator.advanceClock(by: 5)
        }
        #expect(try await world.fixture.store.messageCount() == rounds)
        // The moved clock is the one that counts: the first access token is dead at the provider, as five minutes
        // would have left it.
        #expect(await !emulator.isAccessTokenActive(firstAccess))
        // Each token is renewed at the first fetch with 12 s or less left: about one renewal every 50 s, five or six.
        #expect(refreshTokens.count >= 6, "only \(refreshTokens.count - 1) renewals in five minutes")
        #expect(try await world.openGrant(mailbox).version == Int64(refreshTokens.count - 1))
        // Every rotated-away refresh token is dead at the provider; the saved one works.
        let client = try await world.providers.client(for: .microsoft)
        for old in refreshTokens.dropLast() {
            var stale = signIn.grant
            stale.refreshToken = old
            let error = await #expect(throws: OAuthFailure.self) { try await client.refresh(stale) }
            #expect(error?.kind == .reauthorizationRequired)
        }
        guard case .success = await world.syncer.syncAndRecord(mailbox) else {
            Issue.record("the saved grant no longer works after the old tokens were tried")
            return
        }
    }
}

/// Real time plus an offset the test moves forward.
final class MovableClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    @Sendable func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    func advance(by seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}
