import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MailroomTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import IdentityEmulator

@Suite("Control API, dashboard, server and logging")
struct ControlAndServerTests {
    @Test("JSON control endpoints drive the faults")
    func jsonControls() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            #expect(try await control(client, "changePassword", "{\"account\":\"support@contoso.example\"}").text == "{\"ok\":true}")
            expectMicrosoftError(
                try await refreshMicrosoft(client, tokens.string("refresh_token") ?? ""), status: .badRequest, error: "invalid_grant", code: 50173)

            #expect(try await control(client, "tokenEndpointOutage", "{\"mode\":\"throttled\",\"retryAfter\":5}").status == .ok)
            #expect(await emulator.activeFaults().contains(.tokenEndpointOutage(.throttled(retryAfter: 5))))
            #expect(try await control(client, "introspectionOutage", "{\"on\":true}").status == .ok)
            #expect(try await control(client, "setProtocolEnabled", "{\"mailbox\":\"agent@contoso.example\",\"protocol\":\"smtp\",\"enabled\":false}").status == .ok)
            #expect(try await control(client, "setAccessTokenLifetime", "{\"seconds\":99}").status == .ok)
            #expect(await emulator.accessTokenLifetime() == 99)
            #expect(await emulator.activeFaults().contains(.protocolDisabled(mailbox: "agent@contoso.example", protocol: .smtp)))
            #expect(try await control(client, "advanceClock", "{\"seconds\":90}").status == .ok)
            #expect(try await state(client).object["clockOffset"] as? Int == 90)
            #expect(try await control(client, "tokenEndpointOutage", "{\"mode\":\"throttled\",\"retryAfter\":\"soon\"}").status == .badRequest)
            #expect(try await control(client, "clearFaults", "{}").status == .ok)
            #expect(await emulator.activeFaults().isEmpty)
            #expect(try await state(client).object["clockOffset"] as? Int == 0, "«everything back to normal» includes the clock")

            #expect(try await control(client, "addAccount", "{\"address\":\"new@contoso.example\",\"kind\":\"work\",\"tenantID\":\"\(EmulatorDemoData.contosoTenantID)\",\"tenantDomain\":\"contoso.example\"}").status == .ok)
            #expect(await emulator.account("new@contoso.example") != nil)

