import Foundation
import Hummingbird

/// The HTTP control API, for tests and demos driving a separately running emulator.
///
/// `POST /emulator/control/<action>` with a JSON object body (or a form body, as the `/emulator` page
/// sends; those get a 303 back to the page). Answers `{"ok":true}`; unknown account/client → 404,
/// bad arguments → 400. `GET /emulator/state` returns accounts, active faults and the audit list.
///
/// | action                   | body                                             | effect                                  |
/// |--------------------------|--------------------------------------------------|-----------------------------------------|
/// | `changePassword`         | `account`                                        | tokens die; refresh → AADSTS50173       |
/// | `revokeTokens`           | `account`                                        | tokens die; refresh → AADSTS50173       |
/// | `expireByInactivity`     | `account`                                        | refresh → AADSTS700082                  |
/// | `revokeConsent`          | `account`                                        | refresh → AADSTS65001 consent_required  |
/// | `requireMFA`             | `account`                                        | refresh → interaction_required 50076    |
/// | `expireClientSecret`     | `clientID`                                       | token → 401 invalid_client 7000222      |
/// | `renewClientSecret`      | `clientID`                                       | undoes the above                        |
/// | `tokenEndpointOutage`    | `mode` (`unavailable`/`throttled`/`none`), `retryAfter` | 503 / 429 + Retry-After / normal |
/// | `introspectionOutage`    | `on` (bool)                                      | `/introspect` → 503                     |
/// | `setProtocolEnabled`     | `mailbox`, `protocol` (`imap`/`smtp`), `enabled` | introspection inactive for that service |
/// | `setAccessTokenLifetime` | `seconds`                                        | `expires_in` of new access tokens       |
/// | `advanceClock`           | `seconds`                                        | emulator time jumps forward             |
/// | `resetClock`             | –                                                | emulator time is real time again        |
/// | `clearFaults`            | –                                                | all faults off, clock on real time      |
/// | `changeMailPassword`     | `mailbox`                                        | the attached mail server's password only |
/// | `addAccount`             | `address`, `displayName`, `kind` (`work`/`personal`/`google`), `tenantID`, `tenantDomain`, `delegatedMailbox` | new account |
/// | `addClient`              | `id`, `secret`, `redirectURIs` (array or space separated), `provider` (`microsoft`/`google`) | new client |
struct ControlRoutes: Sendable {
    let emulator: IdentityEmulator

    func register(on router: Router<BasicRequestContext>) {
        router.post("/emulator/control/:action") { request, context in
            var request = request
            let action = context.parameters.get("action") ?? ""
            let isForm = request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false
            let arguments: [String: String]
            if isForm {
                arguments = await HTTPSupport.form(&request)
            } else if let object = await HTTPSupport.jsonObject(&request) {
                arguments = object
            } else {
                return HTTPSupport.json(
                    .object([("error", .string("invalid_argument")), ("message", .string("body must be a JSON object"))]),
                    status: .badRequest)
            }
            do throws(EmulatorControlError) {
                try await emulator.applyControl(action, arguments)
                try await emulator.tellMailServer(action, arguments)
            } catch {
                let status: HTTPResponse.Status
                let code: String
                switch error {
                case .unknownAccount: (status, code) = (.notFound, "unknown_account")
                case .unknownClient: (status, code) = (.notFound, "unknown_client")
                case .invalidArgument: (status, code) = (.badRequest, "invalid_argument")
                case .mailServer: (status, code) = (.badGateway, "mail_server_failed")
                }
                return HTTPSupport.json(.object([("error", .string(code)), ("message", .string(error.description))]), status: status)
            }
            if isForm { return HTTPSupport.redirect("/emulator", status: .seeOther) }
            return HTTPSupport.json(.object([("ok", .bool(true))]))
        }

        router.get("/emulator/state") { _, _ in
            HTTPSupport.json(await emulator.stateDocument())
        }

        router.get("/emulator") { _, _ in
            HTTPSupport.html(Pages.dashboard(await emulator.dashboardSnapshot()))
        }
    }
}

