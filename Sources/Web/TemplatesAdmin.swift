/// The admin's pages: Email settings, a mailbox, *New support email*, signing in, and the reauthorization help.
extension Templates {
    static let channels = #"""
    <div class="crumbs">Admin › Channels</div>
    <div class="row" style="justify-content:space-between;align-items:flex-end">
      <div><h1>Email</h1><p class="sub">Support emails connected to Mailroom, with the state of each direction.</p></div>
      <a class="button" id="new-mailbox" href="/admin/channels/email/new">New support email</a>
    </div>
    {{#has_mailboxes}}
    <table class="list" id="mailboxes">
      <thead><tr><th>Support email</th><th>Mail server</th><th>Account</th><th>Incoming</th><th>Outgoing</th></tr></thead>
      <tbody>
      {{#mailboxes}}
      <tr id="mailbox-{{id}}">
        <td><a href="/admin/channels/email/{{id}}">{{email}}</a><div class="muted">{{name}} · {{usage}}</div>{{#delete_after_fetch}}<div class="muted">Deletes after fetching</div>{{/delete_after_fetch}}</td>
        <td>{{provider}}</td>
        <td>{{account}}</td>
        {{#incoming}}<td class="incoming"><span class="state {{state}}">{{state_label}}</span><div class="muted">{{last}}</div>
          {{#cause}}<div class="problem">{{cause}} <span class="fix">{{fix}}</span></div>{{/cause}}</td>{{/incoming}}
        {{#outgoing}}<td class="outgoing"><span class="state {{state}}">{{state_label}}</span><div class="muted">{{last}}</div>
          {{#cause}}<div class="problem">{{cause}} <span class="fix">{{fix}}</span></div>{{/cause}}</td>{{/outgoing}}
      </tr>
      {{/mailboxes}}
      </tbody>
    </table>
    {{/has_mailboxes}}
    {{^has_mailboxes}}
    <div class="empty">No support email yet. <a href="/admin/channels/email/new">Add one</a>, or use <code>mailroom mailbox add</code> or <code>POST /api/v1/mailboxes</code>.</div>
    {{/has_mailboxes}}
    """#

    static let mailbox = #"""
    <div class="crumbs"><a href="/admin/channels/email">Admin › Channels › Email</a> › {{provider}}</div>
    <h1>{{email}}</h1>
    <p class="sub">{{name}} · {{provider}} · {{usage}}</p>
    {{#notice}}<div class="notice" id="confirmation">{{notice}}</div>{{/notice}}
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Incoming</h2>
      {{#incoming}}
      <dl class="kv">
        <dt>State</dt><dd><span class="state {{state}}" id="incoming-state">{{state_label}}</span></dd>
        {{#cause}}<dt>What happened</dt><dd id="incoming-cause">{{cause}}</dd>{{/cause}}
        {{#fix}}<dt>What to do</dt><dd id="incoming-fix">{{fix}}</dd>{{/fix}}
        {{#detail}}<dt>Server said</dt><dd><code id="incoming-detail">{{detail}}</code></dd>{{/detail}}
        <dt>Last fetch</dt><dd>{{last}}</dd>
      </dl>
      {{/incoming}}
      <dl class="kv" style="margin-top:6px">
        <dt>Server</dt><dd>{{server}}</dd>
        <dt>Username</dt><dd>{{username}}</dd>
        <dt>Signs in with</dt><dd id="incoming-auth">{{auth}}</dd>
        <dt>Folder</dt><dd>{{folder}}</dd>
        <dt>After fetching</dt><dd>{{after_fetch}}</dd>
      </dl>
    </section>
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Outgoing</h2>
      {{#outgoing_state}}
      <dl class="kv">
        <dt>State</dt><dd><span class="state {{state}}" id="outgoing-state">{{state_label}}</span></dd>
        {{#cause}}<dt>What happened</dt><dd id="outgoing-cause">{{cause}}</dd>{{/cause}}
        {{#fix}}<dt>What to do</dt><dd>{{fix}}</dd>{{/fix}}
        {{#detail}}<dt>Server said</dt><dd><code>{{detail}}</code></dd>{{/detail}}
        <dt>Last send</dt><dd>{{last}}</dd>
      </dl>
      {{/outgoing_state}}
      <dl class="kv" style="margin-top:6px">
        <dt>Replies leave through</dt><dd id="outgoing-server">{{outgoing}}</dd>
      </dl>
    </section>
    <section class="card" id="authentication">
      <h2 style="font-size:16px;margin:0 0 10px">Authentication</h2>
      {{#oauth_action}}
      <form method="post" action="/oauth/start" id="oauth-form">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mailbox" value="{{id}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <input type="hidden" name="provider" value="{{provider}}">
        <button type="submit" class="button" id="oauth-sign-in">{{label}}</button>
        <p class="hint">{{hint}}</p>
      </form>
      {{/oauth_action}}
      {{#uses_password}}
      <form method="post" action="/admin/channels/email/{{id}}/password" class="stack" id="password-form">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#password_error}}<div class="failure" id="password-error">{{password_error}} <span class="fix">{{password_fix}}</span>{{#password_detail}} <code>{{password_detail}}</code>{{/password_detail}}</div>{{/password_error}}
        <label for="password">Password of {{username}}</label>
        <input type="password" id="password" name="password" autocomplete="new-password" required>
        <button type="submit" class="button secondary" id="password-save">Save</button>
        <p class="hint">Mailroom tests the password before it replaces the stored one.</p>
      </form>
      {{/uses_password}}
      {{#can_switch}}
      <details style="margin-top:14px" id="switch-account">
        <summary>Switch account</summary>
        <form method="post" action="/oauth/start" class="stack" id="switch-form">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <input type="hidden" name="mailbox" value="{{id}}">
          <input type="hidden" name="mode" value="switch">
          <p class="hint">Connect {{email}} through another account or provider. The new sign-in is tested before it replaces the current one; nothing changes if the test fails. The current settings stay visible under «Others».</p>
          <label for="switch-provider">Mail server</label>
          <select id="switch-provider" name="provider">{{#switch_providers}}<option value="{{value}}">{{label}}</option>{{/switch_providers}}</select>
          <label for="switch-imap-host">IMAP server</label><input type="text" id="switch-imap-host" name="imap_host" value="{{imap_host}}">
          <label for="switch-imap-port">IMAP port</label><input type="number" id="switch-imap-port" name="imap_port" value="{{imap_port}}">
          <label for="switch-imap-security">IMAP security</label>
          <select id="switch-imap-security" name="imap_security"><option value="tls">SSL/TLS</option><option value="starttls">STARTTLS</option></select>
          <label for="switch-smtp-host">SMTP server</label><input type="text" id="switch-smtp-host" name="smtp_host" value="{{smtp_host}}">
          <label for="switch-smtp-port">SMTP port</label><input type="number" id="switch-smtp-port" name="smtp_port" value="{{smtp_port}}">
          <button type="submit" class="button secondary" id="switch-sign-in">Sign in with the new account</button>
        </form>
      </details>
      {{/can_switch}}
    </section>
    {{#others}}
    <section class="card" id="others">
      <h2 style="font-size:16px;margin:0 0 10px">Others</h2>
      <p class="hint">The settings this mailbox used until {{replaced_at}}, kept for reference. Read-only; no password is kept.</p>
      <dl class="kv">
        <dt>Mail server</dt><dd>{{provider}}</dd>
        <dt>Incoming server</dt><dd>{{incoming}}</dd>
        <dt>Outgoing server</dt><dd>{{outgoing}}</dd>
        <dt>Username</dt><dd id="others-username">{{username}}</dd>
        <dt>Signed in with</dt><dd>{{authentication}}</dd>
      </dl>
    </section>
    {{/others}}
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Activity</h2>
      {{#has_activity}}
      <table class="list" id="activity"><tbody>
      {{#activity}}<tr><td class="muted" style="white-space:nowrap;width:1%">{{at}}</td><td>{{text}}</td></tr>{{/activity}}
      </tbody></table>
      {{/has_activity}}
      {{^has_activity}}<p class="muted">Nothing yet.</p>{{/has_activity}}
    </section>
    {{#fetches}}
    <form method="post" action="/admin/channels/email/{{id}}/{{#paused}}resume{{/paused}}{{^paused}}pause{{/paused}}" style="display:inline-block;margin-right:12px">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="button secondary" id="pause-toggle">{{#paused}}Resume fetching{{/paused}}{{^paused}}Pause fetching{{/paused}}</button>
    </form>
    {{/fetches}}
    <form method="post" action="/admin/channels/email/{{id}}/delete" style="display:inline-block">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="button danger" id="delete-mailbox">Remove this support email</button>
      <span class="hint">Its tickets stay.</span>
    </form>
    """#

    static let newMailbox = #"""
    <div class="crumbs"><a href="/admin/channels/email">Admin › Channels › Email</a> › New support email</div>
    <h1>New support email</h1>
    {{#error_cause}}<div class="failure" id="form-error">{{error_cause}} {{#error_fix}}<span class="fix">{{error_fix}}</span>{{/error_fix}}{{#error_detail}} <code>{{error_detail}}</code>{{/error_detail}}<div class="hint">Nothing was saved.</div></div>{{/error_cause}}
    <form method="post" action="/admin/channels/email" class="stack card" id="mailbox-form"{{#provider_defaults}} data-{{provider}}-imap-host="{{imap_host}}" data-{{provider}}-imap-port="{{imap_port}}" data-{{provider}}-imap-security="{{imap_security}}" data-{{provider}}-smtp-host="{{smtp_host}}" data-{{provider}}-smtp-port="{{smtp_port}}" data-{{provider}}-smtp-security="{{smtp_security}}"{{/provider_defaults}}>
      <input type="hidden" name="csrf" value="{{csrf}}">
      <label for="email">Your support email</label>
      <input type="email" id="email" name="email" value="{{email}}" placeholder="support@example.com">
      <p class="hint">For a shared mailbox, its primary address; sign in with an account that has access to it.</p>
      <label for="name">Name</label>
      <input type="text" id="name" name="name" value="{{name}}">
      <fieldset><legend>Mail server</legend>
        {{#providers}}<label class="choice"><input type="radio" name="provider" value="{{value}}" {{#checked}}checked{{/checked}}> {{label}}</label>{{/providers}}
      </fieldset>
      <fieldset><legend>Use your own mail server for</legend>
        {{#usages}}<label class="choice"><input type="radio" name="usage" value="{{value}}" {{#checked}}checked{{/checked}}> {{label}}</label>{{/usages}}
        <label class="choice" style="display:block;margin-top:8px"><input type="checkbox" id="delete_after_fetch" name="delete_after_fetch" {{#delete_after_fetch}}checked{{/delete_after_fetch}}> Delete emails from server after fetching</label>
      </fieldset>
      <fieldset><legend>Server settings</legend>
        <div class="row">
          <div><label for="imap_host">IMAP server</label><input type="text" id="imap_host" name="imap_host" value="{{imap_host}}"></div>
          <div><label for="imap_port">Port</label><input type="number" id="imap_port" name="imap_port" value="{{imap_port}}"></div>
          <div><label for="imap_security">Security</label><select id="imap_security" name="imap_security">{{#imap_securities}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/imap_securities}}</select></div>
        </div>
        <div class="row">
          <div><label for="smtp_host">SMTP server</label><input type="text" id="smtp_host" name="smtp_host" value="{{smtp_host}}"></div>
          <div><label for="smtp_port">Port</label><input type="number" id="smtp_port" name="smtp_port" value="{{smtp_port}}"></div>
          <div><label for="smtp_security">Security</label><select id="smtp_security" name="smtp_security">{{#smtp_securities}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/smtp_securities}}</select></div>
        </div>
      </fieldset>
      <fieldset><legend>Authentication</legend>
        <div id="oauth-buttons">
          {{#oauth_microsoft}}<button type="submit" class="button" id="sign-in-microsoft" formaction="/oauth/start?provider=microsoft">Sign in with Microsoft</button>{{/oauth_microsoft}}
          {{#oauth_google}}<button type="submit" class="button" id="sign-in-google" formaction="/oauth/start?provider=google">Sign in with Google</button>{{/oauth_google}}
          {{#oauth_other}}<button type="submit" class="button" id="sign-in-{{key}}" formaction="/oauth/start?provider={{key}}">{{label}}</button>{{/oauth_other}}
          <p class="hint">Mailroom tests the connection with the new sign-in before it saves anything.</p>
        </div>
        <div id="password-fields">
          <label for="username">Username</label>
          <input type="text" id="username" name="username" value="{{username}}" placeholder="the support email, if empty">
          <label for="folder">Folder</label>
          <input type="text" id="folder" name="folder" value="{{folder}}">
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="new-password">
          <button type="submit" class="button secondary" id="save">Save</button>
          <p class="hint">Save tests the connection first and stores nothing if it fails.</p>
        </div>
      </fieldset>
    </form>
    <script src="/static/mailbox-form.js"></script>
    """#

    /// Pre-fills the provider's servers on *New support email* when the provider changes; the server applies the same
    /// defaults without it. The servers come from the form's `data-<provider>-…` attributes, which the server fills
    /// from the operator's configuration (national clouds, the demo), so nothing here names a host.
    /// Served as a file, because the pages' Content-Security-Policy allows no inline script.
    static let mailboxFormScript = #"""
    (function () {
      var form = document.getElementById("mailbox-form");
      if (!form) return;
      function set(id, value) {
        var field = document.getElementById(id);
        if (field) field.value = value;
      }
      form.addEventListener("change", function (event) {
        if (event.target.name !== "provider") return;
        var data = form.dataset, provider = event.target.value;
        var known = data[provider + "ImapHost"] !== undefined;
        set("imap_host", known ? data[provider + "ImapHost"] : "");
        set("imap_port", known ? data[provider + "ImapPort"] : 993);
        set("imap_security", known ? data[provider + "ImapSecurity"] : "tls");
        set("smtp_host", known ? data[provider + "SmtpHost"] : "");
        set("smtp_port", known ? data[provider + "SmtpPort"] : 587);
        set("smtp_security", known ? data[provider + "SmtpSecurity"] : "starttls");
      });
    })();
    """#

    static let signIn = #"""
    <div style="max-width:420px;margin:40px auto">
    <h1>Sign in to Mailroom</h1>
    {{#no_users}}<div class="failure" id="no-users">No one can sign in yet. Create the first admin on the server: <code>mailroom admin create --email you@example.com</code></div>{{/no_users}}
    {{#error}}<div class="failure" id="signin-error">{{error}}</div>{{/error}}
    <form method="post" action="/signin" class="stack card" id="signin-form">
      <input type="hidden" name="form_token" value="{{form_token}}">
      <input type="hidden" name="next" value="{{next}}">
      <label for="signin-email">Email</label>
      <input type="email" id="signin-email" name="email" value="{{email}}" autocomplete="username" required>
      <label for="signin-password">Password</label>
      <input type="password" id="signin-password" name="password" autocomplete="current-password" required>
      <button type="submit" class="button" id="signin-submit">Sign in</button>
    </form>
    </div>
    """#

    static let signInFailed = #"""
    <div class="crumbs"><a href="/admin/channels/email">Admin › Channels › Email</a> › Sign-in</div>
    <h1>{{heading}}</h1>
    <section class="card">
      <dl class="kv">
        <dt>What happened</dt><dd id="signin-cause">{{cause}}</dd>
        {{#expected}}<dt>Expected account</dt><dd id="expected-account">{{expected}}</dd>{{/expected}}
        {{#signed_in}}<dt>Signed in as</dt><dd id="signed-in-account">{{signed_in}}</dd>{{/signed_in}}
        <dt>What to do</dt><dd id="signin-fix">{{fix}}</dd>
        {{#detail}}<dt>Details</dt><dd><code>{{detail}}</code></dd>{{/detail}}
      </dl>
    </section>
    <p>Nothing was saved. {{#mailbox_id}}<a href="/admin/channels/email/{{mailbox_id}}">Back to the mailbox</a>{{/mailbox_id}}{{^mailbox_id}}<a href="/admin/channels/email">Back to Email settings</a>{{/mailbox_id}}</p>
    """#

    static let helpReauthorize = #"""
    <div class="crumbs">Help</div>
    <h1>Reauthorize your Email settings</h1>
    <p class="sub">When Mailroom cannot sign in to a support mailbox any more, it stops fetching or sending for it, says why on the mailbox, and shows a banner to admins until it is fixed. No mail is lost meanwhile: it waits on your mail server and is fetched once the mailbox is reauthorized.</p>
    <section class="card" id="case-1">
      <h2 style="font-size:16px;margin:0 0 8px">1. Migration from Basic Auth (Microsoft Office 365)</h2>
      <p>Microsoft has turned off sign-in with a username and password (Basic Auth) for Exchange Online. Mailroom marks Microsoft mailboxes that still use one as «Migration to OAuth required». Open <a href="/admin/channels/email">Admin › Channels › Email</a>, open the mailbox and click «Sign in with Microsoft». After sign-in the Basic Auth configuration is replaced by the OAuth one; fetching continues where it stopped. The old settings stay visible under «Others». If the test after sign-in fails, enable IMAP and Authenticated SMTP for the mailbox in the Microsoft 365 admin center.</p>
    </section>
    <section class="card" id="case-2">
      <h2 style="font-size:16px;margin:0 0 8px">2. Reauthorization required: a password (any mail server)</h2>
      <p>The password expired or was changed on the mail server (for Gmail: the app password was revoked). The mailbox shows «Reauthorization required» and names the account. Check the username, enter the password again and click Save; Mailroom tests it before saving, and fetching resumes where it stopped.</p>
    </section>
    <section class="card" id="case-3">
      <h2 style="font-size:16px;margin:0 0 8px">3. An OAuth sign-in expired or was revoked</h2>
      <p>This happens when the sign-in was revoked, the account's password changed, or the sign-in went unused for too long. The mailbox shows «Reauthorization required» and says so in its provider's words; the button on the mailbox's page fixes it with one sign-in as the same account:</p>
      <ul>
        <li><strong>Microsoft Office 365</strong>: «Your Microsoft Office 365 credentials have expired. Please sign in again.» Click «Sign in with Microsoft».</li>
        <li><strong>Gmail</strong>: «Your Gmail credentials have expired. Please sign in again.» Click «Sign in with Google».</li>
        <li><strong>Other</strong> (your organization's OpenID Connect provider{{#generic}}: {{names}}{{/generic}}): «Your sign-in for … has expired. Please sign in again.» Click «Sign in with» followed by your provider's name.</li>
      </ul>
      <p>If the provider refuses for a reason a new sign-in cannot fix (a policy, a disabled account, an expired app secret), the mailbox shows «Action needed at your provider» with the provider's own code, and who has to act.</p>
    </section>
    <p class="muted">Switching to another account or provider: open the mailbox and use «Switch account». The new sign-in is tested before it replaces the current one.</p>
    """#
}
