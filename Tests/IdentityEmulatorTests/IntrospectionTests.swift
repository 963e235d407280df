import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import IdentityEmulator

@Suite("RFC 7662 introspection for Dovecot")
struct IntrospectionTests {
    @Test("active token: exact fields, lower-case username, shared mailbox of a delegate")
    func active() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "agent@contoso.example")
            let answer = try await introspect(client, token: tokens.string("access_token") ?? "", service: "imap")
            #expect(answer.status == .ok)
            #expect(Set(answer.object.keys) == ["active", "username", "shared_mailbox", "scope", "client_id", "exp", "token_type", "sub"])
            #expect(answer["active"] as? Bool == true)
            #expect(answer.string("username") == "agent@contoso.example")
            #expect(answer.string("shared_mailbox") == "helpdesk@contoso.example")
            #expect(answer.string("client_id") == Fixture.microsoftClient.id)
            #expect(answer.string("token_type") == "Bearer")
            #expect(answer.string("scope")?.contains("https://outlook.office.com/SMTP.Send") == true)
            let exp = try #require(answer.int("exp"))
            #expect(abs(Double(exp) - Date().addingTimeInterval(3600).timeIntervalSince1970) < 30)

            let own = try await microsoftTokens(client, tenant: "consumers", account: "Mailroom.Demo@Hotmail.com".lowercased())
            let ownAnswer = try await introspect(client, token: own.string("access_token") ?? "")
            #expect(ownAnswer.string("shared_mailbox") == "mailroom.demo@hotmail.com")
        }
    }

    @Test("unknown and expired tokens are exactly {\"active\":false}")
    func inactive() async throws {
        let emulator = Fixture.emulator()
        await emulator.setAccessTokenLifetime(60)
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            #expect(try await introspect(client, token: "nope").text == "{\"active\":false}")
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            let access = try #require(tokens.string("access_token"))
            #expect(try await introspect(client, token: access).object["active"] as? Bool == true)
            await emulator.advanceClock(by: 61)
            let expired = try await introspect(client, token: access)
            #expect(expired.status == .ok)
            #expect(expired.text == "{\"active\":false}")
            // Back on real time (a shared emulator after a test that moved its clock), the token lives again.
            #expect(try await control(client, "resetClock", "{}").status == .ok)
            #expect(try await introspect(client, token: access).object["active"] as? Bool == true)
        }
    }

    @Test("the caller must authenticate with HTTP Basic")
    func basicAuth() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            let access = tokens.string("access_token") ?? ""
            let none = try await introspect(client, token: access, credentials: nil)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            let wrong = try await introspect(client, token: access, credentials: ("dovecot", "wrong"))
            #expect(wrong.status == .unauthorized)
            #expect(wrong["active"] == nil)
        }
    }

    @Test("a disabled protocol makes the token inactive for that Dovecot service only")
    func protocols() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            let access = tokens.string("access_token") ?? ""

            await emulator.setProtocolEnabled("Support@Contoso.example", .imap, false)
            #expect(try await introspect(client, token: access, service: "imap").text == "{\"active\":false}")
            #expect(try await introspect(client, token: access, service: "smtp")["active"] as? Bool == true)
            #expect(try await introspect(client, token: access, service: "submission")["active"] as? Bool == true)

            await emulator.setProtocolEnabled("support@contoso.example", .imap, true)
            await emulator.setProtocolEnabled("support@contoso.example", .smtp, false)
            #expect(try await introspect(client, token: access, service: "imap")["active"] as? Bool == true)
            #expect(try await introspect(client, token: access, service: "smtp").text == "{\"active\":false}")
            #expect(try await introspect(client, token: access, service: "submission").text == "{\"active\":false}")

            // Disabling the shared mailbox affects its delegate.
            let agent = try await microsoftTokens(client, account: "agent@contoso.example")
            await emulator.setProtocolEnabled("helpdesk@contoso.example", .imap, false)
            #expect(try await introspect(client, token: agent.string("access_token") ?? "", service: "imap").text == "{\"active\":false}")
        }
    }

    @Test("introspection outage answers 503 (Dovecot: [UNAVAILABLE])")
    func outage() async throws {
        let emulator = Fixture.emulator()
        let app = Fixture.application(emulator)
        try await app.test(.router) { client in
            let tokens = try await microsoftTokens(client, account: "support@contoso.example")
            await emulator.introspectionOutage(true)
            #expect(try await introspect(client, token: tokens.string("access_token") ?? "").status == .serviceUnavailable)
            await emulator.introspectionOutage(false)
            #expect(try await introspect(client, token: tokens.string("access_token") ?? "").status == .ok)
        }
    }

    @Test("Google tokens introspect too")
    func google() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.scope = Fixture.googleScopes
            let code = try #require(try await googleSignIn(client, account: "mailroom.demo@gmail.com", options: options)["code"])
            let tokens = try await googleToken(
                client, [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Fixture.redirect), ("code_verifier", Fixture.verifier)])
            let answer = try await introspect(client, token: tokens.string("access_token") ?? "", service: "imap")
            #expect(answer.string("username") == "mailroom.demo@gmail.com")
        }
    }
}
