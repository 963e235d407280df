/// The OpenAPI 3.1 description of Mailroom's JSON API, served at `GET /api/openapi.yaml`.
/// Keep it in step with ``APIController`` and ``APIResources``.
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.1.0
info:
  title: Mailroom API
  version: "1.0"
  summary: The email channel of a helpdesk — support mailboxes, their connection health, and tickets.
  description: |
    JSON in and out, `snake_case` keys, ISO 8601 dates (UTC).

    **Who may call.** Every `/api/v1` path needs a Mailroom user. Scripts send HTTP Basic credentials
    (the email and password of a Mailroom user). A browser that signed in on `/signin` sends the
    `mailroom_session` cookie and, on every request that changes something (POST, DELETE), the
    `X-CSRF-Token` header with the token from `GET /api/v1/me`. Mailbox paths (`/api/v1/mailboxes…`)
    are for admins only; agents get 403. After five wrong passwords for one address within 15 minutes
    (on the API or the sign-in page), that address gets 429 for 15 minutes.

    **Secrets are write-only.** Passwords are accepted in requests, sealed, and never returned in any
    response, error or log.

    **Errors** are a JSON object with a sentence (`error`) and the fields at fault (`problems`). When a
    connection test fails, the error also says what the server answered, judged the same way as on the
    Email settings pages: `state`, `state_label`, `cause`, `fix` and `detail` (the server's own words and
    codes). Nothing is stored or changed when a request is refused.
servers:
  - url: /
security:
  - basicAuth: []
  - sessionCookie: []
tags:
  - name: Account
  - name: Mailboxes
    description: Support emails (admins only).
  - name: Tickets
  - name: Sign-in
    description: OAuth sign-in pages (browser forms, not JSON).
