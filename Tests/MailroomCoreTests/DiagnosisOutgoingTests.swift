import MailroomCore
import Testing

@Suite("Diagnosis of the outgoing (SMTP) direction")
struct DiagnosisOutgoingTests {
    let password = OutgoingServer(host: "smtp.example.com", port: 587, security: .starttls, username: "support@example.com")
    let oauth = OutgoingServer(host: "smtp.office365.com", port: 587, security: .starttls, username: "support@contoso.com", authentication: .oauth2)

    static func auth(_ code: Int, _ status: String?, _ text: String, fresh: Bool = false) -> OutgoingFailure {
        OutgoingFailure(kind: fresh ? .freshTokenRejected : .authenticationRejected, replyCode: code, enhancedStatus: status, serverText: text, step: "AUTH")
    }

    @Test("535 5.7.8 to a password asks for the password again, naming the account; the detail has code, status and text")
    func rejectedPassword() {
        let verdict = Diagnosis.outgoing(Self.auth(535, "5.7.8", "Error: authentication failed: authentication failure"), server: password)
        #expect(verdict.state == .reauthorizationRequired)
        #expect(verdict.cause == "The outgoing mail server rejected the username or password for «support@example.com».")
        #expect(verdict.fix.contains("enter the password again"))
        #expect(verdict.detail == "AUTH 535 5.7.8: Error: authentication failed: authentication failure")
    }

    @Test("A renewal the identity provider refused is Case 3, in the same words as for fetching", arguments: [
        (MailProvider.microsoft, "Your Microsoft Office 365 credentials have expired. Please sign in again."),
        (.google, "Your Gmail credentials have expired. Please sign in again."),
    ])
    func refusedRenewal(provider: MailProvider, words: String) {
        let failure = OutgoingFailure(
            kind: .tokenRefused(.reauthorization), serverText: "invalid_grant: AADSTS50173: The provided grant has expired", step: "token refresh")
        let verdict = Diagnosis.outgoing(failure, server: oauth, provider: provider)
        #expect(verdict.state == .reauthorizationRequired)
        #expect(verdict.cause == words)
        #expect(verdict.fix.contains("«\(provider.signInLabel)»"))
        #expect(verdict.detail == "token refresh: invalid_grant: AADSTS50173: The provided grant has expired")
        let incoming = Diagnosis.incoming(
            ConnectionFailure(kind: .tokenRefused(.reauthorization), serverText: "x"),
            server: IncomingServer(host: "h", port: 993, security: .tls, username: oauth.username, authentication: .oauth2), provider: provider)
        #expect(incoming.cause == verdict.cause)
    }

    @Test("A token the provider just issued that the server still refuses is not an expired sign-in: enable Authenticated SMTP")
    func freshTokenRefused() {
        let verdict = Diagnosis.outgoing(Self.auth(535, "5.7.3", "Authentication unsuccessful", fresh: true), server: oauth, provider: .microsoft)
        #expect(verdict.state == .actionNeededAtProvider)
        #expect(verdict.cause.contains("Authenticated SMTP"))
        #expect(verdict.fix.contains("Manage email apps › Authenticated SMTP"))
        #expect(verdict.fix.contains("Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false"))
        #expect(verdict.detail == "AUTH 535 5.7.3 with a fresh token: Authentication unsuccessful")
        #expect(!verdict.cause.contains("expired"))
        // Even an OAuth refusal not marked fresh never prompts a sign-in: only the identity provider decides that.
        #expect(Diagnosis.outgoing(Self.auth(535, "5.7.8", "x"), server: oauth, provider: .microsoft).state == .actionNeededAtProvider)
    }

    @Test("Microsoft's 535 5.7.139 (SMTP AUTH disabled) points at Authenticated SMTP, with a password or with OAuth")
    func smtpAuthDisabledByPolicy() {
        for server in [password, oauth] {
            let verdict = Diagnosis.outgoing(
                Self.auth(535, "5.7.139", "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."),
                server: server, provider: .microsoft)
            #expect(verdict.state == .actionNeededAtProvider)
            #expect(verdict.cause.contains("Authenticated SMTP"))
            #expect(verdict.fix.contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false"))
        }
    }

    @Test("Temporary faults never ask for reauthorization", arguments: [
        OutgoingFailure(kind: .authenticationRejected, replyCode: 454, enhancedStatus: "4.7.0", serverText: "Temporary authentication failure", step: "AUTH"),
        OutgoingFailure(kind: .freshTokenRejected, replyCode: 454, enhancedStatus: "4.7.0", step: "AUTH"),
        OutgoingFailure(kind: .network, replyCode: 421, enhancedStatus: "4.3.2", serverText: "Service not available", step: "greeting"),
        OutgoingFailure(kind: .network, serverText: "connection refused", step: "connect"),
        OutgoingFailure(kind: .timeout, step: "EHLO"),
        OutgoingFailure(kind: .tokenRefused(.transient), serverText: "HTTP 503 temporarily_unavailable", step: "token refresh"),
        OutgoingFailure(kind: .protocolError, step: "EHLO"),
    ])
    func transientFaults(failure: OutgoingFailure) {
        for server in [password, oauth] {
            let verdict = Diagnosis.outgoing(failure, server: server, provider: .microsoft)
            #expect(verdict.state == .temporarilyFailing, "\(failure)")
            #expect(!verdict.state.needsAdmin)
        }
    }

