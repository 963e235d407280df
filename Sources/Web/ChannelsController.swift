import Engine
import Foundation
import Hummingbird
import MailroomCore
import OAuth

/// Admin › Channels › Email: the list with each direction's state, *New support email*, a mailbox's detail
/// (state, cause, fix, activity, «Others»), and the fixes that need no provider sign-in (a new password).
struct ChannelsController: Sendable {
    let dependencies: WebDependencies
    let pages: PagesController
    var store: any WebStore { dependencies.store }

    /// Under `/admin/channels/email`, in the admins' route group.
    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get("new", use: newForm)
        group.post(use: create)
        group.get(":id", use: detail)
        group.post(":id/password", use: replacePassword)
        group.post(":id/delete", use: delete)
        group.post(":id/pause") { request, context in try await setEnabled(false, request: request, context: context) }
        group.post(":id/resume") { request, context in try await setEnabled(true, request: request, context: context) }
    }

    /// Each direction's health as the admin sees it (a pending Basic→OAuth migration shows even before the
    /// background job marked it), plus the label of its last success.
    func shownHealth(_ mailbox: Mailbox) async throws -> [Direction: ConnectionHealth] {
        Diagnosis.shown(mailbox, stored: try await store.health(mailbox.id))
    }

    static func stateView(_ health: ConnectionHealth?, used: Bool, unusedLabel: String, lastLabel: String) -> [String: Any] {
        guard used, let health else { return ["state": "unused", "state_label": unusedLabel, "last": "—"] }
        var view: [String: Any] = [
            "state": health.state.rawValue, "state_label": health.state.displayName,
            "last": health.lastSuccessAt.map { "\(lastLabel) \(Format.date($0))" } ?? "Never",
        ]
        if health.state != .connected, health.state != .pending {
            view["cause"] = health.cause ?? ""
            view["fix"] = health.fix ?? ""
            if let detail = health.detail { view["detail"] = detail }
        }
        return view
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
        var rows: [[String: Any]] = []
        for mailbox in try await store.mailboxes() {
            let health = try await shownHealth(mailbox)
            rows.append([
                "id": mailbox.id.rawValue, "email": mailbox.email, "name": mailbox.name, "provider": mailbox.provider.displayName,
                "usage": mailbox.usage.displayName, "delete_after_fetch": mailbox.deleteAfterFetch,
                "account": try await PagesController.authenticationLabel(mailbox, store: store, oauth: dependencies.oauth),
                "incoming": Self.stateView(health[.incoming], used: mailbox.usage.fetchesMail, unusedLabel: "Not fetched (Outgoing only)", lastLabel: "Fetched"),
                "outgoing": Self.stateView(
                    health[.outgoing], used: mailbox.outgoing != nil,
                    unusedLabel: "Default outgoing server", lastLabel: "Sent"),
            ])
        }
        return try await pages.page(.channels, title: "Email channels", nav: "admin", ["mailboxes": rows, "has_mailboxes": !rows.isEmpty], context: context)
    }

    /// The fields of *New support email*; everything optional so a half-filled form gets field errors, not a 400.
    struct MailboxForm: Decodable {
        var provider: String?
        var usage: String?
        var delete_after_fetch: String?
        var email: String?
        var name: String?
        var imap_host: String?
        var imap_port: String?
        var imap_security: String?
        var username: String?
        var folder: String?
        var smtp_host: String?
        var smtp_port: String?
        var smtp_security: String?
        var password: String?

        var draft: MailboxDraft {
            func text(_ value: String?) -> String? { value.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
            return MailboxDraft(
                email: email ?? "", name: name ?? "", provider: provider.flatMap(MailProvider.init(rawValue:)) ?? .other,
                usage: usage.flatMap(MailboxUsage.init(rawValue:)) ?? .both,
                imapHost: text(imap_host), imapPort: text(imap_port).flatMap { Int($0) }, imapSecurity: imap_security.flatMap(TransportSecurity.init(rawValue:)),
                username: text(username), folder: text(folder), deleteAfterFetch: delete_after_fetch == "on" || delete_after_fetch == "true",
                authentication: .password,
                smtpHost: text(smtp_host), smtpPort: text(smtp_port).flatMap { Int($0) }, smtpSecurity: smtp_security.flatMap(TransportSecurity.init(rawValue:)))
        }
    }

    @Sendable func newForm(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
        let provider = request.uri.queryParameters["provider"].flatMap { MailProvider(rawValue: String($0)) } ?? .microsoft
        return try await form(MailboxForm(provider: provider.rawValue, usage: "both", name: "Support"), error: nil, context: context)
    }

    func form(_ form: MailboxForm, error: (cause: String, fix: String?, detail: String?)?, context: AppRequestContext, status: HTTPResponse.Status = .ok) async throws -> HTMLResponse {
        let provider = form.provider.flatMap(MailProvider.init(rawValue:)) ?? .microsoft
        let usage = form.usage.flatMap(MailboxUsage.init(rawValue:)) ?? .both
        let incoming = dependencies.servers.incoming(for: provider)
        let outgoing = dependencies.servers.outgoing(for: provider)
        var view: [String: Any] = [
            "providers": MailProvider.allCases.map { ["value": $0.rawValue, "label": $0.displayName, "checked": $0 == provider] },
            "usages": MailboxUsage.allCases.map { ["value": $0.rawValue, "label": $0.displayName, "checked": $0 == usage] },
            "delete_after_fetch": form.delete_after_fetch == "on",
            "email": form.email ?? "", "name": form.name ?? "Support",
            "imap_host": form.imap_host ?? incoming?.host ?? "", "imap_port": form.imap_port ?? incoming.map { String($0.port) } ?? "993",
            "smtp_host": form.smtp_host ?? outgoing?.host ?? "", "smtp_port": form.smtp_port ?? outgoing.map { String($0.port) } ?? "587",
            "username": form.username ?? "", "folder": form.folder ?? "INBOX",
            "imap_securities": TransportSecurity.allCases.map { ["value": $0.rawValue, "label": $0.displayName, "selected": $0.rawValue == (form.imap_security ?? incoming?.security.rawValue ?? "tls")] },
            "smtp_securities": TransportSecurity.allCases.map { ["value": $0.rawValue, "label": $0.displayName, "selected": $0.rawValue == (form.smtp_security ?? outgoing?.security.rawValue ?? "starttls")] },
            "oauth_microsoft": dependencies.oauth?.configured.contains(.microsoft) == true,
            "oauth_google": dependencies.oauth?.configured.contains(.google) == true,
            // «Other» mailboxes sign in with each generic OpenID Connect provider the operator configured.
            "oauth_other": (dependencies.oauth?.generic ?? []).map { ["key": $0.key.rawValue, "label": "Sign in with \($0.name)"] },
            "provider_defaults": Self.providerDefaults(dependencies.servers),
        ]
        if let error {
            view["error_cause"] = error.cause
            if let fix = error.fix { view["error_fix"] = fix }
            if let detail = error.detail { view["error_detail"] = detail }
        }
        return try await pages.page(.newMailbox, title: "New support email", nav: "admin", view, context: context, status: status)
    }

    /// Each provider's servers for the form's `data-<provider>-<imap|smtp>-<host|port|security>` attributes, which
    /// /static/mailbox-form.js reads when the provider changes: the script carries no host names of its own.
    static func providerDefaults(_ servers: ProviderServers) -> [[String: Any]] {
        MailProvider.allCases.compactMap { provider in
            guard let incoming = servers.incoming(for: provider), let outgoing = servers.outgoing(for: provider) else { return nil }
            return [
                "provider": provider.rawValue,
                "imap_host": incoming.host, "imap_port": incoming.port, "imap_security": incoming.security.rawValue,
                "smtp_host": outgoing.host, "smtp_port": outgoing.port, "smtp_security": outgoing.security.rawValue,
            ]
        }
    }

    /// Save with a password: validate, test the connection with the password, and only then store it.
    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let input = (try? URLEncodedFormDecoder().decode(MailboxForm.self, from: String(buffer: body))) ?? MailboxForm()
        var echo = input
        echo.password = nil
        let valid: ValidMailbox
        do {
            valid = try input.draft.validated(servers: dependencies.servers)
        } catch {
            return try await form(echo, error: (error.description, nil, nil), context: context, status: .unprocessableContent).response(from: request, context: context)
        }
        let password = input.password ?? ""
        if password.isEmpty {
            return try await form(echo, error: ("Enter the password of «\(valid.incoming?.username ?? valid.outgoing?.username ?? valid.email)», or use «Sign in with …».", nil, nil), context: context, status: .unprocessableContent)
                .response(from: request, context: context)
        }
        if let verdict = await dependencies.connectionTest.servers(
            incoming: valid.incoming, outgoing: valid.outgoing, provider: valid.provider, credential: .password(password)) {
            return try await form(echo, error: ("The connection test failed: \(verdict.cause)", verdict.fix, verdict.detail), context: context, status: .unprocessableContent)
                .response(from: request, context: context)
        }
        let mailbox: Mailbox
        do {
            mailbox = try await dependencies.mailboxes.add(input.draft, password: password)
        } catch let error as ValidationError {
            return try await form(echo, error: (error.description, nil, nil), context: context, status: .unprocessableContent).response(from: request, context: context)
        } catch StoreError.conflict(let message) {
            return try await form(echo, error: (message, "Open the existing mailbox in Email settings instead.", nil), context: context, status: .conflict)
                .response(from: request, context: context)
        }
        await dependencies.inbound?.wake()
        await dependencies.notifier?.wake()
        return Response(status: .seeOther, headers: [.location: "/admin/channels/email/\(mailbox.id)?added=1"])
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
        guard let id = context.parameters.get("id", as: Int64.self), let mailbox = try await store.mailbox(MailboxID(id)) else {
            return try await pages.notFound("There is no mailbox with this id.", context: context)
        }
        let query = request.uri.queryParameters
        var notice: String?
        if query["added"] != nil {
            notice = "Your support email was saved and the connection works. New mail to \(mailbox.email) becomes tickets."
        } else if query["reauthorized"] != nil {
            notice = "Your email settings were updated and the new sign-in works. Fetching resumes where it stopped; no mail is lost."
        }
        return try await detailPage(mailbox, notice: notice, passwordError: nil, context: context)
    }

    func detailPage(_ mailbox: Mailbox, notice: String?, passwordError: (cause: String, fix: String?, detail: String?)?, context: AppRequestContext, status: HTTPResponse.Status = .ok) async throws -> HTMLResponse {
        let health = try await shownHealth(mailbox)
        let activity = try await store.activity(mailbox.id, limit: 50).map { ["at": Format.date($0.at), "text": $0.text] }
        let usesPassword = mailbox.incoming?.authentication == .password || mailbox.outgoing?.authentication == .password
        let grant = try await store.grant(mailbox.id)
        var view: [String: Any] = [
            "id": mailbox.id.rawValue, "email": mailbox.email, "name": mailbox.name, "provider": mailbox.provider.displayName,
            "provider_value": mailbox.provider.rawValue, "usage": mailbox.usage.displayName,
            "incoming": Self.stateView(health[.incoming], used: mailbox.usage.fetchesMail, unusedLabel: "Not fetched (Outgoing only)", lastLabel: "Fetched"),
            "outgoing_state": Self.stateView(health[.outgoing], used: mailbox.outgoing != nil, unusedLabel: "Not checked (default outgoing server)", lastLabel: "Sent"),
            "server": mailbox.incoming.map { "\($0.host):\($0.port) · \($0.security.displayName)" } ?? "—",
            "username": mailbox.incoming?.username ?? mailbox.outgoing?.username ?? "—", "folder": mailbox.incoming?.folder ?? "—",
            "after_fetch": mailbox.deleteAfterFetch ? "Delete from the server once the ticket is stored" : "Leave on the server untouched",
            "activity": activity, "has_activity": !activity.isEmpty,
            "auth": try await PagesController.authenticationLabel(mailbox, store: store, oauth: dependencies.oauth),
            "outgoing": mailbox.outgoing.map {
                "\($0.host):\($0.port) · \($0.security.displayName) · as \($0.username) with \($0.authentication == .oauth2 ? mailbox.provider.signInLabel : "its password")"
            } ?? "The operator's default outgoing server (MAILROOM_SMTP_URL)",
            "uses_password": usesPassword, "paused": !mailbox.enabled, "fetches": mailbox.usage.fetchesMail,
            "sign_in_label": MailProvider.microsoft.signInLabel,
            "imap_host": mailbox.incoming?.host ?? "", "imap_port": mailbox.incoming.map { String($0.port) } ?? "",
            "smtp_host": mailbox.outgoing?.host ?? "", "smtp_port": mailbox.outgoing.map { String($0.port) } ?? "",
        ]
        // The one button that fixes it: migrate a Microsoft mailbox on Basic Auth, or sign in again with OAuth.
        if mailbox.provider == .microsoft && usesPassword {
            view["oauth_action"] = ["mode": "migrate", "provider": "microsoft", "label": MailProvider.microsoft.signInLabel, "hint": "Moves this mailbox from Basic Auth to OAuth. The sync position carries over."]
        } else if !usesPassword, mailbox.provider != .other {
            view["oauth_action"] = ["mode": "reauthorize", "provider": mailbox.provider.rawValue, "label": mailbox.provider.signInLabel, "hint": "Sign in as «\(grant?.account ?? mailbox.email)»."]
        } else if !usesPassword, let key = grant.map({ ProviderKey(rawValue: $0.provider) }), let name = dependencies.oauth?.name(of: key) {
            // «Other»: the generic provider that issued this mailbox's grant, by the name the operator gave it.
            view["oauth_action"] = ["mode": "reauthorize", "provider": key.rawValue, "label": "Sign in with \(name)", "hint": "Sign in as «\(grant?.account ?? mailbox.email)»."]
        }
        var switchProviders: [[String: Any]] = []
        if dependencies.oauth?.configured.contains(.microsoft) == true { switchProviders.append(["value": "microsoft", "label": MailProvider.microsoft.displayName]) }
        if dependencies.oauth?.configured.contains(.google) == true { switchProviders.append(["value": "google", "label": MailProvider.google.displayName]) }
        for generic in dependencies.oauth?.generic ?? [] { switchProviders.append(["value": generic.key.rawValue, "label": "Other: \(generic.name)"]) }
        view["switch_providers"] = switchProviders
        view["can_switch"] = !switchProviders.isEmpty
        if let notice { view["notice"] = notice }
        if let passwordError {
            view["password_error"] = passwordError.cause
            if let fix = passwordError.fix { view["password_fix"] = fix }
            if let detail = passwordError.detail { view["password_detail"] = detail }
        }
        if let previous = try await store.previousSettings(mailbox.id) {
            view["others"] = [
                "provider": previous.provider.displayName,
                "incoming": previous.incoming.map { "\($0.host):\($0.port) · \($0.security.displayName)" } ?? "—",
                "outgoing": previous.outgoing.map { "\($0.host):\($0.port) · \($0.security.displayName)" } ?? "—",
                "username": previous.incoming?.username ?? previous.outgoing?.username ?? "—",
                "authentication": previous.incoming?.authentication == .oauth2 || previous.outgoing?.authentication == .oauth2
                    ? "\(previous.provider.signInLabel)\(previous.account.map { " as \($0)" } ?? "")" : "Username and password (Basic Auth)",
                "replaced_at": Format.date(previous.replacedAt),
            ]
        }
        return try await pages.page(.mailbox, title: mailbox.email, nav: "admin", view, context: context, status: status)
    }

    struct PasswordForm: Decodable {
        var password: String?
    }

    /// Case 2: enter the password again and Save. Tested first; a refused password changes nothing.
    @Sendable func replacePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), let mailbox = try await store.mailbox(MailboxID(id)) else {
            return try await pages.notFound("There is no mailbox with this id.", context: context).response(from: request, context: context)
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let password = (try? URLEncodedFormDecoder().decode(PasswordForm.self, from: String(buffer: body)))?.password ?? ""
        do {
            try await dependencies.reauthorization.replacePassword(mailbox, password: password)
        } catch {
            return try await detailPage(mailbox, notice: nil, passwordError: (error.description, error.fix, Self.detail(of: error)), context: context, status: .unprocessableContent)
                .response(from: request, context: context)
        }
        await dependencies.notifier?.wake()
        return Response(status: .seeOther, headers: [.location: "/admin/channels/email/\(mailbox.id)?reauthorized=1"])
    }

    static func detail(of error: ReauthorizationError) -> String? {
        if case .testFailed(let verdict) = error { return verdict.detail }
        return nil
    }

    /// «Paused»: fetching stops until an admin resumes it; mail waits on the server.
    func setEnabled(_ enabled: Bool, request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), try await store.setEnabled(MailboxID(id), enabled, at: Date()) else {
            return try await pages.notFound("There is no mailbox with this id.", context: context).response(from: request, context: context)
        }
        if enabled { await dependencies.inbound?.retryNow(MailboxID(id)) }
        return Response(status: .seeOther, headers: [.location: "/admin/channels/email/\(id)"])
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), try await store.removeMailbox(MailboxID(id)) else {
            return try await pages.notFound("There is no mailbox with this id.", context: context).response(from: request, context: context)
        }
        return Response(status: .seeOther, headers: [.location: "/admin/channels/email"])
    }
}
