import Foundation
import Logging

/// The demo identities served by `identity-emulator` and by ``IdentityEmulator/demo``.
///
/// Fixed values so that Mailroom's demo configuration and docs can name them.
public enum EmulatorDemoData {
    public static let redirectURIs = ["http://127.0.0.1:8080/oauth/callback", "http://localhost:8080/oauth/callback"]

    public static let microsoftClient = EmulatorClient(
        id: "5f2b7c1e-8a4d-4e0b-9c3a-6d1e2f7a8b90", secret: "demo-microsoft-client-secret",
        redirectURIs: redirectURIs, provider: .microsoft, displayName: "Mailroom (demo)")

    public static let googleClient = EmulatorClient(
        id: "123456789012-mailroomdemo.apps.googleusercontent.com", secret: "GOCSPX-demo-google-client-secret",
        redirectURIs: redirectURIs, provider: .google, displayName: "Mailroom (demo)")

    public static let contosoTenantID = "8f3c2a71-4b6e-4d2a-9e57-1c0b3d5a7f24"
    public static let contosoDomain = "contoso.example"
    public static let fabrikamTenantID = "2d9e6b14-7c3f-4a85-b1e0-5f8a2c4d6e13"
    public static let fabrikamDomain = "fabrikam.example"

    /// Credentials Dovecot uses at `/introspect` (put them in `introspection_url`).
    public static let introspectionCredentials = IntrospectionCredentials(clientID: "dovecot", secret: "demo-introspection-secret")

    public static let accounts: [EmulatorAccount] = [
        .microsoftWork("support@contoso.example", displayName: "Contoso Support", tenantID: contosoTenantID, tenantDomain: contosoDomain),
        .microsoftWork(
            "agent@contoso.example", displayName: "Alex Agent", tenantID: contosoTenantID, tenantDomain: contosoDomain,
            delegatedMailbox: "helpdesk@contoso.example"),
        .microsoftWork("support@fabrikam.example", displayName: "Fabrikam Support", tenantID: fabrikamTenantID, tenantDomain: fabrikamDomain),
        .microsoftPersonal("mailroom.demo@hotmail.com", displayName: "Mailroom Demo (Hotmail)"),
        .microsoftPersonal("mailroom.demo@outlook.com", displayName: "Mailroom Demo (Outlook.com)"),
        .google("mailroom.demo@gmail.com", displayName: "Mailroom Demo (Gmail)"),
    ]
}

extension IdentityEmulator {
    /// A new emulator with the demo clients and accounts (a fresh instance on every access, so tests
    /// never share state).
    public static var demo: IdentityEmulator { demo() }

    /// A new emulator with the demo data and the given options.
    public static func demo(
        accessTokenLifetime: Int = 3600, baseURL: String? = nil, logger: Logger = Logger(label: "identity-emulator")
    ) -> IdentityEmulator {
        IdentityEmulator(
            accounts: EmulatorDemoData.accounts,
            clients: [EmulatorDemoData.microsoftClient, EmulatorDemoData.googleClient],
            introspectionCredentials: EmulatorDemoData.introspectionCredentials,
            accessTokenLifetime: accessTokenLifetime, baseURL: baseURL, logger: logger)
    }
}