extension IdentityEmulator {
    /// Applies one control-API action (see ``ControlRoutes``).
    func applyControl(_ action: String, _ arguments: [String: String]) throws(EmulatorControlError) {
        func argument(_ name: String) throws(EmulatorControlError) -> String {
            guard let value = arguments[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                throw .invalidArgument("missing '\(name)'")
            }
            return value
        }
        func bool(_ name: String) throws(EmulatorControlError) -> Bool {
            switch try argument(name).lowercased() {
            case "true", "on", "1", "yes": return true
            case "false", "off", "0", "no": return false
            default: throw .invalidArgument("'\(name)' must be true or false")
            }
        }
        func int(_ name: String) throws(EmulatorControlError) -> Int {
            guard let value = Int(try argument(name)), value >= 0 else { throw .invalidArgument("'\(name)' must be a number") }
            return value
        }
        switch action {
        case "changePassword": try changePassword(account: argument("account"))
        case "revokeTokens": try revokeTokens(account: argument("account"))
        case "expireByInactivity": try expireByInactivity(account: argument("account"))
        case "revokeConsent": try revokeConsent(account: argument("account"))
        case "requireMFA": try requireMFA(account: argument("account"))
        case "expireClientSecret": try expireClientSecret(clientID: argument("clientID"))
        case "renewClientSecret": try renewClientSecret(clientID: argument("clientID"))
        case "tokenEndpointOutage":
            switch arguments["mode"]?.lowercased() ?? "none" {
            case "unavailable": tokenEndpointOutage(.unavailable)
            case "throttled": tokenEndpointOutage(.throttled(retryAfter: arguments["retryAfter"] == nil ? 30 : try int("retryAfter")))
            case "none", "off", "": tokenEndpointOutage(nil)
            default: throw .invalidArgument("'mode' must be unavailable, throttled or none")
            }
        case "introspectionOutage": introspectionOutage(try bool("on"))
        case "setProtocolEnabled":
            guard let mailProtocol = MailProtocol(rawValue: try argument("protocol").lowercased()) else {
                throw .invalidArgument("'protocol' must be imap or smtp")
            }
            setProtocolEnabled(try argument("mailbox"), mailProtocol, try bool("enabled"))
        case "setAccessTokenLifetime": setAccessTokenLifetime(try int("seconds"))
        case "advanceClock": advanceClock(by: TimeInterval(try int("seconds")))
        case "resetClock": resetClock()
        case "clearFaults": clearFaults()
        case "changeMailPassword":
            guard mailServer != nil else { throw .invalidArgument("no mail server is attached to this emulator") }
            _ = try argument("mailbox")
        case "addAccount":
            let address = try argument("address")
            let name = arguments["displayName"] ?? address
            let delegated = arguments["delegatedMailbox"].flatMap { $0.isEmpty ? nil : $0 }
            switch arguments["kind"]?.lowercased() ?? "work" {
            case "work":
                addAccount(
                    .microsoftWork(
                        address, displayName: name, tenantID: try argument("tenantID"), tenantDomain: try argument("tenantDomain"),
                        delegatedMailbox: delegated))
            case "personal": addAccount(.microsoftPersonal(address, displayName: name))
            case "google": addAccount(.google(address, displayName: name))
            default: throw .invalidArgument("'kind' must be work, personal or google")
            }
        case "addClient":
            guard let provider = EmulatorProviderKind(rawValue: try argument("provider").lowercased()) else {
                throw .invalidArgument("'provider' must be microsoft or google")
            }
            let redirects = try argument("redirectURIs").split(separator: " ").map(String.init)
            addClient(EmulatorClient(id: try argument("id"), secret: try argument("secret"), redirectURIs: redirects, provider: provider))
        default:
            throw .invalidArgument("unknown action '\(action)'")
        }
    }

