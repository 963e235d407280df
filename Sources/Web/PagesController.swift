import Engine
import Foundation
import Hummingbird
import MIME
import MailroomCore
import Mustache
import Storage

/// The agent's and admin's pages: plain HTML rendered on the server.
struct PagesController: Sendable {
    let dependencies: WebDependencies
    let library: MustacheLibrary
    var store: SQLStore { dependencies.store }
    static let pageSize = 50

    init(dependencies: WebDependencies) throws {
        self.dependencies = dependencies
        var library = MustacheLibrary()
        for (name, text) in [
            ("layout", Templates.layout), ("tickets", Templates.tickets), ("ticket", Templates.ticket),
            ("channels", Templates.channels), ("mailbox", Templates.mailbox), ("not_found", Templates.notFound),
            ("signin_failed", Templates.signInFailed),
        ] {
            library.register(try MustacheTemplate(string: text), named: name)
        }
        self.library = library
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/tickets"]) }
        router.get("tickets", use: ticketList)
        router.get("tickets/:number", use: ticketPage)
        router.post("tickets/:number/replies", use: postReply)
        router.get("tickets/:number/messages/:message/attachments/:index", use: attachment)
        router.get("admin/channels/email", use: channels)
        router.get("admin/channels/email/:id", use: mailboxPage)
    }

    func page(_ template: String, title: String, nav: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> HTMLResponse {
        let body = library.render(context, withTemplate: template) ?? ""
        let html = library.render(["title": title, "body": body, "nav_\(nav)": true], withTemplate: "layout") ?? body
        return HTMLResponse(html: html, status: status)
    }

    func notFound(_ message: String) -> HTMLResponse {
        page("not_found", title: "Not found", nav: "tickets", ["message": message], status: .notFound)
    }

    @Sendable func ticketList(_ request: Request, context: BasicRequestContext) async throws -> HTMLResponse {
        let pageNumber = request.uri.queryParameters["page"].flatMap { Int($0) }.map { min(max($0, 1), 1_000_000) } ?? 1
        let total = try await store.ticketCount()
        let tickets = try await store.tickets(limit: Self.pageSize, offset: (pageNumber - 1) * Self.pageSize)
        let rows: [[String: Any]] = tickets.map { ticket in
            [
                "number": ticket.number.rawValue, "subject": ticket.subject, "requester": ticket.requester.formatted,
                "message_count": ticket.messageCount, "last_message_at": Format.date(ticket.lastMessageAt),
            ]
        }
        var view: [String: Any] = ["tickets": rows, "has_tickets": !rows.isEmpty, "total": total, "one": total == 1]
        if pageNumber > 1 { view["prev"] = pageNumber - 1 }
        if pageNumber * Self.pageSize < total { view["next"] = pageNumber + 1 }
        return page("tickets", title: "Tickets", nav: "tickets", view)
    }

    @Sendable func ticketPage(_ request: Request, context: BasicRequestContext) async throws -> HTMLResponse {
        guard let number = context.parameters.get("number", as: Int64.self) else { return notFound("There is no ticket with this number.") }
        return try await ticketPage(number: number)
    }

    /// The reply form: the reply is stored and queued, then the agent sees it on the ticket with its delivery state.
    @Sendable func postReply(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self) else {
            return try notFound("There is no ticket with this number.").response(from: request, context: context)
        }
        let body = try await request.body.collect(upTo: 1 << 20)
        let form = (try? URLEncodedFormDecoder().decode(ReplyForm.self, from: String(buffer: body))) ?? ReplyForm(text: "")
        do {
            let delivery = try await dependencies.replies.reply(to: TicketNumber(number), text: form.text)
            return Response(status: .seeOther, headers: [.location: "/tickets/\(number)#message-\(delivery.messageRowID)"])
        } catch let error as ReplyError {
            return try await ticketPage(number: number, replyError: error.description, replyText: form.text).response(from: request, context: context)
        }
    }

    struct ReplyForm: Decodable {
        var text: String
    }

