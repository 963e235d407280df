import Foundation
import Logging
import MailroomCore
import SASL
import SMTP

/// The operator's default outgoing server (`MAILROOM_SMTP_URL`): replies of «Incoming only» mailboxes leave here.
///
/// `smtp://user:password@host:587` uses STARTTLS (required), `smtps://…:465` TLS from the first byte, and
/// `smtp://host:25?security=none` plain text for a relay on a trusted network. The password never appears in
/// ``description``.
public struct SMTPRelay: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var security: SMTPSecurity
    public var username: String?
    public var password: String?

    public init(host: String, port: Int, security: SMTPSecurity, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
    }

    /// Reads an `smtp://` or `smtps://` URL; the error says what is wrong without repeating the password.
    public static func parse(_ text: String) throws(SMTPRelayError) -> SMTPRelay {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw SMTPRelayError("MAILROOM_SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465.")
        }
        let security: SMTPSecurity
        switch scheme {
        case "smtp":
            security = components.queryItems?.first { $0.name == "security" }?.value == "none" ? .none : .startTLS
        case "smtps":
            security = .implicitTLS
        default:
            throw SMTPRelayError("MAILROOM_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS); got «\(scheme)://».")
        }
        let port = components.port ?? (security == .implicitTLS ? 465 : 587)
        guard (1...65535).contains(port) else { throw SMTPRelayError("The port in MAILROOM_SMTP_URL must be between 1 and 65535.") }
        return SMTPRelay(
            host: host, port: port, security: security,
            username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding },
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding })
    }

    public var description: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let user = username.map { "\($0):<redacted>@" } ?? ""
        return "\(scheme)://\(user)\(host):\(port)\(security == .none ? "?security=none" : "")"
    }
}

/// A malformed `MAILROOM_SMTP_URL`.
public struct SMTPRelayError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension SMTPRelay {
    /// Sends one message through the relay and fails unless every recipient took it.
    func deliver(_ message: [UInt8], from sender: String, to recipients: [String], trusting caFile: String?, logger: Logger) async throws {
        let client = try await SMTPClient.connect(
            to: SMTPServer(host: host, port: port, security: security, trustedCertificatesPEMFile: caFile), logger: logger)
        do {
            if let username, let password { try await client.login(username: username, password: password) }
            let result = try await client.send(message, from: sender, to: recipients)
            await client.quit()
            if !result.rejected.isEmpty {
                throw SMTPRelayError("The relay refused \(result.rejected.map(\.address).joined(separator: ", ")).")
            }
        } catch {
            await client.close()
            throw error
        }
    }
}

extension SMTPServer {
    /// A mailbox's own outgoing server as the SMTP client dials it.
    init(_ server: OutgoingServer, trusting caFile: String?) {
        let security: SMTPSecurity = switch server.security {
        case .tls: .implicitTLS
        case .starttls: .startTLS
        case .none: .none
        }
        self.init(host: server.host, port: server.port, security: security, trustedCertificatesPEMFile: caFile)
    }
}

extension SMTPClient {
    /// The OAuth SASL mechanism for this server's EHLO (the choice itself is ``SASLOAuthChoice``'s).
    func oauthMechanism(user: String, token: String) async -> any SASLMechanism {
        SASLOAuthChoice.mechanism(offered: extensions.authMechanisms, user: user, accessToken: token)
    }
}
