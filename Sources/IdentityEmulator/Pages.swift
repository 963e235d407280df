import Foundation

/// What the `/emulator` page shows.
struct DashboardSnapshot: Sendable {
    let accounts: [EmulatorAccount]
    let clients: [EmulatorClient]
    let faults: [String]
    let accessTokenLifetime: Int
    /// The attached mail server's passwords (empty without one).
    let mailPasswords: [(mailbox: String, password: String)]
}

extension IdentityEmulator {
    func dashboardSnapshot() async -> DashboardSnapshot {
        DashboardSnapshot(
            accounts: accounts(), clients: clients(), faults: activeFaults().map(Self.describe),
            accessTokenLifetime: accessTokenLifetimeSeconds, mailPasswords: await mailServer?.passwords() ?? [])
    }
}

/// The emulator's HTML pages: the sign-in picker, error pages, `form_post` responses and the control
/// dashboard. Every echoed value goes through ``HTML/escape(_:)``. The pages say plainly that they are
/// the identity emulator, so nobody mistakes them for Mailroom or for a real provider.
enum Pages {
    private static func layout(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(HTML.escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
        .banner{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem;border-radius:4px}
        form.inline{display:inline}
        button{margin:.25rem 0;padding:.4rem .8rem;cursor:pointer}
        .account{display:block;width:100%;text-align:left}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
        .hint{color:#555;font-size:.9em}
        ul.controls{list-style:none;padding:0;margin:0}ul.controls li{margin:.15rem 0}.effect{color:#444;font-size:.85em}
        </style></head><body>
        \(body)
        </body></html>
        """
    }

    private static func providerLabel(_ provider: EmulatorProviderKind) -> String {
        provider == .microsoft ? "Identity emulator (Microsoft)" : "Identity emulator (Google)"
    }

    private static func hiddenFields(_ parameters: [String: String]) -> String {
        parameters.keys.sorted().compactMap { key in
            guard let value = parameters[key] else { return nil }
            return "<input type=\"hidden\" name=\"\(HTML.escape(key))\" value=\"\(HTML.escape(value))\">"
        }.joined(separator: "\n")
    }

    /// The account picker: one POST form per eligible account, plus Cancel.
    static func picker(_ request: ValidAuthorizeRequest, action: String) -> String {
        let hidden = hiddenFields(request.parameters)
        let hint = request.loginHint?.lowercased()
        let accountForms = request.accounts.map { account in
            let suggested = account.normalizedAddress == hint ? " <em>(suggested)</em>" : ""
            return """
                <form method="post" action="\(HTML.escape(action))">
                \(hidden)
                <input type="hidden" name="account" value="\(HTML.escape(account.address))">
                <button class="account" type="submit">\(HTML.escape(account.displayName)) &lt;\(HTML.escape(account.address))&gt; \
                <span class="hint">\(HTML.escape(IdentityEmulator.kindLabel(account)))</span>\(suggested)</button>
                </form>
                """
        }.joined(separator: "\n")
        let empty = request.accounts.isEmpty ? "<p>No account of this emulator may sign in here.</p>" : ""
        let tenantLine = request.tenant.map { "<p class=\"hint\">Tenant: \(HTML.escape($0))</p>" } ?? ""
        let body = """
            <p class="banner"><strong>\(providerLabel(request.provider))</strong> — a test stand-in, not Mailroom and not the real provider.</p>
            <h1>Pick an account</h1>
            <p>Application <strong>\(HTML.escape(request.client.displayName))</strong> (\(HTML.escape(request.client.id))) asks for: \
            <code>\(HTML.escape(request.scopes.joined(separator: " ")))</code></p>
            \(tenantLine)
            \(accountForms)
            \(empty)
            <form method="post" action="\(HTML.escape(action))">
            \(hidden)
            <button type="submit" name="cancel" value="1">Cancel</button>
            </form>
            """
        return layout(title: providerLabel(request.provider), body: body)
    }

    static func error(title: String, message: String, provider: EmulatorProviderKind) -> String {
        let body = """
            <p class="banner"><strong>\(providerLabel(provider))</strong> — a test stand-in, not Mailroom and not the real provider.</p>
            <h1>Sign-in error</h1>
            <h2>\(HTML.escape(title))</h2>
            <p>\(HTML.escape(message))</p>
            """
        return layout(title: "\(providerLabel(provider)) – \(title)", body: body)
    }

    /// `response_mode=form_post`: a self-submitting form to the redirect URI.
    static func formPost(_ redirect: AuthorizeRedirect) -> String {
        let fields = redirect.parameters.map {
            "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">"
        }.joined(separator: "\n")
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>Working...</title></head>
            <body onload="document.forms[0].submit()">
            <form method="post" action="\(HTML.escape(redirect.redirectURI))">
            \(fields)
            <noscript><button type="submit">Continue</button></noscript>
            </form></body></html>
            """
    }

    private static func controlForm(_ action: String, _ fields: [(String, String)], _ label: String) -> String {
        let inputs = fields.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">" }
            .joined()
        return """
            <form class="inline" method="post" action="/emulator/control/\(HTML.escape(action))">\(inputs)\
            <button type="submit">\(HTML.escape(label))</button></form>
            """
    }

    /// One control and, beside it, what it produces in Mailroom (the article's case, when it is one).
    private static func control(_ action: String, _ fields: [(String, String)], _ label: String, _ effect: String) -> String {
        "<li>\(controlForm(action, fields, label)) <span class=\"effect\">\(effect)</span></li>"
    }

    /// The article's case each control produces for this account, in short; the legend above the table says each case in full.
    private static func accountControls(_ account: EmulatorAccount, mailPassword: String?) -> String {
        let a = [("account", account.address)]
        let google = account.providerKind == .google
        let signedIn = google ? "<strong>Case 3</strong> (Gmail: «Sign in with Google» fixes it)" : "<strong>Case 3</strong>"
        var passwordEffect = signedIn + " when signed in"
        if mailPassword != nil {
            passwordEffect += google
                ? "; <strong>Case 2</strong> when added with a password (the mail password changes too)"
                : "; <strong>Case 1</strong> when added with a password (the mail password changes too)"
        }
        return """
            <ul class="controls">
            \(control("changePassword", a, "Change password", passwordEffect))
            \(control("revokeTokens", a, "Admin revokes sessions", signedIn + " · invalid_grant AADSTS50173"))
            \(control("expireByInactivity", a, "Expire by inactivity", signedIn + " · invalid_grant AADSTS700082"))
            \(control("revokeConsent", a, "Revoke consent", signedIn + " · invalid_grant AADSTS65001"))
            \(control("requireMFA", a, "Require MFA", signedIn + " · interaction_required AADSTS50076"))
            \(control("setProtocolEnabled", [("mailbox", account.address), ("protocol", "imap"), ("enabled", "false")], "Disable IMAP",
                "no reauthorization: «Action needed at your provider»"))
            \(control("setProtocolEnabled", [("mailbox", account.address), ("protocol", "smtp"), ("enabled", "false")], "Disable SMTP",
                "no reauthorization: «Action needed at your provider» for replies"))
            \(control("setProtocolEnabled", [("mailbox", account.address), ("protocol", "imap"), ("enabled", "true")], "Enable IMAP", ""))
            \(control("setProtocolEnabled", [("mailbox", account.address), ("protocol", "smtp"), ("enabled", "true")], "Enable SMTP", ""))
            </ul>
            """
    }

    /// `GET /emulator`: accounts with per-account fault buttons, and global controls. Each control
    /// says which case of the article it produces in Mailroom.
    static func dashboard(_ snapshot: DashboardSnapshot) -> String {
        let passwords = Dictionary(snapshot.mailPasswords.map { ($0.mailbox.lowercased(), $0.password) }, uniquingKeysWith: { a, _ in a })
        let rows = snapshot.accounts.map { account in
            let mailPassword = passwords[account.normalizedAddress]
            let delegate = account.delegatedMailbox.map { "<br><span class=\"hint\">delegate of \(HTML.escape($0))</span>" } ?? ""
            let password = mailPassword.map { "<br><span class=\"hint\">mail password: <code class=\"mail-password\">\(HTML.escape($0))</code></span>" } ?? ""
            return """
                <tr class="account-row" data-account="\(HTML.escape(account.address))"><td>\(HTML.escape(account.displayName))<br>\
                <code>\(HTML.escape(account.address))</code>\(delegate)\(password)</td>\
                <td>\(HTML.escape(IdentityEmulator.kindLabel(account)))</td><td>\(accountControls(account, mailPassword: mailPassword))</td></tr>
                """
        }.joined(separator: "\n")
        let accountAddresses = Set(snapshot.accounts.map(\.normalizedAddress))
        let mailOnly = snapshot.mailPasswords.filter { !accountAddresses.contains($0.mailbox.lowercased()) }
        let mailServer = mailOnly.isEmpty ? "" : """
            <h2>Mail server (Dovecot) mailboxes</h2>
            <p class="hint">Mailboxes that exist only on the demo's mail server and sign in with a password, as an «Other» mailbox does.</p>
            <table><tr><th>Mailbox</th><th>Password</th><th>Controls</th></tr>
            \(mailOnly.map { entry in
                """
                <tr class="mailbox-row" data-mailbox="\(HTML.escape(entry.mailbox))"><td><code>\(HTML.escape(entry.mailbox))</code></td>\
                <td><code class="mail-password">\(HTML.escape(entry.password))</code></td><td><ul class="controls">\
                \(control("changeMailPassword", [("mailbox", entry.mailbox)], "Change password",
                    "<strong>Case 2</strong>: «Reauthorization required»; enter the new password in Email settings."))</ul></td></tr>
                """
            }.joined(separator: "\n"))
            </table>
            """
        let clientRows = snapshot.clients.map { client in
            let c = [("clientID", client.id)]
            return """
                <tr><td><code>\(HTML.escape(client.id))</code></td><td>\(HTML.escape(client.provider.rawValue))</td>\
                <td>\(client.redirectURIs.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: "<br>"))</td><td><ul class="controls">
                \(control("expireClientSecret", c, "Expire client secret",
                    "Not a reauthorization: Mailroom's app registration is refused (401 invalid_client AADSTS7000222), «Action needed at your provider» for the operator."))
                \(control("renewClientSecret", c, "Renew client secret", "Client secret valid again."))</ul></td></tr>
                """
        }.joined(separator: "\n")
        let faults = snapshot.faults.isEmpty
            ? "<p>No faults active.</p>"
            : "<ul>" + snapshot.faults.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let body = """
            <p class="banner"><strong>Identity emulator — not Mailroom.</strong> Stand-in for Microsoft's identity platform and Google OAuth, for tests and demos. \
            The buttons below break things on purpose, the way they break at a real provider; Mailroom is at its own address.</p>
            <h1>Identity emulator</h1>
            <h2>Active faults</h2>
            \(faults)
            <h2>Accounts</h2>
            <p class="hint">Beside each control: the case of the help article «Please reauthorize your Email settings» it produces in Mailroom, \
            which notices at its next fetch (within seconds in the demo) and shows the banner:</p>
            <ul class="cases">
            <li><strong>Case 1</strong> — a Microsoft mailbox still on a password (Basic Auth): «Migration to OAuth required». Fix: «Sign in with Microsoft».</li>
            <li><strong>Case 2</strong> — an «Other» or Gmail mailbox on a password: «Reauthorization required». Fix: enter the new password.</li>
            <li><strong>Case 3</strong> — a mailbox signed in with Microsoft: «Reauthorization required» and «Your Microsoft Office 365 credentials have expired. \
            Please sign in again.» Fix: «Sign in with Microsoft».</li>
            </ul>
            <table><tr><th>Account</th><th>Kind</th><th>Controls</th></tr>
            \(rows)
            </table>
            \(mailServer)
            <h2>Clients</h2>
            <table><tr><th>Client id</th><th>Provider</th><th>Redirect URIs</th><th>Controls</th></tr>
            \(clientRows)
            </table>
            <h2>Provider-wide</h2>
            <ul class="controls">
            \(control("tokenEndpointOutage", [("mode", "unavailable")], "Token endpoint outage (503)",
                "Not a reauthorization: «Temporarily failing»; Mailroom retries by itself, no banner, no mail lost."))
            \(control("tokenEndpointOutage", [("mode", "throttled"), ("retryAfter", "30")], "Throttle token endpoint (429, Retry-After 30)",
                "Not a reauthorization: Mailroom waits as told and retries."))
            \(control("tokenEndpointOutage", [("mode", "none")], "End token endpoint outage", "Token endpoint normal again."))
            \(control("introspectionOutage", [("on", "true")], "Introspection outage (503)",
                "Not a reauthorization: the mail server answers [UNAVAILABLE] / 454 4.7.0, «Temporarily failing»."))
            \(control("introspectionOutage", [("on", "false")], "End introspection outage", "Introspection normal again."))
            \(control("setAccessTokenLifetime", [("seconds", "120")], "Access tokens live 2 minutes", "Mailroom renews tokens often, silently."))
            \(control("setAccessTokenLifetime", [("seconds", "3600")], "Access tokens live 1 hour (default)", "expires_in=3600."))
            \(control("clearFaults", [], "Clear all faults", "Everything back to normal (tokens already killed stay dead: sign in again)."))
            </ul>
            <p class="hint">Access-token lifetime now: \(snapshot.accessTokenLifetime) s. JSON state: <a href="/emulator/state">/emulator/state</a></p>
            """
        return layout(title: "Identity emulator — not Mailroom", body: body)
    }
}
