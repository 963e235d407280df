/// A failure to send through a mailbox's own outgoing (SMTP submission) server, stated in protocol terms but free
/// of the SMTP module's types.
///
/// The Engine only translates: which step failed, and the server's reply code, enhanced status code (RFC 3463) and
/// text. What a code means (`454 4.7.0` is temporary, `535 5.7.8` is a rejected credential, …) is decided in
/// ``Diagnosis/outgoing(_:server:provider:)``.
public struct OutgoingFailure: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// DNS, refused or reset connections, the server hanging up (or answering `421`).
        case network
        case timeout
        /// The TLS handshake or certificate check failed, or STARTTLS was not offered or refused.
        case tls(TLSProblem)
        /// Sign-in would have to happen over an unencrypted connection.
        case encryptionRequired
        /// The server offers no AUTH mechanism Mailroom can use with this credential (or none at all).
        case authenticationNotOffered
        /// The server refused the credential (a password, or an OAuth token that was not just issued).
        case authenticationRejected
        /// The server refused an access token the identity provider issued moments ago: the grant is fine.
        case freshTokenRejected
        /// The greeting, EHLO or another command before the message was refused.
        case commandFailed
        /// The server said something the client could not understand.
        case protocolError
        /// Mailroom cannot read its own stored password or sign-in.
        case credentialUnreadable
        /// The identity provider refused to renew the access token; `problem` says who must act.
        case tokenRefused(ConnectionFailure.TokenProblem)
        /// Signed in, then the server refused this reply (`MAIL`, `RCPT` or `DATA`): usually about the reply, not
        /// the connection (see ``Diagnosis/concernsConnection(_:)``).
        case messageRefused
    }

    public var kind: Kind
    /// The SMTP reply code, e.g. 535.
    public var replyCode: Int?
    /// The enhanced status code, e.g. `5.7.8`.
    public var enhancedStatus: String?
    /// The server's own text (never contains our secrets: commands are named, never quoted).
    public var serverText: String?
    /// Which step failed, e.g. "connect", "STARTTLS", "AUTH", "token refresh", "RCPT".
    public var step: String?

    public init(kind: Kind, replyCode: Int? = nil, enhancedStatus: String? = nil, serverText: String? = nil, step: String? = nil) {
        self.kind = kind
        self.replyCode = replyCode
        self.enhancedStatus = enhancedStatus
        self.serverText = serverText
        self.step = step
    }

    /// Restates a failure of the credential side (the token keeper, the stored password) for the outgoing direction.
    public init(_ failure: ConnectionFailure) {
        let kind: Kind = switch failure.kind {
        case .tokenRefused(let problem): .tokenRefused(problem)
        case .credentialUnreadable: .credentialUnreadable
        case .network, .serverUnavailable: .network
        case .timeout: .timeout
        case .tls(let problem): .tls(problem)
        case .authenticationRejected: .authenticationRejected
        case .freshTokenRejected: .freshTokenRejected
        case .loginNotAllowed: .authenticationNotOffered
        case .folderUnavailable, .commandFailed: .commandFailed
        case .protocolError: .protocolError
        }
        self.init(kind: kind, serverText: failure.serverText, step: failure.step)
    }

    /// What the admin sees as detail: step, reply code, enhanced status code and the server's words.
    public var detail: String {
        let what: String? = switch kind {
        case .network where replyCode == nil: "network error"
        case .timeout: "timeout"
        case .tls where replyCode == nil: "TLS error"
        case .protocolError where replyCode == nil: "protocol error"
        case .credentialUnreadable: "stored credential unreadable"
        case .freshTokenRejected: "with a fresh token"
        default: nil
        }
        let head = [step, replyCode.map(String.init), enhancedStatus, what].compactMap { $0 }.joined(separator: " ")
        guard let serverText, !serverText.isEmpty else { return head }
        return head.isEmpty ? serverText : "\(head): \(serverText)"
    }
}