    /// The ticket with its conversation, each reply's delivery, and the reply form (refilled after a refused reply).
    func ticketPage(number: Int64, replyError: String? = nil, replyText: String = "") async throws -> HTMLResponse {
        guard let detail = try await store.ticket(TicketNumber(number)) else {
            return notFound("There is no ticket with this number.")
        }
        let deliveries = try await store.deliveries(ticket: TicketNumber(number))
        var mailbox: Mailbox?
        if let id = detail.summary.mailboxID { mailbox = try await store.mailbox(id) }
        let messages: [[String: Any]] = detail.messages.map { message in
            var view: [String: Any] = [
                "id": message.id, "number": number, "from": message.from.formatted,
                "to": message.to.map(\.formatted).joined(separator: ", "),
                "subject": message.subject, "received_at": Format.date(message.receivedAt),
                "text_body": message.textBody.isEmpty ? "(This email has no text.)" : message.textBody,
                "has_attachments": !message.attachments.isEmpty,
                "attachments": message.attachments.map { attachment -> [String: Any] in
                    [
                        "number": number, "message_id": message.id, "index": attachment.index, "filename": attachment.filename,
                        "size": Format.size(attachment.size), "content_type": attachment.contentType, "inline": attachment.isInline,
                    ]
                },
                "has_defects": !message.defects.isEmpty, "defects": message.defects.joined(separator: "; "),
            ]
            if !message.cc.isEmpty { view["cc"] = message.cc.map(\.formatted).joined(separator: ", ") }
            if let html = message.htmlBody, !html.isEmpty { view["html_srcdoc"] = html }
            if let automatic = message.automatic { view["automatic"] = automatic.displayName }
            if message.direction == .outgoing {
                view["outgoing"] = true
                if let delivery = deliveries[message.id] { view["delivery"] = Self.deliveryView(delivery) }
            }
            return view
        }
        let summary = detail.summary
        var view: [String: Any] = [
            "number": number, "subject": summary.subject, "requester": summary.requester.formatted,
            "message_count": summary.messageCount, "one": summary.messageCount == 1, "status": summary.status.rawValue, "messages": messages,
            "reply_text": replyText,
        ]
        if let mailbox { view["from"] = "\(mailbox.name) <\(mailbox.email)>" }
        if let replyError { view["reply_error"] = replyError }
        return page("ticket", title: "#\(number) \(summary.subject)", nav: "tickets", view, status: replyError == nil ? .ok : .unprocessableContent)
    }

    /// What the agent reads about a reply: on its way, sent, or refused with the server's words.
    static func deliveryView(_ delivery: Delivery) -> [String: Any] {
        let text: String
        switch delivery.state {
        case .queued:
            text = delivery.lastError.map { "Not sent yet; retrying automatically (attempt \(delivery.attempts), next at \(Format.date(delivery.nextAttemptAt))). Last error: \($0)" }
                ?? "Sending…"
        case .sent:
            text = "Sent \(delivery.sentAt.map(Format.date) ?? "")"
        case .failed:
            text = "Not delivered: \(delivery.lastError ?? "the server refused it")"
        }
        return ["id": delivery.id, "state": delivery.state.rawValue, "text": text]
    }

    /// Hands out an attachment from the stored original. Always as a download, never rendered by the browser,
    /// so a hostile HTML or SVG attachment cannot run in Mailroom's origin.
    @Sendable func attachment(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self),
              let messageID = context.parameters.get("message", as: Int64.self),
              let index = context.parameters.get("index", as: Int.self),
              let detail = try await store.ticket(TicketNumber(number)),
              let message = detail.messages.first(where: { $0.id == messageID }),
              let info = message.attachments.first(where: { $0.index == index }),
              let raw = try await store.rawMessage(messageID)
        else {
            return try notFound("There is no such attachment.").response(from: request, context: context)
        }
        let parsed = MessageParser.parse(raw)
        guard index < parsed.attachments.count else {
            return try notFound("The attachment could not be read from the stored email.").response(from: request, context: context)
        }
        let data = parsed.attachments[index].data
        var headers = HTTPFields()
        let safeTypes: Set<String> = ["application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv"]
        headers[.contentType] = safeTypes.contains(info.contentType) ? info.contentType : "application/octet-stream"
        headers[.contentDisposition] = Format.contentDisposition(filename: info.filename)
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    @Sendable func channels(_ request: Request, context: BasicRequestContext) async throws -> HTMLResponse {
        var rows: [[String: Any]] = []
        for mailbox in try await store.mailboxes() {
            let health = try await store.health(mailbox.id)[.incoming] ?? ConnectionHealth()
            var row: [String: Any] = [
                "id": mailbox.id.rawValue, "email": mailbox.email, "name": mailbox.name, "provider": mailbox.provider.displayName,
                "usage": mailbox.usage.displayName, "delete_after_fetch": mailbox.deleteAfterFetch,
                "server": mailbox.incoming.map { "\($0.host):\($0.port) · \($0.security.displayName)" } ?? "—",
            ]
            if mailbox.usage.fetchesMail {
                row["state"] = health.state.rawValue
                row["state_label"] = health.state.displayName
                row["last_fetch"] = health.lastSuccessAt.map(Format.date) ?? "Never"
                if health.state != .connected, let cause = health.cause {
                    row["cause"] = cause
                    row["fix"] = health.fix ?? ""
                }
            } else {
                row["state"] = "pending"
                row["state_label"] = "Not fetched (Outgoing only)"
                row["last_fetch"] = "—"
            }
            rows.append(row)
        }
        return page("channels", title: "Email channels", nav: "admin", ["mailboxes": rows, "has_mailboxes": !rows.isEmpty])
    }

