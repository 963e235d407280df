import Foundation
import MailroomCore
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
