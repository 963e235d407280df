import Foundation
import SASL

extension SMTPClient {
    /// The longest command line RFC 5321 §4.5.3.1.4 promises every server accepts, CRLF included.
    /// The initial response rides on the `AUTH` line only if the whole line fits (RFC 4954 §4).
    public static let maxCommandLineLength = 512

    /// Authenticates with a user name and password: `PLAIN` when advertised, else `LOGIN`.
    ///
    /// - Throws: ``SMTPError`` `.authenticationFailed` with the server's reply (`535 5.7.8`,
    ///   `454 4.7.0`, `534 5.7.9`, …); `.unsupported` when the server offers neither mechanism;
    ///   `.encryptionRequired` on an unencrypted connection unless the security is `.none`.
    public func login(username: String, password: String) async throws(SMTPError) {
        let offered = self.extensions.authMechanisms
        if offered.contains("PLAIN") {
            try await self.authenticate(mechanism: SASLPlain(authenticationIdentity: username, password: password))
        } else if offered.contains("LOGIN") {
            try await self.authenticate(mechanism: SASLLogin(username: username, password: password))
        } else {
            throw SMTPError(.unsupported, command: "AUTH", detail: Self.offerDescription(offered, wanted: "PLAIN or LOGIN"))
        }
    }

    /// Runs one SASL exchange (`AUTH <mechanism>`, RFC 4954).
    ///
    /// The initial response goes on the `AUTH` line only when that line fits in 512 octets;
    /// otherwise (long OAuth tokens) the client sends `AUTH <mechanism>` alone, waits for the empty
    /// `334` challenge and sends the response on its own line. Every `334` challenge is answered by
    /// the mechanism — including XOAUTH2's JSON error challenge, so the server can finish with its
    /// real verdict (`535`/`454`); a mechanism that throws cancels the exchange with `*`.
    ///
    /// - Throws: ``SMTPError`` `.authenticationFailed` carrying the reply and the mechanism's
    ///   ``SASL/SASLMechanism/failureDetail``; `.unsupported` when the server does not offer the
    ///   mechanism (nothing is sent); `.encryptionRequired` when the connection is not encrypted and
    ///   the security is not explicitly `.none`.
    public func authenticate(mechanism: some SASLMechanism) async throws(SMTPError) {
        var mechanism = mechanism
        try await self.exclusive("AUTH") { () async throws(SMTPError) in
            let name = mechanism.name.uppercased()
            guard self.isEncrypted || self.server.security == .none else {
                throw SMTPError(.encryptionRequired, command: "AUTH", detail: "refusing to authenticate over an unencrypted connection")
            }
            guard !self.isAuthenticated else {
                throw SMTPError(.unsupported, command: "AUTH", detail: "already authenticated")
            }
            let offered = self.extensions.authMechanisms
            guard offered.contains(name) else {
                throw SMTPError(.unsupported, command: "AUTH", detail: Self.offerDescription(offered, wanted: name))
            }
            guard Self.isSafeArgument(name) else {
                throw SMTPError(.unsupported, command: "AUTH", detail: "invalid mechanism name")
            }

            var line = "AUTH \(name)"
            var pending: [UInt8]?
            if let initial = mechanism.initialResponse() {
                // RFC 4954 §4: a zero-length initial response is sent as "=".
                let encoded = initial.isEmpty ? "=" : Data(initial).base64EncodedString()
                if line.utf8.count + 1 + encoded.utf8.count + 2 <= Self.maxCommandLineLength {
                    line += " " + encoded
                } else {
                    pending = initial
                }
            }
            let timeout = self.server.timeouts.command
            var reply = try await self.command(
                "AUTH", line: line, logLine: line.count > 5 + name.count ? "AUTH \(name) <redacted>" : line, timeout: timeout)
            var cancelled: (any Error)?
            var badChallenge = false

            while reply.code == 334 {
                let response: String
                if let initial = pending {
                    pending = nil
                    // The answer to the empty challenge after an initial response too long for the AUTH line.
                    response = Data(initial).base64EncodedString()
                } else if cancelled != nil || badChallenge {
                    // We already cancelled; a server that challenges again is not following RFC 4954.
                    throw SMTPError(.protocolViolation, reply: reply, command: "AUTH", detail: "challenge after cancellation")
                } else if let challenge = Data(base64Encoded: reply.lines.joined()) {
                    do {
                        response = Data(try mechanism.respond(to: [UInt8](challenge))).base64EncodedString()
                    } catch {
                        cancelled = error
                        response = "*"
                    }
                } else {
                    badChallenge = true
                    response = "*"
                }
                self.logger.debug(response == "*" ? "C: *" : "C: <SASL response redacted>")
                try await self.writeLine(response, command: "AUTH", timeout: timeout)
                reply = try await self.connection.nextReply()
                self.logger.debug("S: \(reply)")
            }

            if reply.isPositiveCompletion {
                self.markAuthenticated()
                return
            }
            var error = SMTPError(Self.authFailureKind(reply), reply: reply, command: "AUTH", saslDetail: mechanism.failureDetail)
            if let cancelled {
                error.kind = .authenticationFailed
                error.detail = "exchange cancelled: \(cancelled)"
            } else if badChallenge {
                error.kind = .protocolViolation
                error.detail = "server challenge was not base64; exchange cancelled"
            }
            throw error
        }
    }

    /// How a negative reply to AUTH is classified.
    static func authFailureKind(_ reply: SMTPReply) -> SMTPError.Kind {
        switch reply.code {
        case 421: .connectionClosed
        case 504: .unsupported
        case 500, 501, 502, 503: .commandFailed
        default: .authenticationFailed
        }
    }

    static func offerDescription(_ offered: Set<String>, wanted: String) -> String {
        offered.isEmpty
            ? "server offers no AUTH mechanisms here (wanted \(wanted))"
            : "server offers AUTH \(offered.sorted().joined(separator: " ")), not \(wanted)"
    }
}
