import Engine
import Foundation
import Hummingbird
import MailroomCore
import OAuth

/// «Sign in with Microsoft», «Sign in with Google» or «Sign in with <generic provider>» for a new mailbox: start (remember the request, send the
/// browser to the provider) and callback (check state, exchange the code, verify the id_token, test the connection
/// with the new token, and only then store the mailbox with its grant).
struct SignInController: Sendable {
    let dependencies: WebDependencies
    let pages: PagesController
    /// Binds a sign-in to the browser that started it; only sent back to /oauth paths.
    static let cookie = "mailroom_signin"

    /// Under `/oauth`, in the admins' route group.
    func register(on group: RouterGroup<AppRequestContext>) {
        // Starting is a form POST (with the CSRF token): no other site can start a sign-in in an admin's browser.
        group.post("start", use: start)
        group.get("callback", use: callback)
    }

    /// The new mailbox's settings ride through the sign-in as the state's context.
    struct Setup: Codable {
        var provider: MailProvider
        var email: String
        var name: String
        var usage: MailboxUsage
        var deleteAfterFetch: Bool
        var imapHost: String?
        var imapPort: Int?
        var smtpHost: String?
        var smtpPort: Int?
        /// Set when the sign-in fixes an existing mailbox instead of adding one.
        var mailbox: Int64?
        var mode: ReconnectMode?
        var imapSecurity: TransportSecurity?
        var smtpSecurity: TransportSecurity?
        /// Which configured identity provider signs in (``ProviderKey``); nil in sign-ins started before there were several.
        var identityProvider: String?
    }

