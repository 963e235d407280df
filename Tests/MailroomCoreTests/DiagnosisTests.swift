import MailroomCore
import Testing

@Suite("Diagnosis: what a failure means for the admin")
struct DiagnosisTests {
    let server = IncomingServer(host: "imap.example.com", port: 993, security: .tls, username: "support@example.com")

    @Test("A rejected password asks for reauthorization, naming the account, never the password")
    func rejectedPassword() {
        let verdict = Diagnosis.incoming(.init(kind: .authenticationRejected(code: .authenticationFailed), serverText: "Authentication failed.", step: "LOGIN"), server: server)
        #expect(verdict.state == .reauthorizationRequired)
        #expect(verdict.state.displayName == "Reauthorization required")
        #expect(verdict.cause.contains("support@example.com"))
        #expect(verdict.detail == "LOGIN [AUTHENTICATIONFAILED]: Authentication failed.")
    }

    @Test("Transient faults never ask for reauthorization", arguments: [
        ConnectionFailure.Kind.network, .timeout, .serverUnavailable, .authenticationRejected(code: .unavailable), .protocolError,
        .folderUnavailable(code: .unavailable), .commandFailed(code: .unavailable),
    ])
    func transientFaults(kind: ConnectionFailure.Kind) {
        let verdict = Diagnosis.incoming(.init(kind: kind, serverText: "x"), server: server)
        #expect(verdict.state == .temporarilyFailing)
        #expect(!verdict.state.needsAdmin)
    }

    @Test("Faults that signing in again cannot fix point at the provider", arguments: [
        ConnectionFailure.Kind.tls(.untrustedCertificate), .tls(.wrongName), .tls(.noCommonProtocol), .tls(.other), .loginNotAllowed(code: .loginDisabled), .authenticationRejected(code: .contactAdmin),
        .authenticationRejected(code: .authorizationFailed), .folderUnavailable(code: .nonExistent),
    ])
    func providerFaults(kind: ConnectionFailure.Kind) {
        #expect(Diagnosis.incoming(.init(kind: kind), server: server).state == .actionNeededAtProvider)
    }

    @Test("Each TLS problem says exactly what is wrong and who fixes it")
    func tlsCauses() {
        let untrusted = Diagnosis.incoming(.init(kind: .tls(.untrustedCertificate)), server: server)
        #expect(untrusted.cause == "The certificate of \(server.host):\(server.port) is not trusted: it was not issued by a certificate authority Mailroom trusts (or it expired or was revoked).")
        #expect(untrusted.fix.contains("MAILROOM_CA_FILE"))
        let name = Diagnosis.incoming(.init(kind: .tls(.wrongName)), server: server)
        #expect(name.cause == "The certificate of \(server.host):\(server.port) is not for «\(server.host)»: the server presented a certificate for other names.")
        let protocolMismatch = Diagnosis.incoming(.init(kind: .tls(.noCommonProtocol)), server: server)
        #expect(protocolMismatch.cause.contains("no TLS version or cipher"))
        #expect(protocolMismatch.fix.contains("993 for SSL/TLS"))
    }

    @Test("A password Mailroom cannot decrypt asks the admin to enter it again, without blaming the server")
    func unreadableCredential() {
        let verdict = Diagnosis.incoming(.init(kind: .credentialUnreadable, serverText: "x", step: "credentials"), server: server)
        #expect(verdict.state == .reauthorizationRequired)
        #expect(verdict.cause.contains("cannot read the password stored"))
    }

    @Test("Health keeps when a failing state began and counts failures; success resets them")
    func healthTransitions() throws {
        let t0 = Date(timeIntervalSince1970: 1000)
        let verdict = Diagnosis.incoming(.init(kind: .timeout), server: server)
        let once = ConnectionHealth().failed(verdict, at: t0)
        let twice = once.failed(verdict, at: t0.addingTimeInterval(60))
        #expect(twice.since == t0)
        #expect(twice.consecutiveFailures == 2)
        let ok = twice.succeeded(at: t0.addingTimeInterval(120))
        #expect(ok.state == .connected)
        #expect(ok.consecutiveFailures == 0)
        #expect(ok.cause == nil)
    }

    @Test("The banner follows the states the pages show: a Microsoft mailbox on a password raises it before any state is stored, a provider-side fault or «Paused» does not, OAuth clears it")
    func bannerFollowsShownStates() {
        func mailbox(_ provider: MailProvider, _ authentication: ServerAuthentication, enabled: Bool = true) -> Mailbox {
            Mailbox(
                id: MailboxID(7), email: "help@contoso.example", name: "Help", provider: provider, usage: .incoming,
                incoming: IncomingServer(host: "outlook.office365.com", port: 993, security: .tls, username: "help@contoso.example", authentication: authentication),
                deleteAfterFetch: false, enabled: enabled, createdAt: Date(), updatedAt: Date())
        }
        let basic = mailbox(.microsoft, .password)
        #expect(Diagnosis.impliesMigration(basic))
        #expect(Diagnosis.raisesBanner(basic, stored: [:]), "nothing recorded yet: the page already says «Migration to OAuth required»")
        #expect(Diagnosis.raisesBanner(basic, stored: [.incoming: ConnectionHealth(state: .connected)]))
        #expect(!Diagnosis.raisesBanner(basic, stored: [.incoming: ConnectionHealth(state: .temporarilyFailing)]), "an outage shows first, and no sign-in fixes it")
        #expect(!Diagnosis.raisesBanner(basic, stored: [.incoming: ConnectionHealth(state: .actionNeededAtProvider)]))
        #expect(!Diagnosis.raisesBanner(mailbox(.microsoft, .password, enabled: false), stored: [:]), "the page reads «Paused»")

        let oauth = mailbox(.microsoft, .oauth2)
        #expect(!Diagnosis.impliesMigration(oauth))
        #expect(!Diagnosis.raisesBanner(oauth, stored: [:]))
        #expect(!Diagnosis.raisesBanner(oauth, stored: [.incoming: ConnectionHealth(state: .actionNeededAtProvider)]))
        #expect(Diagnosis.raisesBanner(oauth, stored: [.incoming: ConnectionHealth(state: .reauthorizationRequired)]))

        let other = mailbox(.other, .password)
        #expect(!Diagnosis.impliesMigration(other))
        #expect(!Diagnosis.raisesBanner(other, stored: [:]))
        #expect(Diagnosis.raisesBanner(other, stored: [.incoming: ConnectionHealth(state: .reauthorizationRequired)]))
        #expect(HealthState.allCases.filter(\.raisesBanner) == [.reauthorizationRequired, .migrationRequired])
    }
}

import Foundation
