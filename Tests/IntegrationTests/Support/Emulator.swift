import Foundation
import IdentityEmulator
import Logging
import MailroomTestSupport
import OAuth

/// The identity emulator in this test process, and the apps Mailroom is registered as there.
struct EmulatorFixture: Sendable {
    let running: RunningEmulator
    var emulator: IdentityEmulator { running.emulator }
    var baseURL: String { running.baseURL }
    static let redirectURI = "http://127.0.0.1:9/oauth/callback"
    static let microsoftClient = EmulatorClient(id: "mailroom-tests-ms", secret: "ms-client-secret-\(UUID().uuidString)", redirectURIs: [redirectURI], provider: .microsoft)
    static let googleClient = EmulatorClient(id: "mailroom-tests-google", secret: "google-client-secret-\(UUID().uuidString)", redirectURIs: [redirectURI], provider: .google)
    /// One work tenant per test process.
    static let tenantID = UUID().uuidString.lowercased()
    static let tenantDomain = "contoso.example"

    /// - Parameter gated: behind a connection gate, so a test can make the host refuse or swallow connections
    ///   (``IdentityEmulator/networkOutage(_:)``); such an emulator is the test's own, never the shared one.
    static func start(gated: Bool = false) async throws -> EmulatorFixture {
        var logger = Logger(label: "identity-emulator")
        logger.logLevel = .warning
        let emulator = IdentityEmulator(clients: [microsoftClient, googleClient], logger: logger)
        return EmulatorFixture(running: try await IdentityEmulator.start(emulator: emulator, gated: gated))
    }

    /// Where Dovecot's oauth2 passdb introspects tokens (RFC 7662, HTTP Basic).
    var introspectionURL: String {
        let credentials = EmulatorDemoData.introspectionCredentials
        return baseURL.replacingOccurrences(of: "http://", with: "http://\(credentials.clientID):\(credentials.secret)@") + "/introspect"
    }

    /// Mailroom's OAuth apps pointed at the emulator, as an operator configures them.
    func providers(microsoftTenant: String = "common", http: OAuthHTTP = OAuthHTTP(), logger: Logger = Logger(label: "oauth")) -> OAuthProviders {
        OAuthProviders([
            .microsoft: .profile(.microsoft(
                clientID: Self.microsoftClient.id, clientSecret: Self.microsoftClient.secret, tenant: microsoftTenant,
                authority: URL(string: baseURL)!)),
            .google: .discovery(URL(string: "\(baseURL)/google/.well-known/openid-configuration")!, kind: .google,
                                clientID: Self.googleClient.id, clientSecret: Self.googleClient.secret),
        ], http: http, logger: logger)
    }

    /// A new work account in the test tenant (unique, so faults on it touch no other test).
    func workAccount(_ prefix: String, delegateOf shared: String? = nil) async -> String {
        let address = "\(uniqueUser(prefix))@\(Self.tenantDomain)"
        await emulator.addAccount(.microsoftWork(address, displayName: "Test \(prefix)", tenantID: Self.tenantID, tenantDomain: Self.tenantDomain, delegatedMailbox: shared))
        return address
    }

    func personalAccount(_ prefix: String, domain: String = "hotmail.com") async -> String {
        let address = "\(uniqueUser(prefix))@\(domain)"
        await emulator.addAccount(.microsoftPersonal(address, displayName: "Personal \(prefix)"))
        return address
    }

    func googleAccount(_ prefix: String) async -> String {
        let address = "\(uniqueUser(prefix))@gmail.example"
        await emulator.addAccount(.google(address, displayName: "Google \(prefix)"))
        return address
    }
}