    /// The mail provider and the identity provider a sign-in start asks for; nil when that provider is not configured.
    /// «other» means the generic provider of the mailbox's current grant, else the first one configured.
    static func identityProvider(requested: String, current: ProviderKey?, oauth: OAuthProviders) -> (MailProvider, ProviderKey)? {
        let answer: (MailProvider, ProviderKey)?
        switch MailProvider(rawValue: requested) {
        case .microsoft: answer = (.microsoft, .microsoft)
        case .google: answer = (.google, .google)
        case .other:
            let generic = current.flatMap { $0.kind == .openIDConnect ? $0 : nil } ?? oauth.generic.first?.key
            answer = generic.map { (.other, $0) }
        case nil:
            let key = ProviderKey(rawValue: requested)
            answer = key.kind == .openIDConnect ? (.other, key) : nil
        }
        guard let answer, oauth.isConfigured(answer.1) else { return nil }
        return answer
    }

    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> Response {
        // The form's fields, with the button's `?provider=` (formaction) taking precedence.
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var query = SessionMiddleware.formFields(String(buffer: body))
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        guard let oauth = dependencies.oauth, let publicURL = dependencies.publicURL else {
            return try await failure("Sign-in is not set up", cause: "This Mailroom has no OAuth apps configured.", fix: "The operator must set the provider's client ID and secret (see the README, «Configuration»).", request: request, context: context)
        }
        func text(_ key: String) -> String? { query[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
        let existing = try await text("mailbox").flatMap { Int64($0) }.asyncMap { try await dependencies.store.mailbox(MailboxID($0)) } ?? nil
        let existingGrant = try await existing.asyncMap { try await dependencies.store.grant($0.id) } ?? nil
        // `provider` names a mail provider (microsoft, google, other) or a generic identity provider's key (oidc-…).
        guard let (provider, key) = Self.identityProvider(
            requested: query["provider"] ?? "", current: existingGrant.map { ProviderKey(rawValue: $0.provider) }, oauth: oauth) else {
            return try await failure("Sign-in is not set up", cause: "Sign-in with «\(query["provider"] ?? "")» is not configured here.", fix: "Choose Microsoft Office 365, Gmail or a provider listed on the form, or ask the operator to register Mailroom with this provider.", request: request, context: context)
        }
        var setup = Setup(
            provider: provider, email: query["email"]?.trimmingCharacters(in: .whitespaces) ?? "", name: text("name") ?? "Support",
            usage: query["usage"].flatMap { MailboxUsage(rawValue: $0) } ?? .both,
            deleteAfterFetch: query["delete_after_fetch"] == "true" || query["delete_after_fetch"] == "on",
            imapHost: text("imap_host"), imapPort: text("imap_port").flatMap { Int($0) },
            smtpHost: text("smtp_host"), smtpPort: text("smtp_port").flatMap { Int($0) },
            mailbox: text("mailbox").flatMap { Int64($0) }, mode: text("mode").flatMap { ReconnectMode(rawValue: $0) },
            imapSecurity: text("imap_security").flatMap { TransportSecurity(rawValue: $0) },
            smtpSecurity: text("smtp_security").flatMap { TransportSecurity(rawValue: $0) })
        setup.identityProvider = key.rawValue
        if setup.mailbox != nil {
            // Fixing an existing mailbox: its own address and usage; the login hint is the account expected to sign in.
            guard let mailbox = existing else {
                return try await failure("Sign-in failed", cause: "There is no mailbox with this id.", fix: "Open the mailbox from Email settings and try again.", request: request, context: context)
            }
            setup.email = mailbox.email
            setup.name = mailbox.name
            setup.usage = mailbox.usage
            setup.deleteAfterFetch = mailbox.deleteAfterFetch
            if setup.mode == nil { setup.mode = .reauthorize }
            if setup.mode != .switchAccount {
                // A reauthorization or migration keeps the mailbox's own servers («Other» has no defaults to fall back on).
                setup.provider = mailbox.provider
                setup.imapHost = mailbox.incoming?.host
                setup.imapPort = mailbox.incoming?.port
                setup.imapSecurity = mailbox.incoming?.security
                setup.smtpHost = mailbox.outgoing?.host
                setup.smtpPort = mailbox.outgoing?.port
                setup.smtpSecurity = mailbox.outgoing?.security
            }
        }
        do {
            // An empty address means «the account I sign in with»; check the other settings now, the address later.
            var probe = setup
            if probe.email.isEmpty { probe.email = "account@example.com" }
            _ = try probe.draft(username: probe.email).validated(servers: dependencies.servers)
        } catch {
            return try await failure("Check the mailbox settings", cause: error.description, fix: "Go back, correct the settings and sign in again.", request: request, context: context)
        }
        let session = Randomness.sessionID()
        let client = try await oauth.client(key: key)
        let setupJSON = String(decoding: try JSONEncoder().encode(setup), as: UTF8.self)
        var hint: String? = setup.email.isEmpty ? nil : setup.email
        if let id = setup.mailbox, setup.mode == .reauthorize, let grant = try await dependencies.store.grant(MailboxID(id)) { hint = grant.account }
        let url: URL
        do {
            url = try await client.startSignIn(
                redirectURI: "\(publicURL)/oauth/callback", session: session, loginHint: hint, context: setupJSON)
        } catch let error as OAuthFailure {
            context.logger.notice("OAuth sign-in could not start", metadata: ["error": "\(error)"])
            return try await failure(error, request: request, context: context)
        }
        var headers = HTTPFields()
        headers[.location] = url.absoluteString
        headers[.setCookie] = "\(Self.cookie)=\(session); Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=900\(publicURL.hasPrefix("https:") ? "; Secure" : "")"
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func callback(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let oauth = dependencies.oauth else { return try await failure("Sign-in is not set up", cause: "This Mailroom has no OAuth apps configured.", fix: "Ask the operator.", request: request, context: context) }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let session = request.cookies[Self.cookie]?.value ?? ""
        let completed: CompletedSignIn
        do {
            completed = try await oauth.finishSignIn(callback: query, session: session)
        } catch let error as OAuthFailure {
            context.logger.notice("OAuth sign-in failed", metadata: ["error": "\(error)"])
            return try await failure(error, request: request, context: context)
        }
        guard let setup = try? JSONDecoder().decode(Setup.self, from: Data(completed.context.utf8)) else {
            return try await failure("Sign-in failed", cause: "The sign-in lost its settings.", fix: "Start the sign-in again.", request: request, context: context)
        }
        if let id = setup.mailbox {
            return try await reconnect(MailboxID(id), setup: setup, signIn: completed, request: request, context: context)
        }
        // An empty support address means «the account I sign in with»; otherwise a different address is a shared mailbox.
        let email = setup.email.isEmpty ? completed.identity.address : setup.email
        var withEmail = setup
        withEmail.email = email
        let draft = withEmail.draft(username: email)
        let valid: ValidMailbox
        do {
            valid = try draft.validated(servers: dependencies.servers)
        } catch {
            return try await failure("Check the mailbox settings", cause: error.description, fix: "Start again with corrected settings.", request: request, context: context)
        }
        if let verdict = await dependencies.connectionTest.servers(
            incoming: valid.incoming, outgoing: valid.outgoing, provider: setup.provider, credential: .accessToken(completed.grant.accessToken)) {
            return try await failure("The connection test failed", cause: verdict.cause, fix: verdict.fix, detail: verdict.detail, request: request, context: context)
        }
        let mailbox: Mailbox
        do {
            mailbox = try await dependencies.mailboxes.add(draft, grant: completed.grant)
        } catch let error as StoreError {
            if case .conflict(let message) = error {
                return try await failure("This mailbox already exists", cause: message, fix: "Open it in Email settings instead.", request: request, context: context)
            }
            throw error
        }
        await dependencies.inbound?.wake()
        var headers = HTTPFields()
        headers[.location] = "/admin/channels/email/\(mailbox.id)?added=1"
        headers[.setCookie] = "\(Self.cookie)=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0"
        return Response(status: .seeOther, headers: headers)
    }

    /// Cases 1 and 3 and account switches: the new sign-in is tested and identity-checked, then swapped in.
    private func reconnect(_ id: MailboxID, setup: Setup, signIn: CompletedSignIn, request: Request, context: AppRequestContext) async throws -> Response {
        guard let mailbox = try await dependencies.store.mailbox(id) else {
            return try await failure("Sign-in failed", cause: "The mailbox was removed while you signed in.", fix: "Add it again from Email settings.", request: request, context: context)
        }
        let mode = setup.mode ?? .reauthorize
        let provider = mode == .switchAccount ? setup.provider : mailbox.provider
        let servers: (incoming: IncomingServer?, outgoing: OutgoingServer?)
        switch mode {
        case .reauthorize, .migrate:
            servers = (
                mailbox.incoming.map { var server = $0; server.authentication = .oauth2; return server },
                mailbox.outgoing.map { var server = $0; server.authentication = .oauth2; return server })
        case .switchAccount:
            var draft = setup.draft(username: mailbox.email)
            draft.email = mailbox.email
            draft.imapSecurity = setup.imapSecurity ?? (setup.imapHost == nil ? nil : mailbox.incoming?.security)
            draft.smtpSecurity = setup.smtpSecurity ?? (setup.smtpHost == nil ? nil : mailbox.outgoing?.security)
            draft.folder = mailbox.incoming?.folder
            do {
                let valid = try draft.validated(servers: dependencies.servers)
                servers = (valid.incoming, valid.outgoing)
            } catch {
                return try await failure("Check the mailbox settings", cause: error.description, fix: "Start again with corrected settings.", request: request, context: context)
            }
        }
        do {
            _ = try await dependencies.reauthorization.reconnect(mailbox, mode: mode, provider: provider, grant: signIn.grant, servers: servers)
        } catch {
            context.logger.notice("A new sign-in for a mailbox was refused", metadata: ["mailbox": "\(id)", "reason": "\(error)"])
            let heading = switch error {
            case .wrongAccount: "This is not the account of this mailbox"
            case .testFailed: "The connection test failed"
            case .invalid: "Sign-in failed"
            }
            var view: [String: Any] = ["heading": heading, "cause": error.description, "fix": error.fix, "mailbox_id": id.rawValue]
            if case .wrongAccount(let expected, let signedIn) = error {
                view["expected"] = expected
                view["signed_in"] = signedIn
            }
            if let detail = ChannelsController.detail(of: error) { view["detail"] = detail }
            return try await pages.page(.signInFailed, title: heading, nav: "admin", view, context: context, status: .badRequest).response(from: request, context: context)
        }
        await dependencies.notifier?.wake()
        var headers = HTTPFields()
        headers[.location] = "/admin/channels/email/\(id)?reauthorized=1"
        headers[.setCookie] = "\(Self.cookie)=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0"
        return Response(status: .seeOther, headers: headers)
    }

    private func failure(_ failure: OAuthFailure, request: Request, context: AppRequestContext) async throws -> Response {
        let (cause, fix): (String, String) = switch failure.kind {
        case .signInRejected: (failure.detail ?? "The sign-in was not completed.", "Start the sign-in again.")
        case .transient: ("The identity provider could not be reached.", "Try again in a moment.")
        case .appRegistration: ("The identity provider refused Mailroom's app registration.", "The Mailroom operator must check the client ID and secret.")
        case .configuration: ("The identity provider refused Mailroom's request.", "The Mailroom operator must check the OAuth configuration.")
        case .actionNeededAtProvider: ("The identity provider does not allow this account to sign in to Mailroom.", "Ask your provider's administrator.")
        case .reauthorizationRequired: ("The sign-in was not accepted.", "Start the sign-in again.")
        }
        return try await self.failure("Sign-in failed", cause: cause, fix: fix, detail: failure.kind == .signInRejected ? nil : failure.description, request: request, context: context)
    }

    private func failure(_ heading: String, cause: String, fix: String, detail: String? = nil, request: Request, context: AppRequestContext) async throws -> Response {
        var view: [String: Any] = ["heading": heading, "cause": cause, "fix": fix]
        if let detail { view["detail"] = detail }
        return try await pages.page(.signInFailed, title: heading, nav: "admin", view, context: context, status: .badRequest).response(from: request, context: context)
    }
}

extension SignInController.Setup {
    func draft(username: String) -> MailboxDraft {
        MailboxDraft(
            email: email, name: name, provider: provider, usage: usage, imapHost: imapHost, imapPort: imapPort,
            imapSecurity: imapSecurity, username: username, deleteAfterFetch: deleteAfterFetch, authentication: .oauth2,
            smtpHost: smtpHost, smtpPort: smtpPort, smtpSecurity: smtpSecurity)
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

enum Randomness {
    static func sessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}
