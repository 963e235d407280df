import Engine
import MailroomCore
import MailroomTestSupport
import Testing

/// A certificate from an issuer the system does not trust, on the test Dovecot: the admin's to fix at the provider
/// (the TLS failures that need no mail server are in EngineTests' TLSDiagnosisTests).
@Suite("TLS failures against Dovecot", .serialized)
struct DovecotTLSDiagnosisTests {
    @Test("A certificate from an issuer nobody trusts: «Action needed at your provider», saying the certificate is not trusted")
    func untrustedCertificate() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let fixture = try await StoreFixture.make(.sqlite, name: "tlsuntrusted")
        let user = uniqueUser("untrusted")
        try dovecot.setUser(user, password: "pw-\(user)")
        let mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(
            MailboxDraft(email: "\(user)@example.test", name: "Untrusted", imapHost: "localhost", imapPort: dovecot.imapsPort, imapSecurity: .tls, username: user),
            password: "pw-\(user)")
        // The test CA is not given: the system's trust store does not know it.
        let syncer = MailboxSyncer(store: fixture.store, vault: fixture.vault, settings: SyncSettings(), logger: fixture.logger)
        guard case .failure = await syncer.syncAndRecord(mailbox) else {
            Issue.record("a certificate from an unknown CA was accepted")
            return
        }
        let health = try #require(try await fixture.store.health(mailbox.id)[.incoming])
        #expect(health.state == .actionNeededAtProvider)
        #expect(health.cause == "The certificate of localhost:\(dovecot.imapsPort) is not trusted: it was not issued by a certificate authority Mailroom trusts (or it expired or was revoked).", "\(health.cause ?? "") / \(health.detail ?? "")")
    }
}