    @Test("A TLS failure points at the provider with a port hint: 587 is STARTTLS, 465 is SSL/TLS")
    func tlsHints() {
        let tls = OutgoingFailure(kind: .tls(.other), serverText: "certificate verify failed", step: "STARTTLS")
        let generic = Diagnosis.outgoing(tls, server: password)
        #expect(generic.state == .actionNeededAtProvider)
        #expect(generic.fix.contains("587 for STARTTLS, 465 for SSL/TLS"))
        #expect(generic.detail == "STARTTLS TLS error: certificate verify failed")
        let wrongOn587 = Diagnosis.outgoing(tls, server: OutgoingServer(host: "smtp.example.com", port: 587, security: .tls, username: "u"))
        #expect(wrongOn587.fix.hasPrefix("Port 587 uses STARTTLS"))
        let wrongOn465 = Diagnosis.outgoing(tls, server: OutgoingServer(host: "smtp.example.com", port: 465, security: .starttls, username: "u"))
        #expect(wrongOn465.fix.hasPrefix("Port 465 uses SSL/TLS"))
        let encryption = Diagnosis.outgoing(Self.auth(538, "5.7.11", "Encryption required for requested authentication mechanism"), server: password)
        #expect(encryption.state == .actionNeededAtProvider)
        let untrusted = Diagnosis.outgoing(OutgoingFailure(kind: .tls(.untrustedCertificate), step: "STARTTLS"), server: password)
        #expect(untrusted.cause.hasPrefix("The certificate of the outgoing mail server \(password.host):\(password.port) is not trusted"))
        #expect(encryption.fix.contains("587") && encryption.fix.contains("465"))
    }

    @Test("AUTH not offered at all needs action at the provider, not a new password")
    func authNotOffered() {
        let failure = OutgoingFailure(kind: .authenticationNotOffered, serverText: "server offers no AUTH mechanisms here (wanted PLAIN or LOGIN)", step: "AUTH")
        let verdict = Diagnosis.outgoing(failure, server: password)
        #expect(verdict.state == .actionNeededAtProvider)
        #expect(verdict.cause.contains("does not offer sign-in (SMTP AUTH) with a password"))
        #expect(Diagnosis.outgoing(failure, server: oauth, provider: .microsoft).fix.contains("Authenticated SMTP"))
    }

    @Test("Provider codes: 534 5.7.9 app password, 550 5.7.30 Basic Auth retired, 525 5.7.13 account disabled")
    func providerCodes() {
        let appPassword = Diagnosis.outgoing(Self.auth(534, "5.7.9", "Application-specific password required."), server: password, provider: .google)
        #expect(appPassword.state == .actionNeededAtProvider)
        #expect(appPassword.fix.contains("app password"))
        let basic = Diagnosis.outgoing(
            Self.auth(550, "5.7.30", "Basic authentication is not supported for Client Submission."), server: password, provider: .microsoft)
        #expect(basic.state == .migrationRequired)
        #expect(basic.fix.contains("«Sign in with Microsoft»"))
        #expect(Diagnosis.outgoing(Self.auth(525, "5.7.13", "Account disabled"), server: password).state == .actionNeededAtProvider)
    }

    @Test("A refused reply or recipient is not a connection problem; a missing Send As permission is")
    func refusals() {
        let recipient = OutgoingFailure(kind: .messageRefused, replyCode: 550, enhancedStatus: "5.1.1", serverText: "Recipient address rejected", step: "RCPT")
        #expect(!Diagnosis.concernsConnection(recipient))
        #expect(Diagnosis.outgoing(recipient, server: password).state == .connected)
        let busy = OutgoingFailure(kind: .messageRefused, replyCode: 452, enhancedStatus: "4.5.3", step: "RCPT")
        #expect(!Diagnosis.concernsConnection(busy))
        let sendAs = OutgoingFailure(kind: .messageRefused, replyCode: 554, enhancedStatus: "5.2.252", serverText: "SendAsDenied", step: "DATA")
        #expect(Diagnosis.concernsConnection(sendAs))
        let verdict = Diagnosis.outgoing(sendAs, server: oauth, provider: .microsoft)
        #expect(verdict.state == .actionNeededAtProvider)
        #expect(verdict.fix.contains("Send as"))
        #expect(Diagnosis.concernsConnection(OutgoingFailure(kind: .network, step: "DATA")))
    }

    @Test("Refusals the identity provider says someone else must fix read as they do for fetching", arguments: [
        ConnectionFailure.TokenProblem.providerAction, .appRegistration, .configuration,
    ])
    func otherTokenProblems(problem: ConnectionFailure.TokenProblem) {
        let failure = OutgoingFailure(kind: .tokenRefused(problem), serverText: "AADSTS7000222", step: "token refresh")
        let verdict = Diagnosis.outgoing(failure, server: oauth, provider: .microsoft)
        #expect(verdict.state == .actionNeededAtProvider)
        #expect(verdict.detail == "token refresh: AADSTS7000222")
    }

    @Test("An unreadable stored credential asks for it again; the detail never carries a secret")
    func unreadableCredential() {
        let verdict = Diagnosis.outgoing(OutgoingFailure(kind: .credentialUnreadable, serverText: "No SMTP password is stored for this mailbox.", step: "credentials"), server: password)
        #expect(verdict.state == .reauthorizationRequired)
        #expect(verdict.cause.contains("cannot read the password stored"))
        #expect(verdict.detail == "credentials stored credential unreadable: No SMTP password is stored for this mailbox.")
    }
}
