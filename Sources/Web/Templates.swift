/// The page templates (Mustache). Kept in code so the binary carries them wherever it is installed.
enum Templates {
    static let layout = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Mailroom</title>
    <style>
    :root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --accent:#2f6fde; --ok:#1d7a46; --warn:#a35d00; --bad:#b42318; }
    * { box-sizing: border-box; }
    body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
    header.top { background:#fff; border-bottom:1px solid var(--line); padding:0 24px; display:flex; align-items:center; gap:24px; height:56px; }
    header.top .brand { font-weight:700; letter-spacing:.2px; color:var(--ink); text-decoration:none; }
    header.top nav a { color:var(--muted); text-decoration:none; margin-right:18px; }
    header.top nav a.active { color:var(--ink); font-weight:600; }
    main { max-width:1100px; margin:24px auto; padding:0 24px; }
    h1 { font-size:22px; margin:0 0 4px; }
    .sub { color:var(--muted); margin:0 0 20px; }
    .crumbs { color:var(--muted); font-size:13px; margin-bottom:6px; }
    .crumbs a { color:var(--muted); }
    table.list { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; overflow:hidden; }
    table.list th, table.list td { text-align:left; padding:10px 14px; border-bottom:1px solid var(--line); vertical-align:top; }
    table.list th { font-size:12px; text-transform:uppercase; letter-spacing:.5px; color:var(--muted); background:#fafbfc; }
    table.list tr:last-child td { border-bottom:0; }
    table.list a { color:var(--accent); text-decoration:none; }
    .num { color:var(--muted); font-variant-numeric:tabular-nums; }
    .muted { color:var(--muted); }
    td.muted { white-space:nowrap; }
    .state { display:inline-block; padding:2px 8px; border-radius:999px; font-size:12px; font-weight:600; background:#eef1f5; color:var(--muted); }
    .state.connected { background:#e3f4ea; color:var(--ok); }
    .state.temporarily_failing { background:#fff4e0; color:var(--warn); }
    .state.reauthorization_required, .state.migration_required, .state.action_needed { background:#fde8e7; color:var(--bad); }
    .problem { margin-top:6px; font-size:13px; }
    .problem .fix { color:var(--muted); }
    .card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin-bottom:16px; }
    .msg header { display:flex; justify-content:space-between; gap:12px; border-bottom:1px solid var(--line); padding-bottom:8px; margin-bottom:12px; }
    .msg .who { font-weight:600; }
    .msg .meta { color:var(--muted); font-size:13px; }
    .msg pre.body { white-space:pre-wrap; word-wrap:break-word; font: 14px/1.55 ui-monospace, SFMono-Regular, Menlo, monospace; margin:0; }
    .msg iframe { width:100%; min-height:320px; border:1px solid var(--line); border-radius:6px; background:#fff; }
    .msg details { margin-top:10px; }
    .msg.reply { border-left:4px solid #2f6fdf; }
    .delivery { font-size:13px; margin-top:10px; }
    .delivery.failed { color:#b42318; font-weight:600; }
    .delivery.sent { color:#127a3a; }
    form.reply textarea { width:100%; min-height:140px; box-sizing:border-box; font:14px/1.5 system-ui, sans-serif; padding:8px; border:1px solid var(--line); border-radius:6px; }
    form.reply button { margin-top:8px; padding:8px 16px; border-radius:6px; border:1px solid #2f6fdf; background:#2f6fdf; color:#fff; font-weight:600; cursor:pointer; }
    .error { color:#b42318; }
    .attachments { margin:12px 0 0; padding:0; list-style:none; display:flex; flex-wrap:wrap; gap:8px; }
    .attachments a { display:inline-block; border:1px solid var(--line); border-radius:6px; padding:4px 10px; font-size:13px; color:var(--ink); text-decoration:none; background:#fafbfc; }
    .defects { color:var(--warn); font-size:13px; margin-top:10px; }
    .empty { background:#fff; border:1px dashed var(--line); border-radius:8px; padding:32px; text-align:center; color:var(--muted); }
    dl.kv { display:grid; grid-template-columns: 180px 1fr; gap:6px 16px; margin:0; }
    dl.kv dt { color:var(--muted); }
    dl.kv dd { margin:0; }
    .pager { margin-top:14px; display:flex; gap:12px; }
    .pager a { color:var(--accent); }
    code { background:#eef1f5; padding:1px 5px; border-radius:4px; font-size:13px; }
    </style>
    </head>
    <body>
    <header class="top">
      <a class="brand" href="/tickets">Mailroom</a>
      <nav>
        <a href="/tickets" class="{{#nav_tickets}}active{{/nav_tickets}}">Tickets</a>
        <a href="/admin/channels/email" class="{{#nav_admin}}active{{/nav_admin}}">Admin › Channels › Email</a>
      </nav>
    </header>
    <main>
    {{{body}}}
    </main>
    </body>
    </html>
    """#

    static let tickets = #"""
    <h1>Tickets</h1>
    <p class="sub">{{total}} ticket{{^one}}s{{/one}}, newest activity first.</p>
    {{#has_tickets}}
    <table class="list" id="tickets">
      <thead><tr><th>#</th><th>Subject</th><th>Requester</th><th>Messages</th><th>Last message</th></tr></thead>
      <tbody>
      {{#tickets}}
        <tr><td class="num">{{number}}</td><td><a href="/tickets/{{number}}">{{subject}}</a></td><td>{{requester}}</td><td class="num">{{message_count}}</td><td class="muted">{{last_message_at}}</td></tr>
      {{/tickets}}
      </tbody>
    </table>
    <div class="pager">{{#prev}}<a href="/tickets?page={{prev}}">‹ Newer</a>{{/prev}}{{#next}}<a href="/tickets?page={{next}}">Older ›</a>{{/next}}</div>
    {{/has_tickets}}
    {{^has_tickets}}
    <div class="empty">No tickets yet. Mail to a connected support address becomes a ticket here. Add a mailbox under <a href="/admin/channels/email">Admin › Channels › Email</a>.</div>
    {{/has_tickets}}
    """#

    static let ticket = #"""
    <div class="crumbs"><a href="/tickets">Tickets</a> › #{{number}}</div>
    <h1>{{subject}}</h1>
    <p class="sub">#{{number}} · {{requester}} · {{message_count}} message{{^one}}s{{/one}} · {{status}}</p>
    {{#messages}}
    <article class="card msg{{#outgoing}} reply{{/outgoing}}" id="message-{{id}}">
      <header>
        <div><div class="who">{{from}}</div><div class="meta">To: {{to}}{{#cc}} · Cc: {{cc}}{{/cc}}</div><div class="meta">{{subject}}</div></div>
        <div class="meta">{{received_at}}</div>
      </header>
      <pre class="body">{{text_body}}</pre>
      {{#html_srcdoc}}
      <details><summary>Show formatted (HTML) version</summary>
        <iframe sandbox="" referrerpolicy="no-referrer" title="HTML version of the message" srcdoc="{{html_srcdoc}}"></iframe>
      </details>
      {{/html_srcdoc}}
      {{#has_attachments}}
      <ul class="attachments">
        {{#attachments}}<li><a href="/tickets/{{number}}/messages/{{message_id}}/attachments/{{index}}">📎 {{filename}} <span class="muted">({{size}}, {{content_type}}{{#inline}}, inline{{/inline}})</span></a></li>{{/attachments}}
      </ul>
      {{/has_attachments}}
      {{#has_defects}}<div class="defects">Parts of this email were malformed and shown as well as they could be read: {{defects}}</div>{{/has_defects}}
      {{#automatic}}<div class="delivery" id="automatic-{{id}}">{{automatic}} — sent by a machine; Mailroom never answers it automatically.</div>{{/automatic}}
      {{#delivery}}<div class="delivery {{state}}" id="delivery-{{id}}">{{text}}</div>{{/delivery}}
    </article>
    {{/messages}}
    <section class="card">
      <form class="reply" method="post" action="/tickets/{{number}}/replies">
        <label for="reply-text"><strong>Reply to {{requester}}</strong>{{#from}} <span class="muted">from {{from}}</span>{{/from}}</label>
        {{#reply_error}}<p class="error" id="reply-error">{{reply_error}}</p>{{/reply_error}}
        <textarea id="reply-text" name="text" required>{{reply_text}}</textarea>
        <button type="submit">Send reply</button>
      </form>
    </section>
    """#

    static let channels = #"""
    <div class="crumbs">Admin › Channels</div>
    <h1>Email</h1>
    <p class="sub">Support emails connected to Mailroom, with the state of each direction.</p>
    {{#has_mailboxes}}
    <table class="list" id="mailboxes">
      <thead><tr><th>Support email</th><th>Mail server</th><th>Usage</th><th>Incoming</th><th>Last fetch</th></tr></thead>
      <tbody>
      {{#mailboxes}}
      <tr id="mailbox-{{id}}">
        <td><a href="/admin/channels/email/{{id}}">{{email}}</a><div class="muted">{{name}}</div></td>
        <td>{{provider}}<div class="muted">{{server}}</div></td>
        <td>{{usage}}{{#delete_after_fetch}}<div class="muted">Deletes after fetching</div>{{/delete_after_fetch}}</td>
        <td><span class="state {{state}}">{{state_label}}</span>
          {{#cause}}<div class="problem">{{cause}} <span class="fix">{{fix}}</span></div>{{/cause}}</td>
        <td class="muted">{{last_fetch}}</td>
      </tr>
      {{/mailboxes}}
      </tbody>
    </table>
    {{/has_mailboxes}}
    {{^has_mailboxes}}
    <div class="empty">No support email yet. Add one with <code>mailroom mailbox add</code> or <code>POST /api/v1/mailboxes</code>.</div>
    {{/has_mailboxes}}
    """#

    static let mailbox = #"""
    <div class="crumbs"><a href="/admin/channels/email">Admin › Channels › Email</a> › {{email}}</div>
    <h1>{{email}}</h1>
    <p class="sub">{{name}} · {{provider}} · {{usage}}</p>
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Incoming</h2>
      <dl class="kv">
        <dt>State</dt><dd><span class="state {{state}}" id="incoming-state">{{state_label}}</span></dd>
        {{#cause}}<dt>What happened</dt><dd id="incoming-cause">{{cause}}</dd>{{/cause}}
        {{#fix}}<dt>What to do</dt><dd>{{fix}}</dd>{{/fix}}
        {{#detail}}<dt>Server said</dt><dd><code>{{detail}}</code></dd>{{/detail}}
        <dt>Server</dt><dd>{{server}}</dd>
        <dt>Username</dt><dd>{{username}}</dd>
        <dt>Signs in with</dt><dd id="incoming-auth">{{auth}}</dd>
        <dt>Folder</dt><dd>{{folder}}</dd>
        <dt>After fetching</dt><dd>{{after_fetch}}</dd>
        <dt>Last fetch</dt><dd>{{last_fetch}}</dd>
      </dl>
    </section>
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Outgoing</h2>
      <dl class="kv">
        <dt>Replies leave through</dt><dd id="outgoing-server">{{outgoing}}</dd>
      </dl>
    </section>
    <section class="card">
      <h2 style="font-size:16px;margin:0 0 10px">Activity</h2>
      {{#has_activity}}
      <table class="list"><tbody>
      {{#activity}}<tr><td class="muted" style="white-space:nowrap;width:1%">{{at}}</td><td>{{text}}</td></tr>{{/activity}}
      </tbody></table>
      {{/has_activity}}
      {{^has_activity}}<p class="muted">Nothing yet.</p>{{/has_activity}}
    </section>
    """#

    static let notFound = #"""
    <h1>Not found</h1>
    <p class="sub">{{message}}</p>
    """#

    static let signInFailed = #"""
    <div class="crumbs"><a href="/admin/channels/email">Admin › Channels › Email</a> › Sign-in</div>
    <h1>{{heading}}</h1>
    <section class="card">
      <dl class="kv">
        <dt>What happened</dt><dd id="signin-cause">{{cause}}</dd>
        <dt>What to do</dt><dd id="signin-fix">{{fix}}</dd>
        {{#detail}}<dt>Details</dt><dd><code>{{detail}}</code></dd>{{/detail}}
      </dl>
    </section>
    <p>Nothing was saved. <a href="/admin/channels/email">Back to Email settings</a></p>
    """#
}