paths:
  /api/openapi.yaml:
    get:
      operationId: getOpenAPIDocument
      summary: This document
      security: []
      responses:
        "200":
          description: The OpenAPI 3.1 document.
          content:
            application/yaml:
              schema:
                type: string
  /api/v1/me:
    get:
      operationId: getMe
      tags: [Account]
      summary: The signed-in user
      description: |
        Who is calling. Cookie sessions also get `csrf_token`, to send as the `X-CSRF-Token` header on
        POST and DELETE requests; HTTP Basic callers need none and get none.
      responses:
        "200":
          description: The user.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Me" }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /api/v1/mailboxes:
    get:
      operationId: listMailboxes
      tags: [Mailboxes]
      summary: List support emails
      responses:
        "200":
          description: Every mailbox with its health per direction.
          content:
            application/json:
              schema:
                type: object
                required: [mailboxes]
                properties:
                  mailboxes:
                    type: array
                    items: { $ref: "#/components/schemas/Mailbox" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
    post:
      operationId: createMailbox
      tags: [Mailboxes]
      summary: Add a support email (username and password)
      description: |
        Validates the settings, then tests the connection with the password (IMAP: sign in and open the
        folder) when the mailbox fetches mail, and only then stores it. A failed test answers 422 with the
        server's verdict and stores nothing. To add a mailbox with «Sign in with Microsoft» or «Sign in
        with Google», use the `/oauth/start` form instead.
      security:
        - basicAuth: []
        - sessionCookie: []
          csrfToken: []
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/NewMailbox" }
      responses:
        "201":
          description: Tested and stored; fetching starts at once.
          headers:
            Location:
              description: The new mailbox, e.g. `/api/v1/mailboxes/7`.
              schema: { type: string }
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Mailbox" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "409":
          description: A mailbox for this support email already exists.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
        "422": { $ref: "#/components/responses/Unprocessable" }
  /api/v1/mailboxes/test:
    post:
      operationId: testMailbox
      tags: [Mailboxes]
      summary: Test settings and password without storing anything
      description: |
        Takes the same body as `POST /api/v1/mailboxes` and runs the same connection test, but stores
        nothing. Answers 200 whether the test passed or not; 422 only for invalid input.
      security:
        - basicAuth: []
        - sessionCookie: []
          csrfToken: []
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/NewMailbox" }
      responses:
        "200":
          description: The result of the test.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/ConnectionTestResult" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "422":
          description: The settings are invalid; `problems` names each field at fault.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
  /api/v1/mailboxes/{id}:
    parameters:
      - $ref: "#/components/parameters/MailboxID"
    get:
      operationId: getMailbox
      tags: [Mailboxes]
      summary: One support email
      responses:
        "200":
          description: The mailbox.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Mailbox" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
    delete:
      operationId: deleteMailbox
      tags: [Mailboxes]
      summary: Remove a support email
      description: Stops fetching and sending for it. Its tickets stay.
      security:
        - basicAuth: []
        - sessionCookie: []
          csrfToken: []
      responses:
        "204":
          description: Removed.
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /api/v1/mailboxes/{id}/health:
    parameters:
      - $ref: "#/components/parameters/MailboxID"
    get:
      operationId: getMailboxHealth
      tags: [Mailboxes]
      summary: Connection health per direction
      description: |
        The state of each direction that goes through the mailbox's own server, as the admin sees it on
        the Email settings page: a Microsoft mailbox still on Basic Auth shows `migration_required` even
        before the background check recorded it.
      responses:
        "200":
          description: The health.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/MailboxHealth" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /api/v1/mailboxes/{id}/password:
    parameters:
      - $ref: "#/components/parameters/MailboxID"
    post:
      operationId: replaceMailboxPassword
      tags: [Mailboxes]
      summary: Enter the mailbox's password again (reauthorization)
      description: |
        For a mailbox that signs in with a password («Reauthorization required» after the password
        changed or expired). The new password is tested first; if the server refuses it, nothing changes
        and the answer is 422 with the server's verdict. On success the stored password is replaced, the
        state is cleared and fetching resumes at once, where it stopped.
      security:
        - basicAuth: []
        - sessionCookie: []
          csrfToken: []
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/NewPassword" }
      responses:
        "200":
          description: The new password works and was saved.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Mailbox" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409":
          description: The mailbox signs in with OAuth, not a password; use the `/oauth/start` form with `mode=reauthorize`.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
        "422": { $ref: "#/components/responses/Unprocessable" }
  /api/v1/tickets:
    get:
      operationId: listTickets
      tags: [Tickets]
      summary: List tickets, newest activity first
      parameters:
        - name: limit
          in: query
          schema: { type: integer, minimum: 1, maximum: 1000, default: 100 }
        - name: offset
          in: query
          schema: { type: integer, minimum: 0, default: 0 }
      responses:
        "200":
          description: A page of tickets (without their messages).
          content:
            application/json:
              schema:
                type: object
                required: [tickets]
                properties:
                  tickets:
                    type: array
                    items: { $ref: "#/components/schemas/Ticket" }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /api/v1/tickets/{number}:
    parameters:
      - name: number
        in: path
        required: true
        schema: { type: integer, format: int64 }
    get:
      operationId: getTicket
      tags: [Tickets]
      summary: One ticket with its messages
      responses:
        "200":
          description: The ticket.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Ticket" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
  /oauth/start:
    post:
      operationId: startOAuthSignIn
      tags: [Sign-in]
      summary: Start «Sign in with Microsoft» or «Sign in with Google» (browser form)
      description: |
        A browser form, not JSON: the admin's browser posts it from the Email settings pages (with the
        session cookie and the `csrf` field) and is sent to the identity provider. After sign-in the
        provider returns the browser to `/oauth/callback`, where Mailroom tests the connection with the new
        token and only then stores the mailbox (or, with `mailbox`, fixes that mailbox's sign-in). Admins
        only.
      security:
        - sessionCookie: []
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: { $ref: "#/components/schemas/OAuthStartForm" }
      responses:
        "303":
          description: Continue at the identity provider's sign-in page.
          headers:
            Location:
              description: The provider's authorization URL.
              schema: { type: string, format: uri }
        "400":
          description: Sign-in with this provider is not configured, or the settings are invalid (an HTML page saying why and what to do).
          content:
            text/html:
              schema: { type: string }
        "403":
          description: Not an admin, or the `csrf` field is missing or wrong (an HTML page).
          content:
            text/html:
              schema: { type: string }
components:
  securitySchemes:
    basicAuth:
      type: http
      scheme: basic
      description: The email and password of a Mailroom user. No CSRF token needed.
    sessionCookie:
      type: apiKey
      in: cookie
      name: mailroom_session
      description: Set by signing in on `/signin`. Requests that change something must also send `X-CSRF-Token`.
    csrfToken:
      type: apiKey
      in: header
      name: X-CSRF-Token
      description: The `csrf_token` of `GET /api/v1/me`; required with the session cookie on POST and DELETE.
  parameters:
    MailboxID:
      name: id
      in: path
      required: true
      schema: { type: integer, format: int64 }
  responses:
    BadRequest:
      description: The body is not JSON of the expected shape.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    Unauthorized:
      description: No or wrong credentials.
      headers:
        WWW-Authenticate:
          description: '`Basic realm="Mailroom", charset="UTF-8"`'
          schema: { type: string }
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    Forbidden:
      description: Not an admin (mailbox paths), or a cookie session without a valid `X-CSRF-Token` on POST or DELETE.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    NotFound:
      description: No such mailbox or ticket.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    Unprocessable:
      description: |
        Invalid input (`problems` names each field), or the connection test failed (`state`, `cause`,
        `fix`, `detail` say what the server answered). Nothing was stored or changed.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
  schemas:
    Error:
      type: object
      required: [error, problems]
      properties:
        error:
          type: string
          description: What went wrong, in a sentence.
        problems:
          type: array
          items: { $ref: "#/components/schemas/Problem" }
        state:
          $ref: "#/components/schemas/HealthState"
          description: After a failed connection test, the state this failure means.
        state_label:
          type: string
        cause:
          type: string
          description: After a failed connection test, why it failed.
        fix:
          type: string
          description: What to do about it.
        detail:
          type: string
          description: The server's or provider's own words and codes (e.g. `[AUTHENTICATIONFAILED]`, AADSTS…).
      examples:
        - error: "The connection test failed: The mail server rejected the username or password for «support@example.com». Nothing was saved."
          problems: []
          state: reauthorization_required
          state_label: Reauthorization required
          cause: The mail server rejected the username or password for «support@example.com».
          fix: Check the username, enter the password again and save. If the password was changed on the mail server, use the new one.
          detail: "LOGIN [AUTHENTICATIONFAILED]: Authentication failed."
    Problem:
      type: object
      required: [field, message]
      properties:
        field:
          type: string
          description: The request field at fault, e.g. `imap_host`.
        message:
          type: string
    Me:
      type: object
      required: [id, email, name, role, role_label, authentication]
      properties:
        id: { type: integer, format: int64 }
        email: { type: string, format: email }
        name: { type: string }
        role: { type: string, enum: [admin, agent] }
        role_label: { type: string }
        authentication:
          type: string
          enum: [session, basic]
        csrf_token:
          type: string
          description: Only for cookie sessions; send it as `X-CSRF-Token` on POST and DELETE.
    NewMailbox:
      type: object
      required: [email, name, password]
      properties:
        email:
          type: string
          format: email
          description: The support email customers write to.
        name:
          type: string
          description: The name shown to customers.
        provider:
          type: string
          enum: [microsoft, google, other]
          default: other
          description: Fills in the server defaults (outlook.office365.com / imap.gmail.com …, unless the operator set others).
        usage:
          type: string
          enum: [incoming, outgoing, both]
          default: incoming
          description: Which directions use your own mail server.
        imap_host: { type: string }
        imap_port: { type: integer, minimum: 1, maximum: 65535 }
        imap_security:
          type: string
          enum: [tls, starttls, none]
        username:
          type: string
          description: The account that signs in; defaults to `email`.
        password:
          type: string
          writeOnly: true
          description: Tested, sealed and never returned.
        folder:
          type: string
          default: INBOX
        delete_after_fetch:
          type: boolean
          default: false
          description: Delete each email from the server once its ticket is stored (incoming and both only).
        smtp_host: { type: string }
        smtp_port: { type: integer, minimum: 1, maximum: 65535 }
        smtp_security:
          type: string
          enum: [tls, starttls, none]
      examples:
        - email: support@example.com
          name: Support
          usage: incoming
          imap_host: imap.example.com
          imap_port: 993
          imap_security: tls
          username: support@example.com
          password: "…"
    NewPassword:
      type: object
      required: [password]
      properties:
        password:
          type: string
          writeOnly: true
    ConnectionTestResult:
      type: object
      required: [ok, tested]
      properties:
        ok:
          type: boolean
        tested:
          type: array
          description: The directions that were tested (`incoming`; the outgoing server is tested with the first reply).
          items: { $ref: "#/components/schemas/Direction" }
        state: { $ref: "#/components/schemas/HealthState" }
        state_label: { type: string }
        cause: { type: string }
        fix: { type: string }
        detail: { type: string }
      examples:
        - ok: true
          tested: [incoming]
        - ok: false
          tested: [incoming]
          state: action_needed
          state_label: Action needed at your provider
          cause: The mail server accepted the sign-in but does not let «support@example.com» open this mailbox.
          fix: Ask your mail provider's administrator to give this account access to the mailbox (or enable IMAP for it).
          detail: "LOGIN [CONTACTADMIN]: Access denied"
    Direction:
      type: string
      enum: [incoming, outgoing]
    HealthState:
      type: string
      enum: [pending, connected, reauthorization_required, migration_required, action_needed, temporarily_failing, paused]
    Health:
      type: object
      required: [state, state_label, label, needs_admin, consecutive_failures]
      properties:
        state: { $ref: "#/components/schemas/HealthState" }
        state_label:
          type: string
          description: The state in the admin's words, e.g. «Reauthorization required».
        label:
          type: string
          description: Same as `state_label` (kept for older clients).
        needs_admin:
          type: boolean
          description: Whether the admin must act before mail flows again.
        cause: { type: string }
        fix: { type: string }
        detail: { type: string }
        last_attempt_at: { type: string, format: date-time }
        last_success_at: { type: string, format: date-time }
        since:
          type: string
          format: date-time
          description: When the current state began.
        consecutive_failures: { type: integer }
    MailboxHealth:
      type: object
      required: [mailbox_id, email, needs_admin]
      properties:
        mailbox_id: { type: integer, format: int64 }
        email: { type: string }
        needs_admin: { type: boolean }
        incoming:
          $ref: "#/components/schemas/Health"
          description: Absent when the mailbox does not fetch mail (outgoing only).
        outgoing:
          $ref: "#/components/schemas/Health"
          description: Absent when replies leave through Mailroom's default outgoing server.
    IMAPServer:
      type: object
      required: [host, port, security, username, folder, authentication]
      properties:
        host: { type: string }
        port: { type: integer }
        security: { type: string, enum: [tls, starttls, none] }
        username: { type: string }
        folder: { type: string }
        authentication:
          type: string
          enum: [password, oauth2]
          description: How it signs in; never the credential itself.
    SMTPServer:
      type: object
      required: [host, port, security, username, authentication]
      properties:
        host: { type: string }
        port: { type: integer }
        security: { type: string, enum: [tls, starttls, none] }
        username: { type: string }
        authentication:
          type: string
          enum: [password, oauth2]
          description: How it signs in; never the credential itself.
    Mailbox:
      type: object
      required: [id, email, name, provider, usage, delete_after_fetch, enabled, health, created_at]
      properties:
        id: { type: integer, format: int64 }
        email: { type: string }
        name: { type: string }
        provider: { type: string, enum: [microsoft, google, other] }
        usage: { type: string, enum: [incoming, outgoing, both] }
        imap: { $ref: "#/components/schemas/IMAPServer" }
        smtp: { $ref: "#/components/schemas/SMTPServer" }
        delete_after_fetch: { type: boolean }
        enabled: { type: boolean }
        health:
          type: object
          description: Health per direction (`incoming`, `outgoing`), for the directions using the mailbox's own server.
          propertyNames: { $ref: "#/components/schemas/Direction" }
          additionalProperties: { $ref: "#/components/schemas/Health" }
        created_at: { type: string, format: date-time }
    Person:
      type: object
      required: [email]
      properties:
        name: { type: string }
        email: { type: string }
    Attachment:
      type: object
      required: [index, filename, content_type, size, is_inline]
      properties:
        index: { type: integer }
        filename: { type: string }
        content_type: { type: string }
        size: { type: integer }
        is_inline: { type: boolean }
        content_id: { type: string }
    Message:
      type: object
      required: [id, from, to, cc, subject, text_body, attachments, received_at, size, defects]
      properties:
        id: { type: integer, format: int64 }
        from: { $ref: "#/components/schemas/Person" }
        to:
          type: array
          items: { $ref: "#/components/schemas/Person" }
        cc:
          type: array
          items: { $ref: "#/components/schemas/Person" }
        subject: { type: string }
        message_id: { type: string }
        text_body: { type: string }
        html_body:
          type: string
          description: Sanitized HTML.
        attachments:
          type: array
          items: { $ref: "#/components/schemas/Attachment" }
        received_at: { type: string, format: date-time }
        sent_at: { type: string, format: date-time }
        size: { type: integer }
        defects:
          type: array
          items: { type: string }
    Ticket:
      type: object
      required: [number, subject, requester, status, message_count, created_at, last_message_at]
      properties:
        number: { type: integer, format: int64 }
        subject: { type: string }
        requester: { $ref: "#/components/schemas/Person" }
        status: { type: string, enum: [open, pending, closed] }
        mailbox_id: { type: integer, format: int64 }
        message_count: { type: integer }
        created_at: { type: string, format: date-time }
        last_message_at: { type: string, format: date-time }
        referred_ticket:
          type: integer
          format: int64
          description: The ticket this ticket's first email named (by [#N] or a Message-ID) but was not added to, because its sender was not part of that conversation.
        messages:
          type: array
          description: Only in `GET /api/v1/tickets/{number}`.
          items: { $ref: "#/components/schemas/Message" }
    OAuthStartForm:
      type: object
      required: [provider, csrf]
      properties:
        provider:
          type: string
          enum: [microsoft, google]
        email:
          type: string
          description: The support email; empty means the account that signs in.
        name:
          type: string
          default: Support
        usage:
          type: string
          enum: [incoming, outgoing, both]
          default: both
        delete_after_fetch:
          type: string
          enum: ["on", "true"]
          description: Present (`on` or `true`) to delete emails from the server after fetching.
        imap_host: { type: string }
        imap_port: { type: integer }
        smtp_host: { type: string }
        smtp_port: { type: integer }
        mailbox:
          type: integer
          format: int64
          description: Fix the sign-in of this existing mailbox instead of adding one.
        mode:
          type: string
          enum: [reauthorize, migrate, switch]
          default: reauthorize
          description: |
            With `mailbox`: `reauthorize` signs the same account in again (its grant expired or was revoked),
            `migrate` moves a Microsoft mailbox from Basic Auth to OAuth, `switch` connects another account or
            provider. The new sign-in is tested before it replaces the old one.
        csrf:
          type: string
          description: The session's CSRF token (the `csrf_token` of `GET /api/v1/me`).
"""#
}
