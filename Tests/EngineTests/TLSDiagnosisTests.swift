import Engine
import Foundation
import LocalMailServers
import MailroomCore
import MailroomTestSupport
import Testing

/// A TLS failure is the admin's to fix only when the certificate fails verification or the server speaks no
/// usable TLS; a handshake cut short is a network fault, retried without a prompt.
@Suite("TLS failures told apart by their cause", .serialized)
struct TLSDiagnosisTests {
    @Test("A server that hangs up right after the ClientHello: «Temporarily failing», never a prompt")
    func handshakeCutShort() async throws {
        let server = try HostileIMAP.server(.hangUpAfterClientHello)
        defer { server.stop() }
        let fixture = try await StoreFixture.make(.sqlite, name: "tlscut")
        let mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(
            MailboxDraft(email: "cut@example.test", name: "Cut", imapHost: "127.0.0.1", imapPort: server.port, imapSecurity: .tls, username: "cut"),
            password: "pw")
        let syncer = MailboxSyncer(store: fixture.store, vault: fixture.vault, settings: SyncSettings(), logger: fixture.logger)
        guard case .failure = await syncer.syncAndRecord(mailbox) else {
            Issue.record("a server that hung up mid-handshake was fetched from")
            return
        }
        #expect(server.connections >= 1)
        let health = try #require(try await fixture.store.health(mailbox.id)[.incoming])
        #expect(health.state == .temporarilyFailing, "\(health.state): \(health.cause ?? "") / \(health.detail ?? "")")
        #expect(health.cause?.contains("certificate") != true, "\(health.detail ?? "")")
        #expect(health.fix == "Nothing to do yet: Mailroom retries automatically and no mail is lost.")
    }

    @Test("A certificate for another name: «Action needed at your provider», naming the name it is not for")
    func wrongName() async throws {
        // A TLS server (OpenSSL's own) whose trusted certificate is for other.example, reached as «localhost».
        let dir = try TestPaths.temporaryDirectory("tlsname")
        let certificate = dir.appendingPathComponent("other.pem").path
        let key = dir.appendingPathComponent("other.key").path
        try ProcessRunner.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                               "-days", "2", "-subj", "/CN=other.example", "-addext", "subjectAltName=DNS:other.example"])
        let port = try LoopbackPort.free()
        let pid = try CleanSpawn.spawn(["openssl", "s_server", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key],
                                       output: dir.appendingPathComponent("s_server.log").path)
        defer {
            kill(pid, SIGTERM)
            _ = CleanSpawn.wait(pid)
        }
        try await LoopbackPort.waitUntilListening(port, name: "openssl s_server")
        let fixture = try await StoreFixture.make(.sqlite, name: "tlsname")
        let mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(
            MailboxDraft(email: "name@example.test", name: "Name", imapHost: "localhost", imapPort: port, imapSecurity: .tls, username: "name"),
            password: "pw")
        let syncer = MailboxSyncer(store: fixture.store, vault: fixture.vault, settings: SyncSettings(trustedCertificatesPEMFile: certificate), logger: fixture.logger)
        guard case .failure(let failure) = await syncer.syncAndRecord(mailbox) else {
            Issue.record("a certificate for other.example was accepted for localhost")
            return
        }
        #expect(failure.kind == .tls(.wrongName), "\(failure)")
        let health = try #require(try await fixture.store.health(mailbox.id)[.incoming])
        #expect(health.state == .actionNeededAtProvider, "\(health.state): \(health.detail ?? "")")
        #expect(health.cause == "The certificate of localhost:\(port) is not for «localhost»: the server presented a certificate for other names.")
    }
}
