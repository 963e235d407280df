import IMAP
import MailTransport
import MailroomCore

extension ConnectionFailure {
    /// Restates an IMAP client error in the terms Diagnosis judges. It only translates; what a code means
    /// (e.g. `[UNAVAILABLE]` is transient) is decided in Diagnosis.
    init(_ error: IMAPError) {
        let code = error.code.map(ServerResponseCode.init)
        let kind: ConnectionFailure.Kind = switch error.kind {
        case .connectionFailed, .connectionClosed: .network
        case .timeout: .timeout
        case .tlsFailed: .tls(TLSProblem(error.tlsFault))
        case .authenticationFailed: .authenticationRejected(code: code)
        case .loginDisabled: .loginNotAllowed(code: code ?? .loginDisabled)
        case .commandFailed where error.command == "SELECT" || error.command == "EXAMINE": .folderUnavailable(code: code)
        case .commandFailed, .commandRejected, .unsupported: .commandFailed(code: code)
        case .protocolViolation, .literalTooLarge, .lineTooLong: .protocolError
        }
        let text = [error.serverText, error.detail].compactMap { $0 }.joined(separator: " — ")
        self.init(kind: kind, serverText: text.isEmpty ? nil : text, step: error.command ?? "connect")
    }
}

extension ServerResponseCode {
    /// Restates an IMAP response code; codes Diagnosis has no rule for keep their name.
    init(_ code: ResponseCode) {
        self = switch code {
        case .unavailable: .unavailable
        case .authenticationFailed: .authenticationFailed
        case .authorizationFailed: .authorizationFailed
        case .expired: .expired
        case .privacyRequired: .privacyRequired
        case .contactAdmin: .contactAdmin
        case .noPerm: .noPerm
        case .inUse: .inUse
        case .limit: .limit
        case .overQuota: .overQuota
        case .nonExistent: .nonExistent
        case .serverBug: .serverBug
        case .cannot: .cannot
        default: .other("\(code)".uppercased())
        }
    }
}

extension TLSProblem {
    /// The transport's reading of a TLS error; a failure without one (a refused STARTTLS) counts as `other`.
    init(_ fault: TransportFailure.TLSFault?) {
        self = switch fault {
        case .untrustedCertificate: .untrustedCertificate
        case .wrongName: .wrongName
        case .noCommonProtocol: .noCommonProtocol
        case .other, nil: .other
        }
    }
}
