import Foundation
import Hummingbird

/// RFC 7662 token introspection for Dovecot's oauth2 passdb (`introspection_mode = post`).
///
/// Dovecot 2.3.19 posts `token=<access token>` with HTTP Basic credentials taken from
/// `introspection_url`, and (with `send_auth_headers = yes`) an `X-Dovecot-Auth-Service` header naming
/// the service (`imap`, `smtp` when Postfix asks, `submission`). It needs `active_attribute = active`,
/// `active_value = true`, and `username_attribute = username` (or `shared_mailbox` for delegates).
/// Validity is decided by lookup in the emulator's store; Dovecot never validates JWTs itself.
struct IntrospectionRoute: Sendable {
    let emulator: IdentityEmulator

    func register(on router: Router<BasicRequestContext>) {
        router.post("/introspect") { request, _ in
            var request = request
            if await emulator.isIntrospectionDown() {
                // 5xx → Dovecot reports an internal failure: IMAP [UNAVAILABLE], SMTP 454 4.7.0.
                return HTTPSupport.json(
                    .object([("error", .string("temporarily_unavailable"))]), status: .serviceUnavailable)
            }
            let form = await HTTPSupport.form(&request)
            let basic = FormCoding.basicCredentials(request.headers[.authorization])
            let credentials = emulator.introspectionCredentials
            guard let basic, basic.id == credentials.clientID, basic.secret == credentials.secret else {
                return HTTPSupport.json(
                    .object([("error", .string("invalid_client"))]), status: .unauthorized,
                    headers: [.wwwAuthenticate: "Basic realm=\"introspection\""])
            }
            guard let token = form["token"], !token.isEmpty else {
                return HTTPSupport.json(.object([("error", .string("invalid_request"))]), status: .badRequest)
            }
            let service = HTTPSupport.header(request, "X-Dovecot-Auth-Service")
            return HTTPSupport.json(await emulator.introspect(token: token, service: service))
        }
    }
}

extension IdentityEmulator {
    func isIntrospectionDown() -> Bool { introspectionDown }

    /// The RFC 7662 answer for `token` as seen by Dovecot service `service`.
    ///
    /// Inactive answers are exactly `{"active":false}` (RFC 7662 §2.2 says to reveal nothing more).
    func introspect(token: String, service: String?) -> JSONValue {
        let inactive = JSONValue.object([("active", .bool(false))])
        guard let grant = store.accessTokens[token], grant.expiresAt > now(), let account = accountsByAddress[grant.account] else {
            logger.info("introspection", metadata: ["active": "false", "reason": "unknown or expired token"])
            return inactive
        }
        let mailProtocol: MailProtocol? =
            switch service?.lowercased() {
            case "imap": .imap
            case "smtp", "submission": .smtp
            default: nil
            }
        if let mailProtocol,
            !isProtocolEnabled(account.normalizedAddress, mailProtocol) || !isProtocolEnabled(account.effectiveMailbox, mailProtocol)
        {
            logger.info(
                "introspection",
                metadata: ["active": "false", "reason": "\(mailProtocol.rawValue) disabled", "account": "\(account.normalizedAddress)"])
            return inactive
        }
        logger.info("introspection", metadata: ["active": "true", "account": "\(account.normalizedAddress)", "service": "\(service ?? "-")"])
        return .object([
            ("active", .bool(true)),
            ("username", .string(account.normalizedAddress)),
            ("shared_mailbox", .string(account.effectiveMailbox)),
            ("scope", .string(grant.scopes.joined(separator: " "))),
            ("client_id", .string(grant.clientID)),
            ("exp", .int(Int(grant.expiresAt.timeIntervalSince1970))),
            ("token_type", .string("Bearer")),
            ("sub", .string(grant.subject)),
        ])
    }
}
