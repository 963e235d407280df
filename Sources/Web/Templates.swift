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
    header.top form.who { margin-left:auto; font-size:13px; }
    button.link { background:none; border:0; color:var(--accent); cursor:pointer; font:inherit; padding:0; }
    .banner { background:#fde8e7; color:var(--bad); border-bottom:1px solid #f5c2bf; padding:10px 24px; font-weight:600; }
    .banner a { color:var(--bad); }
    .notice { background:#e3f4ea; color:var(--ok); border:1px solid #b7e1c6; border-radius:8px; padding:10px 14px; margin-bottom:16px; }
    .failure { background:#fde8e7; color:var(--bad); border:1px solid #f5c2bf; border-radius:8px; padding:10px 14px; margin-bottom:16px; }
    .failure .fix { color:var(--ink); font-weight:400; }
    form.stack label { display:block; margin:10px 0 4px; font-weight:600; }
    form.stack input[type=text], form.stack input[type=email], form.stack input[type=password], form.stack input[type=number], form.stack select { width:100%; max-width:420px; padding:7px 9px; border:1px solid var(--line); border-radius:6px; font:inherit; }
    form.stack fieldset { border:1px solid var(--line); border-radius:8px; margin:12px 0; padding:8px 14px 14px; }
    form.stack legend { font-weight:600; padding:0 4px; }
    form.stack .choice { display:inline-block; margin-right:16px; font-weight:400; }
    .button { display:inline-block; margin-top:10px; padding:8px 16px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; font-weight:600; cursor:pointer; text-decoration:none; font-size:14px; }
    .button.secondary { background:#fff; color:var(--accent); }
    .button.danger { background:#fff; color:var(--bad); border-color:var(--bad); }
    .hint { color:var(--muted); font-size:13px; margin:4px 0 0; }
    .row { display:flex; gap:12px; flex-wrap:wrap; }
    </style>
    </head>
    <body>
    <header class="top">
      <a class="brand" href="/tickets">Mailroom</a>
      {{#signed_in}}
      <nav>
        <a href="/tickets" class="{{#nav_tickets}}active{{/nav_tickets}}">Tickets</a>
        {{#is_admin}}<a href="/admin/channels/email" class="{{#nav_admin}}active{{/nav_admin}}">Admin › Channels › Email</a>{{/is_admin}}
      </nav>
      <form class="who" method="post" action="/signout"><input type="hidden" name="csrf" value="{{csrf}}"><span id="current-user">{{user_name}}</span> <span class="muted">· {{user_role}}</span> <button type="submit" class="link">Sign out</button></form>
      {{/signed_in}}
    </header>
    {{#banner}}
    <div class="banner" id="reauthorize-banner" role="alert">Please reauthorize your Email settings. Learn more about it <a href="/help/reauthorize">here</a> or finish the setup in <a href="/admin/channels/email">Email settings</a></div>
    {{/banner}}
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
    <div class="empty">No tickets yet. Mail to a connected support address becomes a ticket here.{{#is_admin}} Add a mailbox under <a href="/admin/channels/email">Admin › Channels › Email</a>.{{/is_admin}}</div>
    {{/has_tickets}}
    """#

    static let ticket = #"""
    <div class="crumbs"><a href="/tickets">Tickets</a> › #{{number}}</div>
    <h1>{{subject}}</h1>
    {{#referred}}<p class="notice" id="referred-ticket">This email named ticket <a href="/tickets/{{referred}}">#{{referred}}</a>, but its sender was not part of that conversation, so Mailroom opened this ticket instead of adding it there.</p>{{/referred}}
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
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="reply-text"><strong>Reply to {{requester}}</strong>{{#from}} <span class="muted">from {{from}}</span>{{/from}}</label>
        <p class="muted" id="reply-recipients">To: <span id="reply-to">{{reply_to}}</span>{{#reply_cc}}<br>Cc: <span id="reply-cc">{{reply_cc}}</span>{{/reply_cc}}</p>
        {{#has_suggested}}<fieldset id="reply-suggested"><legend>Also send to (added by the customer's latest email, not yet part of this conversation)</legend>
        {{#suggested}}<label><input type="checkbox" name="also_cc" value="{{email}}"> {{formatted}}</label><br>{{/suggested}}
        </fieldset>{{/has_suggested}}
        {{#reply_error}}<p class="error" id="reply-error">{{reply_error}}</p>{{/reply_error}}
        <textarea id="reply-text" name="text" required>{{reply_text}}</textarea>
        <button type="submit">Send reply</button>
      </form>
    </section>
    """#

    static let notFound = #"""
    <h1>Not found</h1>
    <p class="sub">{{message}}</p>
    """#
}
