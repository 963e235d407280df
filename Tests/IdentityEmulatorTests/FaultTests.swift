import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import IdentityEmulator

@Suite("Faults: exact provider errors")
struct FaultTests {
    static let account = "support@contoso.example"

    @Test("changePassword and revokeTokens: refresh → AADSTS50173, access tokens die")
    func passwordChangeAndRevocation() async throws {
        for useRevoke in [false, true] {
            let emulator = Fixture.emulator()
            let app = Fixture.application(emulator)
            try await app.test(.router) { client in
                let tokens = try await microsoftTokens(client, account: Self.account)
                let access = try #require(tokens.string("access_token"))
                #expect(try await introspect(client, token: access).object["active"] as? Bool == true)
                if useRevoke {
                    try await emulator.revokeTokens(account: Self.account)
                } else {
                    try await emulator.changePassword(account: Self.account)
                }
                let refresh = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
                expectMicrosoftError(refresh, status: .badRequest, error: "invalid_grant", code: 50173)
                #expect(refresh.string("error_description")?.contains("The user might have changed or reset their password") == true)
                #expect(try await introspect(client, token: access).text == "{\"active\":false}")

                // Signing in again gives working tokens.
                let fresh = try await microsoftTokens(client, account: Self.account)
                #expect(try await refreshMicrosoft(client, fresh.string("refresh_token") ?? "").status == .ok)
            }
        }
    }

    @Test("expireByInactivity → AADSTS700082")
    func inactivity() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: Self.account)
            try await emulator.expireByInactivity(account: Self.account)
            let refresh = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            expectMicrosoftError(refresh, status: .badRequest, error: "invalid_grant", code: 700082)
            #expect(refresh.string("error_description")?.contains("The refresh token has expired due to inactivity") == true)
        }
    }

    @Test("revokeConsent → AADSTS65001 with suberror consent_required")
    func consent() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: Self.account)
            try await emulator.revokeConsent(account: Self.account)
            let refresh = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            expectMicrosoftError(refresh, status: .badRequest, error: "invalid_grant", code: 65001)
            #expect(refresh.string("suberror") == "consent_required")
        }
    }

    @Test("requireMFA → interaction_required AADSTS50076; access token keeps working; interactive sign-in clears it")
    func mfa() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: Self.account)
            try await emulator.requireMFA(account: Self.account)
            #expect(await emulator.activeFaults() == [.mfaRequired(account: Self.account)])
            let refresh = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            expectMicrosoftError(refresh, status: .badRequest, error: "interaction_required", code: 50076)
            #expect(try await introspect(client, token: tokens.string("access_token") ?? "").object["active"] as? Bool == true)

            let again = try await microsoftTokens(client, account: Self.account)
            #expect(await emulator.activeFaults().isEmpty)
            #expect(try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "").status == .ok)
            #expect(try await refreshMicrosoft(client, again.string("refresh_token") ?? "").status == .ok)
        }
    }

    @Test("expireClientSecret → 401 invalid_client AADSTS7000222")
    func clientSecret() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: Self.account)
            try await emulator.expireClientSecret(clientID: Fixture.microsoftClient.id)
            let refresh = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            expectMicrosoftError(refresh, status: .unauthorized, error: "invalid_client", code: 7000222)
            #expect(refresh.string("error_description")?.contains("The provided client secret keys for app '\(Fixture.microsoftClient.id)' are expired") == true)
            try await emulator.renewClientSecret(clientID: Fixture.microsoftClient.id)
            #expect(try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "").status == .ok)
        }
    }

    @Test("token endpoint outage: 503 temporarily_unavailable, 429 with Retry-After, then normal")
    func outage() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: Self.account)
            let refreshToken = try #require(tokens.string("refresh_token"))

            await emulator.tokenEndpointOutage(.unavailable)
            let down = try await refreshMicrosoft(client, refreshToken)
            expectMicrosoftError(down, status: .serviceUnavailable, error: "temporarily_unavailable", code: 90033)

            await emulator.tokenEndpointOutage(.throttled(retryAfter: 17))
            let throttled = try await refreshMicrosoft(client, refreshToken)
            expectMicrosoftError(throttled, status: .tooManyRequests, error: "temporarily_unavailable", code: 90055)
            #expect(throttled.headers[.retryAfter] == "17")

            let googleThrottled = try await googleToken(client, [("grant_type", "refresh_token"), ("refresh_token", "x")])
            #expect(googleThrottled.status == .tooManyRequests)
            #expect(googleThrottled.headers[.retryAfter] == "17")

            await emulator.tokenEndpointOutage(nil)
            // The failed attempts did not consume the refresh token.
            #expect(try await refreshMicrosoft(client, refreshToken).status == .ok)
        }
    }

    @Test("unknown account or client in a control call is an error")
    func unknownTargets() async throws {
        let emulator = Fixture.emulator()
        await #expect(throws: EmulatorControlError.unknownAccount("nobody@example.com")) {
            try await emulator.changePassword(account: "nobody@example.com")
        }
        await #expect(throws: EmulatorControlError.unknownClient("nope")) {
            try await emulator.expireClientSecret(clientID: "nope")
        }
    }
}
