/// The one place that decides what a failure means for the admin (PRODUCT.md «Connection health»,
/// protocols.md §6). It branches on protocol codes, never on the server's wording.
public enum Diagnosis {
    /// The judgement on one failure: the state it puts the mailbox in, and what to tell the admin.
    public struct Verdict: Sendable, Equatable {
        public var state: HealthState
        public var cause: String
        public var fix: String
        public var detail: String?
    }

    /// Judges a failure of the incoming (IMAP) connection of a mailbox at `server`.
    public static func incoming(_ failure: ConnectionFailure, server: IncomingServer, provider: MailProvider = .other) -> Verdict {
        let head = [failure.step, codeOf(failure.kind)].compactMap { $0 }.joined(separator: " ")
        let detail = failure.serverText.map { $0.isEmpty ? head : "\(head): \($0)" } ?? head
        let endpoint = "\(server.host):\(server.port)"
        switch failure.kind {
        // RFC 5530 UNAVAILABLE: a subsystem is down, whichever command met it. Never a reason to sign in again.
        case .authenticationRejected(.unavailable) where server.authentication == .oauth2:
            // The server checks tokens with the identity provider; it only relays that the check could not be made.
            return Verdict(
                state: .temporarilyFailing,
                cause: "The mail server at \(endpoint) could not check the access token right now ([UNAVAILABLE]): \(provider.identityProviderName), or the service the server asks to check sign-ins, is temporarily unavailable.",
                fix: "Nothing to do yet: Mailroom retries automatically and no mail is lost.",
                detail: detail)
        case _ where failure.isOutage:
            return transient(detail: detail, endpoint: endpoint)
        case .authenticationRejected(.contactAdmin), .authenticationRejected(.authorizationFailed):
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The mail server accepted the sign-in but does not let «\(server.username)» open this mailbox.",
                fix: "Ask your mail provider's administrator to give this account access to the mailbox (or enable IMAP for it).",
                detail: detail)
        case .authenticationRejected where server.authentication == .oauth2:
            return expiredSignIn(provider: provider, account: server.username, detail: detail)
        case .authenticationRejected:
            return Verdict(
                state: .reauthorizationRequired,
                cause: "The mail server rejected the username or password for «\(server.username)».",
                fix: "Check the username, enter the password again and save. If the password was changed on the mail server, use the new one.",
                detail: detail)
        case .loginNotAllowed:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The mail server at \(endpoint) does not allow password sign-in on this connection.",
                fix: "Choose SSL/TLS or STARTTLS, or ask your mail provider to enable IMAP sign-in for this account.",
                detail: detail)
        case .serverUnavailable, .network, .timeout:
            return transient(detail: detail, endpoint: endpoint)
        case .tls(let problem):
            return tlsVerdict(problem, server: "", host: server.host, endpoint: endpoint, detail: detail,
                              fallbackFix: "Check the server name and port (993 for SSL/TLS, 143 for STARTTLS) and that the server has a valid certificate for this name.")
        case .folderUnavailable:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The folder «\(server.folder)» could not be opened.",
                fix: "Check the folder name in the mailbox settings (usually INBOX) and that the account may read it.",
                detail: detail)
        case .credentialUnreadable:
            return Verdict(
                state: .reauthorizationRequired,
                cause: "Mailroom cannot read the password stored for «\(server.username)»: it was saved under another secret key, or none is stored.",
                fix: "Enter the password again and save, or start Mailroom with the secret key it was saved with (MAILROOM_SECRET_KEY or the key file).",
                detail: detail)
        case .tokenRefused(.reauthorization):
            return expiredSignIn(provider: provider, account: server.username, detail: detail)
        case .tokenRefused(.transient):
            return Verdict(
                state: .temporarilyFailing,
                cause: "\(provider.identityProviderName) could not be reached or is temporarily unavailable, so Mailroom could not renew its access token.",
                fix: "Nothing to do yet: Mailroom retries automatically and no mail is lost.",
                detail: detail)
        case .tokenRefused(.providerAction):
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "\(provider.identityProviderName) refuses access for «\(server.username)» for a reason signing in again will not fix (for example a conditional access policy, a disabled account or missing admin consent).",
                fix: "Ask your \(provider.identityProviderName) administrator to allow this account and Mailroom's app; the provider's code below says what it requires.",
                detail: detail)
        case .tokenRefused(.appRegistration):
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "\(provider.identityProviderName) refused Mailroom's app registration (for example its client secret expired or was replaced). This affects every mailbox signed in with \(provider.identityProviderName).",
                fix: "The Mailroom operator must create a new client secret in the app registration and update Mailroom's configuration. Signing in again will not help until then.",
                detail: detail)
        case .tokenRefused(.configuration):
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "Mailroom's OAuth settings for \(provider.identityProviderName) are not accepted (app, scopes or redirect address).",
                fix: "The Mailroom operator must check the OAuth app configuration for \(provider.identityProviderName).",
                detail: detail)
        case .freshTokenRejected:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The mail server refused a token \(provider.identityProviderName) issued moments ago, so the sign-in itself is fine: IMAP is probably disabled for «\(server.username)», or the signed-in account has no access to this mailbox.",
                fix: provider == .microsoft
                    ? "In the Microsoft 365 admin center, enable IMAP for the mailbox (Users › Mail › Manage email apps, or Set-CASMailbox -ImapEnabled $true), and for a shared mailbox give the signed-in account Full Access."
                    : "Enable IMAP access for the mailbox at your provider, and for a shared mailbox give the signed-in account access to it.",
                detail: detail)
        case .commandFailed, .protocolError:
            return Verdict(
                state: .temporarilyFailing,
                cause: "The mail server at \(endpoint) answered unexpectedly.",
                fix: "Mailroom retries automatically. If this lasts, check the server settings.",
                detail: detail)
        }
    }

    /// A TLS failure that is the admin's to fix, with what exactly is wrong. `what` names the server for the
    /// outgoing direction («the outgoing mail server »), empty for incoming.
    static func tlsVerdict(_ problem: TLSProblem, server what: String, host: String, endpoint: String, detail: String, fallbackFix: String) -> Verdict {
        switch problem {
        case .untrustedCertificate:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The certificate of \(what)\(endpoint) is not trusted: it was not issued by a certificate authority Mailroom trusts (or it expired or was revoked).",
                fix: "Ask the server's administrator for a valid certificate from a public certificate authority for «\(host)». For a company's own authority, the Mailroom operator adds it with --ca-file (MAILROOM_CA_FILE).",
                detail: detail)
        case .wrongName:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The certificate of \(what)\(endpoint) is not for «\(host)»: the server presented a certificate for other names.",
                fix: "Enter the server name exactly as your provider documents it (the name its certificate is for), or ask the server's administrator for a certificate that includes «\(host)».",
                detail: detail)
        case .noCommonProtocol:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "\(what.isEmpty ? "The server" : "The outgoing mail server") at \(endpoint) offers no TLS version or cipher Mailroom accepts (TLS 1.2 or later), or this port does not use TLS in the way chosen.",
                fix: fallbackFix,
                detail: detail)
        case .other:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "A secure connection to \(what)\(endpoint) could not be established: TLS failed.",
                fix: fallbackFix,
                detail: detail)
        }
    }

    /// Case 3 of the article: the OAuth sign-in expired or was revoked; one sign-in fixes it.
    static func expiredSignIn(provider: MailProvider, account: String, detail: String) -> Verdict {
        let cause = switch provider {
        case .microsoft: "Your Microsoft Office 365 credentials have expired. Please sign in again."
        case .google: "Your Gmail credentials have expired. Please sign in again."
        case .other: "Your sign-in for «\(account)» has expired. Please sign in again."
        }
        let button = provider == .other ? "the «Sign in with …» button of your identity provider on this mailbox's page" : "«\(provider.signInLabel)»"
        return Verdict(
            state: .reauthorizationRequired, cause: cause,
            fix: "Click \(button) and sign in as «\(account)». Fetching resumes where it stopped; no mail is lost.",
            detail: detail)
    }

    /// Mail was fetched but Mailroom could not store it, again and again: not the mail server's fault, and no
    /// sign-in will fix it, but it must show on the mailbox instead of only in a log.
    public static func storeFailed(_ detail: String) -> Verdict {
        Verdict(
            state: .temporarilyFailing,
            cause: "Mailroom fetched mail from this mailbox but could not store it in its database.",
            fix: "Mailroom retries automatically and nothing is deleted from the mail server meanwhile. If this lasts, the operator should check the database (disk space, permissions, connection) and Mailroom's log.",
            detail: StoredText.line(String(detail.prefix(500))))
    }

    private static func transient(detail: String, endpoint: String) -> Verdict {
        Verdict(
            state: .temporarilyFailing,
            cause: "The mail server at \(endpoint) could not be reached or is temporarily unavailable.",
            fix: "Nothing to do yet: Mailroom retries automatically and no mail is lost.",
            detail: detail)
    }

    private static func codeOf(_ kind: ConnectionFailure.Kind) -> String? {
        switch kind {
        case .authenticationRejected(let code), .loginNotAllowed(let code), .folderUnavailable(let code), .commandFailed(let code):
            code.map { "[\($0)]" }
        case .network: "network error"
        case .timeout: "timeout"
        case .tls: "TLS error"
        case .serverUnavailable: "[UNAVAILABLE]"
        case .protocolError: "protocol error"
        case .credentialUnreadable: "stored credential unreadable"
        case .tokenRefused: nil
        case .freshTokenRejected(let code): code.map { "[\($0)] with a fresh token" } ?? "rejected a fresh token"
        }
    }
}