    @Sendable func mailboxPage(_ request: Request, context: BasicRequestContext) async throws -> HTMLResponse {
        guard let id = context.parameters.get("id", as: Int64.self), let mailbox = try await store.mailbox(MailboxID(id)) else {
            return notFound("There is no mailbox with this id.")
        }
        let health = try await store.health(mailbox.id)[.incoming] ?? ConnectionHealth()
        let activity = try await store.activity(mailbox.id, limit: 50).map { ["at": Format.date($0.at), "text": $0.text] }
        var view: [String: Any] = [
            "email": mailbox.email, "name": mailbox.name, "provider": mailbox.provider.displayName, "usage": mailbox.usage.displayName,
            "state": health.state.rawValue, "state_label": health.state.displayName,
            "server": mailbox.incoming.map { "\($0.host):\($0.port) · \($0.security.displayName)" } ?? "—",
            "username": mailbox.incoming?.username ?? "—", "folder": mailbox.incoming?.folder ?? "—",
            "after_fetch": mailbox.deleteAfterFetch ? "Delete from the server once the ticket is stored" : "Leave on the server untouched",
            "last_fetch": health.lastSuccessAt.map(Format.date) ?? "Never",
            "activity": activity, "has_activity": !activity.isEmpty,
            "auth": try await Self.authenticationLabel(mailbox, store: store),
            "outgoing": mailbox.outgoing.map {
                "\($0.host):\($0.port) · \($0.security.displayName) · as \($0.username) with \($0.authentication == .oauth2 ? mailbox.provider.signInLabel : "its password")"
            } ?? "The operator's default outgoing server (MAILROOM_SMTP_URL)",
        ]
        if health.state != .connected {
            view["cause"] = health.cause
            view["fix"] = health.fix
            view["detail"] = health.detail
        }
        return page("mailbox", title: mailbox.email, nav: "admin", view)
    }
}

extension PagesController {
    /// «Password», or which account signed in for an OAuth mailbox (a delegate, for a shared mailbox).
    static func authenticationLabel(_ mailbox: Mailbox, store: SQLStore) async throws -> String {
        guard let server = mailbox.incoming else { return "—" }
        switch server.authentication {
        case .password:
            return "Username and password"
        case .oauth2:
            guard let grant = try await store.grant(mailbox.id) else { return "\(mailbox.provider.signInLabel) (no sign-in stored)" }
            let shared = grant.account.caseInsensitiveCompare(server.username) != .orderedSame
            return "\(mailbox.provider.signInLabel) as \(grant.account)" + (shared ? " (shared mailbox \(server.username))" : "")
        }
    }
}

/// How pages write dates, sizes and download names.
enum Format {
    static func date(_ date: Date) -> String {
        date.formatted(Date.VerbatimFormatStyle(
            format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) UTC",
            timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
    }

    static func size(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1024 * 1024 { return String(format: "%.0f KB", Double(bytes) / 1024) }
        return String(format: "%.1f MB", Double(bytes) / 1024 / 1024)
    }

    /// RFC 6266 with an ASCII fallback, so non-ASCII names survive and no header can be injected.
    static func contentDisposition(filename: String) -> String {
        let ascii = String(filename.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        // RFC 8187 attr-char: ASCII letters, digits and a few marks; everything else percent-encoded as UTF-8.
        let attrChars = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_~")
        let encoded = filename.addingPercentEncoding(withAllowedCharacters: attrChars) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
