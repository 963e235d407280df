import SMTP
import Testing

/// How the SMTP tests reach a test server (Postfix or Dovecot submission): short timeouts, the test CA.
func testSMTPServer(port: Int, implicitTLS: Bool, caFile: String?) -> SMTPServer {
    SMTPServer(
        host: "localhost", port: port, security: implicitTLS ? .implicitTLS : .startTLS, trustedCertificatesPEMFile: caFile,
        timeouts: SMTPTimeouts(connect: .seconds(10), greeting: .seconds(20), command: .seconds(30)),
        localHostname: "mailroom.test")
}

/// The SMTPError `body` throws, or a recorded issue.
func smtpError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> SMTPError? {
    do {
        try await body()
        Issue.record("expected an SMTPError", sourceLocation: sourceLocation)
    } catch let error as SMTPError {
        return error
    } catch {
        Issue.record("expected an SMTPError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