            let unknown = try await control(client, "requireMFA", "{\"account\":\"nobody@example.com\"}")
            #expect(unknown.status == .notFound)
            #expect(unknown.string("error") == "unknown_account")
            #expect(try await control(client, "requireMFA", "{}").status == .badRequest)
            #expect(try await control(client, "noSuchAction", "{}").status == .badRequest)
            #expect(try await control(client, "requireMFA", "not json").status == .badRequest)
        }
    }

    @Test("dashboard: clearly the emulator, controls are POST forms, GET changes nothing")
    func dashboard() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/emulator", method: .get)
            let html = String(buffer: page.body)
            #expect(page.status == .ok)
            #expect(html.contains("Identity emulator — not Mailroom"))
            #expect(html.contains("action=\"/emulator/control/changePassword\""))
            #expect(html.contains("Your Microsoft Office 365 credentials have expired. Please sign in again."))
            #expect(!html.contains("method=\"get\""))
            #expect(!html.contains(Fixture.microsoftClient.secret))

            let get = try await client.execute(uri: "/emulator/control/changePassword?account=support@contoso.example", method: .get)
            #expect(get.status != .ok)
            #expect(await emulator.activeFaults().isEmpty)

            let form = try await client.execute(
                uri: "/emulator/control/requireMFA", method: .post, headers: formHeaders,
                body: ByteBuffer(string: "account=agent%40contoso.example"))
            #expect(form.status == .seeOther)
            #expect(form.headers[.location] == "/emulator")
            #expect(await emulator.activeFaults() == [.mfaRequired(account: "agent@contoso.example")])

            let state = try parseJSON(try await client.execute(uri: "/emulator/state", method: .get))
            #expect((state["faults"] as? [String]) == ["mfaRequired agent@contoso.example"])
            #expect(!state.text.contains(Fixture.microsoftClient.secret))
        }
    }

    @Test("nothing secret is ever logged; one line per request")
    func noSecretsInLogs() async throws {
        let capture = LogCapture()
        let emulator = IdentityEmulator.demo(baseURL: Fixture.base, logger: capture.logger())
        let app = Fixture.application(emulator)
        let fixed: [String] = [
            Fixture.microsoftClient.secret, Fixture.googleClient.secret, Fixture.verifier, EmulatorDemoData.introspectionCredentials.secret,
        ]
        let issued: [String] = try await app.test(.router) { client in
            let redirect = try await microsoftSignIn(client, account: "support@contoso.example")
            let code = try #require(redirect["code"])
            let tokens = try await redeemMicrosoftCode(client, code: code)
            _ = try await redeemMicrosoftCode(client, code: code)
            let refreshed = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            _ = try await refreshMicrosoft(client, tokens.string("refresh_token") ?? "")
            _ = try await introspect(client, token: tokens.string("access_token") ?? "", service: "imap")
            try await emulator.changePassword(account: "support@contoso.example")
            _ = try await refreshMicrosoft(client, refreshed.string("refresh_token") ?? "")

            var options = AuthorizeOptions()
            options.scope = Fixture.googleScopes
            options.extra = [("access_type", "offline")]
            let googleCode = try #require(try await googleSignIn(client, account: "mailroom.demo@gmail.com", options: options)["code"])
            let google = try await postForm(
                client, "/google/token",
                [("grant_type", "authorization_code"), ("code", googleCode), ("redirect_uri", Fixture.redirect), ("code_verifier", Fixture.verifier)],
                headers: [.authorization: basicHeader(Fixture.googleClient.id, Fixture.googleClient.secret)])
            return [
                code, googleCode, tokens.string("access_token") ?? "", tokens.string("refresh_token") ?? "", tokens.string("id_token") ?? "",
                refreshed.string("access_token") ?? "", refreshed.string("refresh_token") ?? "", google.string("access_token") ?? "",
                google.string("refresh_token") ?? "", google.string("id_token") ?? "", "st-123", "n-456",
            ]
        }
        let secrets = fixed + issued
        let lines = capture.lines
        #expect(lines.contains { $0.contains("POST /organizations/oauth2/v2.0/token 200") })
        #expect(lines.contains { $0.contains("POST /organizations/oauth2/v2.0/token 400") })
        #expect(lines.contains { $0.contains("POST /introspect 200") })
        #expect(lines.contains { $0.contains("GET /google/o/oauth2/v2/auth 200") })
        for secret in secrets where !secret.isEmpty {
            #expect(!lines.contains { $0.contains(secret) }, "log leaks a secret")
        }
        // Prefixes too: a truncated token is still a leak.
        for secret in secrets where secret.count > 40 {
            #expect(!lines.contains { $0.contains(String(secret.prefix(24))) })
        }
    }

    @Test("start() on port 0 serves over real HTTP and stops")
    func liveServer() async throws {
        let emulator = Fixture.emulator(logger: Logger(label: "live", factory: { _ in SwiftLogNoOpLogHandler() }))
        let freshEmulator = IdentityEmulator.demo
        let running = try await IdentityEmulator.start(host: "127.0.0.1", port: 0, emulator: freshEmulator)
        #expect(running.port > 0)
        #expect(running.baseURL == "http://127.0.0.1:\(running.port)")
        #expect(await freshEmulator.baseURL() == running.baseURL)
        let url = try #require(URL(string: running.baseURL + "/google/.well-known/openid-configuration"))
        let (data, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let document = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(document?["issuer"] as? String == running.baseURL + "/google")
        await running.stop()
        _ = emulator
    }
}