extension Diagnosis {
    /// Judges a failure of the outgoing (SMTP) connection of a mailbox at `server`, in the same states and words as
    /// ``incoming(_:server:provider:)`` (PRODUCT.md «Connection health», protocols.md §3.5 and §6).
    ///
    /// A refusal of one reply (``OutgoingFailure/Kind/messageRefused``) that says nothing about the connection is
    /// judged `connected`; callers check ``concernsConnection(_:)`` and record a success instead.
    public static func outgoing(_ failure: OutgoingFailure, server: OutgoingServer, provider: MailProvider = .other) -> Verdict {
        let detail = failure.detail
        let endpoint = "\(server.host):\(server.port)"
        let account = server.username
        if failure.kind == .messageRefused {
            return refusedMessage(failure, server: server, provider: provider, detail: detail)
        }
        // RFC 5321 §4.2.1: 4yz is temporary, whatever the command; RFC 4954 §6 on 454 4.7.0: "The client SHOULD NOT
        // prompt the user for another password in this case". A 421 closes the connection: temporary too.
        if let code = failure.replyCode, code / 100 == 4 {
            return outgoingTransient(detail: detail, endpoint: endpoint)
        }
        switch failure.kind {
        case .network, .timeout:
            return outgoingTransient(detail: detail, endpoint: endpoint)
        case .tls(let problem):
            return tlsVerdict(problem, server: "the outgoing mail server ", host: server.host, endpoint: endpoint, detail: detail, fallbackFix: smtpPortHint(server))
        case .encryptionRequired:
            return encryptionRequired(server, detail: detail)
        case .authenticationNotOffered:
            let how = server.authentication == .oauth2 ? "with OAuth (XOAUTH2 or OAUTHBEARER)" : "with a password"
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The outgoing mail server at \(endpoint) does not offer sign-in (SMTP AUTH) \(how) on this connection.",
                fix: provider == .microsoft
                    ? "Use smtp.office365.com, port 587, STARTTLS, and enable «Authenticated SMTP» for the mailbox: \(microsoftSMTPAuthPath)."
                    : "Use your provider's submission server with STARTTLS on port 587 or SSL/TLS on port 465 (most servers offer sign-in only there), or ask your mail provider to enable SMTP AUTH for «\(account)».",
                detail: detail)
        case .authenticationRejected, .freshTokenRejected:
            return rejectedSignIn(failure, server: server, provider: provider, detail: detail)
        case .commandFailed where failure.replyCode == 554 && failure.step?.lowercased() == "greeting":
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The outgoing mail server at \(endpoint) refuses service to Mailroom.",
                fix: "Check the server name and port, and ask your mail provider whether it blocks connections from Mailroom's address.",
                detail: detail)
        case .commandFailed, .protocolError:
            return Verdict(
                state: .temporarilyFailing,
                cause: "The outgoing mail server at \(endpoint) answered unexpectedly.",
                fix: "Mailroom retries automatically. If this lasts, check the server settings.",
                detail: detail)
        case .credentialUnreadable:
            return server.authentication == .oauth2
                ? Verdict(
                    state: .reauthorizationRequired,
                    cause: "Mailroom cannot read the sign-in stored for «\(account)»: it was saved under another secret key.",
                    fix: "Click «\(provider.signInLabel)» and sign in again, or start Mailroom with the secret key it was saved with (MAILROOM_SECRET_KEY or the key file).",
                    detail: detail)
                : Verdict(
                    state: .reauthorizationRequired,
                    cause: "Mailroom cannot read the password stored for «\(account)»: it was saved under another secret key, or none is stored.",
                    fix: "Enter the password again and save, or start Mailroom with the secret key it was saved with (MAILROOM_SECRET_KEY or the key file).",
                    detail: detail)
        case .tokenRefused(.reauthorization):
            // Case 3 of the article, in the same words as for fetching.
            var verdict = expiredSignIn(provider: provider, account: account, detail: detail)
            verdict.fix = "Click «\(provider.signInLabel)» and sign in as «\(account)». Replies waiting in the outbox are sent then."
            return verdict
        case .tokenRefused:
            // Who must act on a refused renewal does not depend on the direction: same judgement as for fetching.
            let incomingServer = IncomingServer(
                host: server.host, port: server.port, security: server.security, username: account, authentication: server.authentication)
            var verdict = incoming(ConnectionFailure(kind: failureKind(failure.kind), serverText: failure.serverText, step: failure.step), server: incomingServer, provider: provider)
            verdict.detail = detail
            return verdict
        case .messageRefused:
            return refusedMessage(failure, server: server, provider: provider, detail: detail)
        }
    }

    /// Whether the failure says something about the mailbox's outgoing connection. A refusal of one reply or one
    /// recipient (5yz to MAIL, RCPT or DATA) does not — the sign-in worked — unless it says the account may not send
    /// as the mailbox at all (Send As missing).
    public static func concernsConnection(_ failure: OutgoingFailure) -> Bool {
        guard failure.kind == .messageRefused else { return true }
        return isSendAsDenied(failure)
    }

    // MARK: - Private

    /// A refusal after MAIL, RCPT or DATA: about the reply, unless the account may not send as the mailbox at all.
    private static func refusedMessage(_ failure: OutgoingFailure, server: OutgoingServer, provider: MailProvider, detail: String) -> Verdict {
        guard isSendAsDenied(failure) else {
            return Verdict(
                state: .connected,
                cause: "The outgoing mail server refused this reply; the connection itself works.",
                fix: "See the reason on the reply in its ticket.",
                detail: detail)
        }
        return Verdict(
            state: .actionNeededAtProvider,
            cause: "The outgoing mail server accepted the sign-in but does not let it send as «\(server.username)».",
            fix: provider == .microsoft
                ? "In the Microsoft 365 admin center, give the signed-in account «Send as» permission on the mailbox (Teams & groups › Shared mailboxes, or Users › Active users › Mail › Mailbox permissions)."
                : "Ask your mail provider's administrator to let the signed-in account send as «\(server.username)».",
            detail: detail)
    }

    /// 5yz to AUTH: which credential problem it is, by code (protocols.md §3.5, §6).
    private static func rejectedSignIn(_ failure: OutgoingFailure, server: OutgoingServer, provider: MailProvider, detail: String) -> Verdict {
        let account = server.username
        let code = failure.replyCode
        let status = failure.enhancedStatus
        if status == "5.7.139" {
            // Microsoft: «SmtpClientAuthentication is disabled for the Tenant/Mailbox»; no credential will help.
            return smtpAuthDisabled(server, provider: provider, detail: detail, freshToken: false)
        }
        if status == "5.7.30" {
            // Microsoft: «Basic authentication is not supported for Client Submission».
            return Verdict(
                state: .migrationRequired,
                cause: "Microsoft no longer accepts a username and password (Basic Auth) for sending from «\(account)», so this mailbox must move to OAuth.",
                fix: "Click «Sign in with Microsoft» and sign in as «\(account)». Replies waiting in the outbox are sent then.",
                detail: detail)
        }
        if code == 534 || status == "5.7.9" {
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The outgoing mail server requires a stronger sign-in than this password for «\(account)».",
                fix: provider == .google
                    ? "Create an app password for the account (Google Account › Security › 2-Step Verification › App passwords) and enter it here, or use «Sign in with Google»."
                    : "Use an app password if your provider offers one, or sign in with OAuth.",
                detail: detail)
        }
        if code == 538 || code == 523 || status == "5.7.11" || status == "5.7.10" {
            return encryptionRequired(server, detail: detail)
        }
        if code == 525 || status == "5.7.13" {
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The outgoing mail server says the account «\(account)» is disabled.",
                fix: "Ask your mail provider's administrator to enable the account.",
                detail: detail)
        }
        if server.authentication == .oauth2 {
            // A refused token is renewed once before anything is judged; a reauthorization prompt comes only from the
            // identity provider refusing that renewal (tokenRefused). A token the provider just issued that the server
            // still refuses means the server does not let this account send: SMTP AUTH disabled, or no permission.
            return smtpAuthDisabled(server, provider: provider, detail: detail, freshToken: true)
        }
        return Verdict(
            state: .reauthorizationRequired,
            cause: "The outgoing mail server rejected the username or password for «\(account)».",
            fix: "Check the username, enter the password again and save. If the password was changed on the mail server, use the new one.",
            detail: detail)
    }

    private static let microsoftSMTPAuthPath =
        "Microsoft 365 admin center › Users › Active users › the mailbox › Mail › Manage email apps › Authenticated SMTP, or Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false"

    private static func smtpAuthDisabled(_ server: OutgoingServer, provider: MailProvider, detail: String, freshToken: Bool) -> Verdict {
        let account = server.username
        let cause = freshToken
            ? "The outgoing mail server refused a token \(provider.identityProviderName) issued moments ago, so the sign-in itself is fine: «Authenticated SMTP» (SMTP AUTH) is probably disabled for «\(account)», or the signed-in account may not send from this mailbox."
            : "The outgoing mail server does not allow sign-in for sending (SMTP AUTH) for «\(account)»: «Authenticated SMTP» is disabled for the mailbox or the organization."
        let fix = provider == .microsoft
            ? "Enable «Authenticated SMTP» for the mailbox: \(microsoftSMTPAuthPath). If it is turned off for the whole organization, also run Set-TransportConfig -SmtpClientAuthenticationDisabled $false. For a shared mailbox, give the signed-in account «Send as» permission. Signing in again will not help."
            : "Ask your mail provider's administrator to allow SMTP sign-in («Authenticated SMTP», SMTP AUTH) for «\(account)», and for a shared mailbox to let the signed-in account send as it. Signing in again will not help."
        return Verdict(state: .actionNeededAtProvider, cause: cause, fix: fix, detail: detail)
    }

    private static func encryptionRequired(_ server: OutgoingServer, detail: String) -> Verdict {
        Verdict(
            state: .actionNeededAtProvider,
            cause: "The outgoing mail server at \(server.host):\(server.port) accepts sign-in only over an encrypted connection.",
            fix: "Choose STARTTLS with port 587, or SSL/TLS with port 465.",
            detail: detail)
    }

    /// Which security belongs to which submission port (RFC 8314: 465 implicit TLS, RFC 6409: 587 STARTTLS).
    private static func smtpPortHint(_ server: OutgoingServer) -> String {
        switch (server.security, server.port) {
        case (.tls, 587):
            "Port 587 uses STARTTLS: choose STARTTLS for port 587, or SSL/TLS with port 465."
        case (.starttls, 465):
            "Port 465 uses SSL/TLS from the first byte: choose SSL/TLS for port 465, or STARTTLS with port 587."
        default:
            "Check the server name and port (587 for STARTTLS, 465 for SSL/TLS) and that the server has a valid certificate for this name."
        }
    }

    private static func outgoingTransient(detail: String, endpoint: String) -> Verdict {
        Verdict(
            state: .temporarilyFailing,
            cause: "The outgoing mail server at \(endpoint) could not be reached or is temporarily unavailable.",
            fix: "Nothing to do yet: Mailroom retries automatically; replies wait in the outbox and are sent then.",
            detail: detail)
    }

    /// Microsoft `554 5.2.252 SendAsDenied`, `550 5.7.60` «Client does not have permissions to send as this sender».
    private static func isSendAsDenied(_ failure: OutgoingFailure) -> Bool {
        failure.enhancedStatus == "5.2.252" || failure.enhancedStatus == "5.7.60"
    }

    private static func failureKind(_ kind: OutgoingFailure.Kind) -> ConnectionFailure.Kind {
        if case .tokenRefused(let problem) = kind { return .tokenRefused(problem) }
        return .protocolError
    }
}