    /// Passes a password change on to the attached mail server, as one password opens both at a real provider.
    func tellMailServer(_ action: String, _ arguments: [String: String]) async throws(EmulatorControlError) {
        guard let mailServer else { return }
        let mailbox: String?
        switch action {
        case "changePassword": mailbox = arguments["account"]
        case "changeMailPassword": mailbox = arguments["mailbox"]
        default: mailbox = nil
        }
        guard let mailbox = mailbox?.trimmingCharacters(in: .whitespaces), !mailbox.isEmpty else { return }
        do {
            try await mailServer.changePassword(mailbox: mailbox)
        } catch {
            throw .mailServer("the mail server could not change the password of \(mailbox): \(error)")
        }
    }

    /// `GET /emulator/state`: accounts, clients (without secrets), faults and the audit list.
    func stateDocument() -> JSONValue {
        .object([
            ("accounts", .array(accounts().map { account in
                jsonObject([
                    ("address", .string(account.address)),
                    ("displayName", .string(account.displayName)),
                    ("provider", .string(account.providerKind.rawValue)),
                    ("kind", .string(Self.kindLabel(account))),
                    ("delegatedMailbox", account.delegatedMailbox.map { .string($0) }),
                    ("liveRefreshTokens", .int(liveRefreshTokenCount(account: account.address))),
                ])
            })),
            ("clients", .array(clients().map { client in
                .object([
                    ("id", .string(client.id)),
                    ("provider", .string(client.provider.rawValue)),
                    ("redirectURIs", .array(client.redirectURIs.map { .string($0) })),
                ])
            })),
            ("faults", .array(activeFaults().map { .string(Self.describe($0)) })),
            ("accessTokenLifetime", .int(accessTokenLifetimeSeconds)),
            // Seconds the emulator's clock runs ahead of real time (advanceClock); 0 once reset.
            ("clockOffset", .int(Int(clockOffset))),
            ("tokenRequests", .array(audit.map { record in
                jsonObject([
                    ("date", .string(ErrorBodies.microsoftTimestamp(record.date))),
                    ("provider", .string(record.provider.rawValue)),
                    ("grantType", .string(record.grantType)),
                    ("clientID", record.clientID.map { .string($0) }),
                    ("account", record.account.map { .string($0) }),
                    ("outcome", .string(record.outcome)),
                    ("errorCode", record.errorCode.map { .int($0) }),
                    ("refreshTokenFingerprint", record.refreshTokenFingerprint.map { .string($0) }),
                ])
            })),
        ])
    }

    static func kindLabel(_ account: EmulatorAccount) -> String {
        switch account.provider {
        case .google: return "google"
        case .microsoft(_, let domain, .work): return "work (\(domain))"
        case .microsoft(_, _, .personal): return "personal"
        }
    }

    static func describe(_ fault: EmulatorFault) -> String {
        switch fault {
        case .passwordChanged(let account): return "passwordChanged \(account)"
        case .refreshTokenInactive(let account): return "refreshTokenInactive \(account)"
        case .consentRevoked(let account): return "consentRevoked \(account)"
        case .mfaRequired(let account): return "mfaRequired \(account)"
        case .tokensRevoked(let account): return "tokensRevoked \(account)"
        case .clientSecretExpired(let clientID): return "clientSecretExpired \(clientID)"
        case .tokenEndpointOutage(.unavailable): return "tokenEndpointOutage unavailable"
        case .tokenEndpointOutage(.throttled(let seconds)): return "tokenEndpointOutage throttled retryAfter=\(seconds)"
        case .introspectionOutage: return "introspectionOutage"
        case .networkOutage(let outage): return "networkOutage \(outage.rawValue)"
        case .protocolDisabled(let mailbox, let mailProtocol): return "protocolDisabled \(mailbox) \(mailProtocol.rawValue)"
        }
    }
}
