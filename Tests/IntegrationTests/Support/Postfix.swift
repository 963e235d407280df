import Foundation
import LocalMailServers
import MailroomTestSupport

/// A private Postfix on loopback for one test process (``PostfixConfiguration``), authenticating SMTP clients
/// through a ``Dovecot``'s auth service and delivering the customers' test domain into it over LMTP, with the
/// Dovecot test CA's server certificate on both listeners.
final class Postfix: Sendable {
    let configuration: PostfixConfiguration
    let dovecot: Dovecot
    /// The CA that signed the server certificate (the Dovecot test CA).
    var caFile: String { dovecot.caFile }
    /// Submission with STARTTLS; AUTH is offered only after TLS.
    var submissionPort: Int { configuration.submissionPort }
    /// Submissions: implicit TLS from the first byte.
    var submissionsPort: Int { configuration.submissionsPort }

    /// Mail for this domain is delivered into Dovecot (user = the full address).
    static let customerDomain = "customer.example"
    /// Refused with `550 5.1.1` at RCPT time.
    static let refusedRecipient = "nobody@customer.example"

    init(dovecot: Dovecot) async throws {
        self.dovecot = dovecot
        configuration = PostfixConfiguration(
            root: try TestPaths.temporaryDirectory("postfix").path, submissionPort: try ProcessRunner.freePort(),
            submissionsPort: try ProcessRunner.freePort(), certificateFile: dovecot.certificateFile, keyFile: dovecot.keyFile,
            dovecotAuthPort: dovecot.authPort, dovecotLMTPPort: dovecot.lmtpPort, deliveryDomain: Self.customerDomain,
            refusedRecipient: Self.refusedRecipient)
        let configuration = configuration
        try await configuration.start()
        TestCleanup.register { try? configuration.stop() }
    }

    /// Stops the instance (an outage, as far as Mailroom can tell); ``start()`` brings it back with its queue.
    func stop() throws {
        try configuration.stop()
    }

    func start() async throws {
        try await configuration.restart()
    }

    /// What Postfix logged so far (smtpd's view of each session, SASL failures, TLS errors).
    func log() -> String { configuration.log() }
}
