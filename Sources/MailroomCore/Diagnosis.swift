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
    public static func incoming(_ failure: ConnectionFailure, server: IncomingServer) -> Verdict {
        let head = [failure.step, codeOf(failure.kind)].compactMap { $0 }.joined(separator: " ")
        let detail = failure.serverText.map { $0.isEmpty ? head : "\(head): \($0)" } ?? head
        let endpoint = "\(server.host):\(server.port)"
        switch failure.kind {
        // RFC 5530 UNAVAILABLE: a subsystem is down, whichever command met it. Never a reason to sign in again.
        case .authenticationRejected("UNAVAILABLE"), .folderUnavailable("UNAVAILABLE"), .commandFailed("UNAVAILABLE"):
            return transient(detail: detail, endpoint: endpoint)
        case .authenticationRejected(let code) where code == "CONTACTADMIN" || code == "AUTHORIZATIONFAILED":
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "The mail server accepted the sign-in but does not let «\(server.username)» open this mailbox.",
                fix: "Ask your mail provider's administrator to give this account access to the mailbox (or enable IMAP for it).",
                detail: detail)
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
        case .tls:
            return Verdict(
                state: .actionNeededAtProvider,
                cause: "A secure connection to \(endpoint) could not be established: the server's certificate could not be verified or TLS failed.",
                fix: "Check the server name and port (993 for SSL/TLS, 143 for STARTTLS) and that the server has a valid certificate for this name.",
                detail: detail)
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
        case .commandFailed, .protocolError:
            return Verdict(
                state: .temporarilyFailing,
                cause: "The mail server at \(endpoint) answered unexpectedly.",
                fix: "Mailroom retries automatically. If this lasts, check the server settings.",
                detail: detail)
        }
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
        }
    }
}
