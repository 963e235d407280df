import Foundation
import MailroomCore
import MailroomTestSupport
import OAuth
import Testing
@testable import Web

/// Which identity provider a sign-in start uses, with several generic OpenID Connect providers configured.
@Suite("Choosing the identity provider of a sign-in")
struct IdentityProviderChoiceTests {
    static let discovery = URL(string: "https://id.example/.well-known/openid-configuration")!
    static let oauth = OAuthProviders(entries: [
        .init(key: .google, name: "Google", source: .discovery(discovery, kind: .google, clientID: "g", clientSecret: "s")),
        .init(key: .openIDConnect, name: "Example ID", source: .discovery(discovery, kind: .openIDConnect, clientID: "o", clientSecret: "s")),
        .init(key: .openIDConnect("keycloak"), name: "Keycloak", source: .discovery(discovery, kind: .openIDConnect, clientID: "k", clientSecret: "s")),
    ])

    @Test("«Other» is the generic provider of the mailbox's own grant, else the first configured; a key names one; an unconfigured one is refused")
    func choice() {
        func choose(_ requested: String, current: ProviderKey? = nil) -> String? {
            SignInController.identityProvider(requested: requested, current: current, oauth: Self.oauth).map { "\($0.0.rawValue) \($0.1)" }
        }
        #expect(choose("other") == "other oidc")
        #expect(choose("other", current: .openIDConnect("keycloak")) == "other oidc-keycloak")
        #expect(choose("other", current: .google) == "other oidc", "a Google grant does not make «Other» Google")
        #expect(choose("oidc-keycloak") == "other oidc-keycloak")
        #expect(choose("google") == "google google")
        #expect(choose("microsoft") == nil, "Microsoft is not configured here")
        #expect(choose("oidc-nope") == nil)
        #expect(choose("") == nil)
        #expect(Self.oauth.generic.map(\.name) == ["Example ID", "Keycloak"])
    }
}

@Suite("Generic OpenID Connect configuration")
struct GenericProviderConfigurationTests {
    @Test("A listed provider without its app or discovery document stops `mailroom serve` with the variables to set, before it listens")
    func incompleteListStopsServe() throws {
        let workdir = try TestPaths.temporaryDirectory("oidc-config")
        let binary = try TestPaths.mailroomBinary
        let port = String(try ProcessRunner.freePort())
        let output = try ProcessRunner.run([
            "timeout", "60", "env", "MAILROOM_OIDC_PROVIDERS=keycloak", "MAILROOM_OIDC_KEYCLOAK_CLIENT_ID=id", binary, "serve",
            "--database", workdir.appendingPathComponent("m.sqlite").path, "--port", port,
        ], allowFailure: true)
        #expect(output.contains("MAILROOM_OIDC_PROVIDERS lists «keycloak»: set MAILROOM_OIDC_KEYCLOAK_CLIENT_ID, MAILROOM_OIDC_KEYCLOAK_CLIENT_SECRET and MAILROOM_OIDC_KEYCLOAK_DISCOVERY_URL."), "\(output)")
        let badName = try ProcessRunner.run([
            "timeout", "60", "env", "MAILROOM_OIDC_PROVIDERS=key/cloak", binary, "serve", "--database", workdir.appendingPathComponent("m.sqlite").path, "--port", port,
        ], allowFailure: true)
        #expect(badName.contains("use short names of letters and digits"), "\(badName)")
    }
}
