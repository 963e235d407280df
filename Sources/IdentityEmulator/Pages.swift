import Foundation

/// What the `/emulator` page shows.
struct DashboardSnapshot: Sendable {
    let accounts: [EmulatorAccount]
    let clients: [EmulatorClient]
    let faults: [String]
    let accessTokenLifetime: Int
}

extension IdentityEmulator {
    func dashboardSnapshot() -> DashboardSnapshot {
        DashboardSnapshot(
            accounts: accounts(), clients: clients(), faults: activeFaults().map(Self.describe),
            accessTokenLifetime: accessTokenLifetimeSeconds)
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
        body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
        .banner{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem;border-radius:4px}
        form.inline{display:inline}
        button{margin:.25rem 0;padding:.4rem .8rem;cursor:pointer}
        .account{display:block;width:100%;text-align:left}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
        .hint{color:#555;font-size:.9em}
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

    private static func controlForm(_ action: String, _ fields: [(String, String)], _ label: String, _ effect: String) -> String {
        let inputs = fields.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">" }
            .joined()
        return """
            <form class="inline" method="post" action="/emulator/control/\(HTML.escape(action))">\(inputs)\
            <button type="submit" title="\(HTML.escape(effect))">\(HTML.escape(label))</button></form>
            """
    }

    /// `GET /emulator`: accounts with per-account fault buttons, and global controls. Each control
    /// says which case it produces in Mailroom.
    static func dashboard(_ snapshot: DashboardSnapshot) -> String {
        let rows = snapshot.accounts.map { account in
            let a = [("account", account.address)]
            let controls = [
                controlForm("changePassword", a, "Change password",
                    "Refresh fails with invalid_grant AADSTS50173 → Mailroom shows «Reauthorization required» / «Your Microsoft Office 365 credentials have expired. Please sign in again.»"),
                controlForm("revokeTokens", a, "Admin revokes sessions",
                    "Refresh fails with invalid_grant AADSTS50173 → Mailroom shows «Reauthorization required»"),
                controlForm("expireByInactivity", a, "Expire by inactivity",
                    "Refresh fails with invalid_grant AADSTS700082 → Mailroom shows «Reauthorization required»"),
                controlForm("revokeConsent", a, "Revoke consent",
                    "Refresh fails with invalid_grant AADSTS65001 (consent_required) → Mailroom shows «Reauthorization required»"),
                controlForm("requireMFA", a, "Require MFA",
                    "Refresh fails with interaction_required AADSTS50076 → Mailroom shows «Reauthorization required»; signing in again clears it"),
                controlForm("setProtocolEnabled", [("mailbox", account.address), ("protocol", "imap"), ("enabled", "false")], "Disable IMAP",
                    "Dovecot rejects fresh tokens for IMAP → Mailroom shows an admin-configuration problem, not re-authorization"),
                controlForm("setProtocolEnabled", [("mailbox", account.address), ("protocol", "smtp"), ("enabled", "false")], "Disable SMTP",
                    "Dovecot/Postfix reject fresh tokens for SMTP → Mailroom shows an admin-configuration problem"),
                controlForm("setProtocolEnabled", [("mailbox", account.address), ("protocol", "imap"), ("enabled", "true")], "Enable IMAP", "IMAP allowed again"),
                controlForm("setProtocolEnabled", [("mailbox", account.address), ("protocol", "smtp"), ("enabled", "true")], "Enable SMTP", "SMTP allowed again"),
            ].joined(separator: " ")
            let delegate = account.delegatedMailbox.map { "<br><span class=\"hint\">delegate of \(HTML.escape($0))</span>" } ?? ""
            return """
                <tr><td>\(HTML.escape(account.displayName))<br><code>\(HTML.escape(account.address))</code>\(delegate)</td>\
                <td>\(HTML.escape(IdentityEmulator.kindLabel(account)))</td><td>\(controls)</td></tr>
                """
        }.joined(separator: "\n")
        let clientRows = snapshot.clients.map { client in
            let c = [("clientID", client.id)]
            return """
                <tr><td><code>\(HTML.escape(client.id))</code></td><td>\(HTML.escape(client.provider.rawValue))</td>\
                <td>\(client.redirectURIs.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: "<br>"))</td><td>\
                \(controlForm("expireClientSecret", c, "Expire client secret", "Token endpoint answers 401 invalid_client AADSTS7000222 → Mailroom shows an app-registration alarm for the admin, not a per-mailbox re-authorization"))
                \(controlForm("renewClientSecret", c, "Renew client secret", "Client secret valid again"))</td></tr>
                """
        }.joined(separator: "\n")
        let faults = snapshot.faults.isEmpty
            ? "<p>No faults active.</p>"
            : "<ul>" + snapshot.faults.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let body = """
            <p class="banner"><strong>Identity emulator — not Mailroom.</strong> Stand-in for Microsoft's identity platform and Google OAuth, for tests and demos.</p>
            <h1>Identity emulator</h1>
            <h2>Active faults</h2>
            \(faults)
            <h2>Accounts</h2>
            <p class="hint">Hover a button to see the case it produces in Mailroom.</p>
            <table><tr><th>Account</th><th>Kind</th><th>Controls</th></tr>
            \(rows)
            </table>
            <h2>What each control produces</h2>
            <ul class="hint">
            <li><strong>Change password</strong> → refresh fails, <code>invalid_grant</code> AADSTS50173 (Google: "Token has been expired or revoked.") → Mailroom shows «Reauthorization required» / «Your Microsoft Office 365 credentials have expired. Please sign in again.»</li>
            <li><strong>Admin revokes sessions</strong> → <code>invalid_grant</code> AADSTS50173 → «Reauthorization required»</li>
            <li><strong>Expire by inactivity</strong> → <code>invalid_grant</code> AADSTS700082 → «Reauthorization required»</li>
            <li><strong>Revoke consent</strong> → <code>invalid_grant</code> AADSTS65001 (suberror consent_required) → «Reauthorization required»</li>
            <li><strong>Require MFA</strong> → <code>interaction_required</code> AADSTS50076 → «Reauthorization required»; signing in again clears it</li>
            <li><strong>Disable IMAP / SMTP</strong> → Dovecot rejects even fresh tokens for that protocol → an admin-configuration problem, not re-authorization</li>
            <li><strong>Expire client secret</strong> → 401 <code>invalid_client</code> AADSTS7000222 → app-registration alarm for the admin</li>
            <li><strong>Token endpoint outage / throttling</strong> → 503 / 429 + Retry-After → Mailroom retries quietly</li>
            <li><strong>Introspection outage</strong> → Dovecot answers [UNAVAILABLE] / 454 4.7.0 → transient, no re-authorization</li>
            </ul>
            <h2>Clients</h2>
            <table><tr><th>Client id</th><th>Provider</th><th>Redirect URIs</th><th>Controls</th></tr>
            \(clientRows)
            </table>
            <h2>Provider-wide</h2>
            <p>\(controlForm("tokenEndpointOutage", [("mode", "unavailable")], "Token endpoint outage (503)", "Token endpoint answers 503 temporarily_unavailable → Mailroom retries with backoff; no re-authorization"))
            \(controlForm("tokenEndpointOutage", [("mode", "throttled"), ("retryAfter", "30")], "Throttle token endpoint (429, Retry-After 30)", "Token endpoint answers 429 with Retry-After → Mailroom waits and retries"))
            \(controlForm("tokenEndpointOutage", [("mode", "none")], "End token endpoint outage", "Token endpoint normal again"))</p>
            <p>\(controlForm("introspectionOutage", [("on", "true")], "Introspection outage (503)", "Dovecot answers [UNAVAILABLE] / 454 4.7.0 → Mailroom treats it as transient"))
            \(controlForm("introspectionOutage", [("on", "false")], "End introspection outage", "Introspection normal again"))</p>
            <p>\(controlForm("setAccessTokenLifetime", [("seconds", "120")], "Access tokens live 2 minutes", "expires_in=120 for new tokens → Mailroom refreshes often"))
            \(controlForm("setAccessTokenLifetime", [("seconds", "3600")], "Access tokens live 1 hour (default)", "expires_in=3600"))
            \(controlForm("clearFaults", [], "Clear all faults", "Everything back to normal (killed tokens stay dead)"))</p>
            <p class="hint">Access-token lifetime now: \(snapshot.accessTokenLifetime) s. JSON state: <a href="/emulator/state">/emulator/state</a></p>
            """
        return layout(title: "Identity emulator — not Mailroom", body: body)
    }
}
