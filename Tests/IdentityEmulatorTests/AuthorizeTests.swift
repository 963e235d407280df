import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import IdentityEmulator

@Suite("Authorize endpoint: picker, tenant filtering, errors")
struct AuthorizeTests {
    func page(_ client: some TestClientProtocol, _ path: String, _ pairs: [(String, String)]) async throws -> (HTTPResponse.Status, String, String?) {
        let response = try await client.execute(uri: path + "?" + formEncode(pairs), method: .get)
        return (response.status, String(buffer: response.body), response.headers[.location])
    }

    static let allMicrosoft = [
        "support@contoso.example", "agent@contoso.example", "support@fabrikam.example", "mailroom.demo@hotmail.com",
        "mailroom.demo@outlook.com",
    ]

    @Test(
        "tenant segment decides which accounts the picker offers",
        arguments: [
            ("common", allMicrosoft),
            ("organizations", ["support@contoso.example", "agent@contoso.example", "support@fabrikam.example"]),
            ("consumers", ["mailroom.demo@hotmail.com", "mailroom.demo@outlook.com"]),
            ("contoso.example", ["support@contoso.example", "agent@contoso.example"]),
            (EmulatorDemoData.fabrikamTenantID, ["support@fabrikam.example"]),
        ])
    func tenantFiltering(tenant: String, expected: [String]) async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let (status, html, _) = try await page(
                client, "/\(tenant)/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, AuthorizeOptions()))
            #expect(status == .ok)
            #expect(html.contains("Identity emulator (Microsoft)"))
            #expect(!html.contains("mailroom.demo@gmail.com"))
            for address in Self.allMicrosoft {
                #expect(html.contains("value=\"\(address)\"") == expected.contains(address), "\(address) under /\(tenant)")
            }
        }
    }

    @Test("an account not offered for the tenant cannot be posted")
    func ineligibleAccountRejected() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let pairs = authorizeParameters(clientID: Fixture.microsoftClient.id, AuthorizeOptions()) + [("account", "mailroom.demo@hotmail.com")]
            let response = try await client.execute(
                uri: "/organizations/oauth2/v2.0/authorize", method: .post, headers: formHeaders, body: ByteBuffer(string: formEncode(pairs)))
            #expect(response.status == .badRequest)
            #expect(response.headers[.location] == nil)
        }
    }

    @Test("unknown client and unregistered redirect URI give an error page, never a redirect")
    func errorPages() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let unknown = try await page(client, "/common/oauth2/v2.0/authorize", authorizeParameters(clientID: "nope", AuthorizeOptions()))
            #expect(unknown.0 == .badRequest)
            #expect(unknown.1.contains("AADSTS700016"))
            #expect(unknown.2 == nil)

            var options = AuthorizeOptions()
            options.redirect = "https://evil.example/cb"
            let mismatch = try await page(client, "/common/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, options))
            #expect(mismatch.0 == .badRequest)
            #expect(mismatch.1.contains("AADSTS50011"))
            #expect(mismatch.2 == nil)

            let tenant = try await page(client, "/nowhere.example/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, AuthorizeOptions()))
            #expect(tenant.1.contains("AADSTS90002"))

            let google = try await page(client, "/google/o/oauth2/v2/auth", authorizeParameters(clientID: Fixture.microsoftClient.id, AuthorizeOptions()))
            #expect(google.0 == .badRequest)
            #expect(google.1.contains("invalid_client"))
            #expect(google.1.contains("Identity emulator (Google)"))
        }
    }

    @Test("request errors redirect back with error, error_description and state")
    func redirectErrors() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            var pairs = authorizeParameters(clientID: Fixture.microsoftClient.id, options).filter { $0.0 != "response_type" }
            pairs.append(("response_type", "token"))
            let unsupported = try await page(client, "/common/oauth2/v2.0/authorize", pairs)
            #expect(unsupported.0 == .found)
            let parameters = redirectParameters(unsupported.2)
            #expect(unsupported.2?.hasPrefix(Fixture.redirect + "?") == true)
            #expect(parameters["error"] == "unsupported_response_type")
            #expect(parameters["error_description"]?.hasPrefix("AADSTS") == true)
            #expect(parameters["state"] == "st-123")

            options.extra = [("prompt", "none")]
            let silent = try await page(client, "/common/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, options))
            #expect(redirectParameters(silent.2)["error"] == "login_required")

            options.extra = []
            options.state = nil
            let noScope = try await page(
                client, "/common/oauth2/v2.0/authorize",
                authorizeParameters(clientID: Fixture.microsoftClient.id, options).filter { $0.0 != "scope" })
            let noScopeParameters = redirectParameters(noScope.2)
            #expect(noScopeParameters["error"] == "invalid_request")
            #expect(noScopeParameters["state"] == nil)
        }
    }

    @Test("Cancel redirects with access_denied (AADSTS65004) and the state")
    func cancel() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            let pairs = authorizeParameters(clientID: Fixture.microsoftClient.id, AuthorizeOptions()) + [("cancel", "1")]
            let response = try await client.execute(
                uri: "/common/oauth2/v2.0/authorize", method: .post, headers: formHeaders, body: ByteBuffer(string: formEncode(pairs)))
            #expect(response.status == .found)
            let parameters = redirectParameters(response.headers[.location])
            #expect(parameters["error"] == "access_denied")
            #expect(parameters["error_description"]?.hasPrefix("AADSTS65004") == true)
            #expect(parameters["state"] == "st-123")
            #expect(parameters["code"] == nil)
        }
    }

    @Test("echoed values are HTML-escaped")
    func escaping() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.state = "\"><script>alert(1)</script>"
            let (_, html, _) = try await page(client, "/common/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, options))
            #expect(!html.contains("<script>"))
            #expect(html.contains("&quot;&gt;&lt;script&gt;"))

            let (_, errorHTML, _) = try await page(client, "/common/oauth2/v2.0/authorize", authorizeParameters(clientID: "<b>x</b>", options))
            #expect(!errorHTML.contains("<b>x</b>"))
        }
    }

    @Test("login_hint puts the hinted account first")
    func loginHint() async throws {
        let app = Fixture.application(Fixture.emulator())
        try await app.test(.router) { client in
            var options = AuthorizeOptions()
            options.extra = [("login_hint", "support@fabrikam.example")]
            let (_, html, _) = try await page(client, "/organizations/oauth2/v2.0/authorize", authorizeParameters(clientID: Fixture.microsoftClient.id, options))
            let fabrikam = try #require(html.range(of: "value=\"support@fabrikam.example\""))
            let contoso = try #require(html.range(of: "value=\"support@contoso.example\""))
            #expect(fabrikam.lowerBound < contoso.lowerBound)
        }
    }
}

@Suite("Form coding")
struct FormCodingTests {
    @Test func decoding() {
        #expect(FormCoding.decode("a+b%20c%2Bd") == "a b c+d")
        #expect(FormCoding.decode("%zz%") == "%zz%")
        #expect(FormCoding.parse("a=1&a=2&b=&c") == ["a": "1", "b": "", "c": ""])
        #expect(FormCoding.encode("4/0A b") == "4%2F0A%20b")
    }

    @Test func basic() {
        let header = basicHeader("id%3Ax", "s:e")
        #expect(FormCoding.basicCredentials(header)?.id == "id:x")
        #expect(FormCoding.basicCredentials(header)?.secret == "s:e")
        #expect(FormCoding.basicCredentials("Basic !!!") == nil)
        #expect(FormCoding.basicCredentials("Bearer abc") == nil)
    }
}
