import Engine
import Foundation
import Hummingbird
import MIME
import MailroomCore
import OAuth
import Mustache

/// The agent's and admin's pages: plain HTML rendered on the server.
struct PagesController: Sendable {
    let dependencies: WebDependencies
    let library: MustacheLibrary
    var store: any WebStore { dependencies.store }
    static let pageSize = 50

    init(dependencies: WebDependencies) throws {
        self.dependencies = dependencies
        var library = MustacheLibrary()
        for page in Page.allCases {
            library.register(try Self.parse(page), named: page.rawValue)
        }
        self.library = library
    }

    static func parse(_ page: Page) throws -> MustacheTemplate { try MustacheTemplate(string: page.template) }

    /// Tickets, replies and attachments: for anyone signed in (the group's middleware checks).
    func register(on router: some RouterMethods<AppRequestContext>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/tickets"]) }
        router.get("tickets", use: ticketList)
        router.get("tickets/:number", use: ticketPage)
        router.post("tickets/:number/replies", use: postReply)
        router.get("tickets/:number/messages/:message/attachments/:index", use: attachment)
    }

    /// Help, the icon and the form script: public.
    func registerPublic(on router: some RouterMethods<AppRequestContext>) {
        router.get("help/reauthorize", use: helpReauthorize)
        router.get("favicon.ico") { _, _ in Response(status: .noContent, headers: [.cacheControl: "max-age=86400"]) }
        for file in StaticFile.allCases {
            router.get("static/\(file.rawValue)") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: file.contentType, .cacheControl: "max-age=300"],
                    body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
    }

    /// Renders a page in the layout: the signed-in person, their CSRF token for every form, and for admins the
    /// reauthorization banner while any mailbox needs it.
    func page(
        _ template: Page, title: String, nav: String, _ view: [String: Any], context: AppRequestContext, status: HTTPResponse.Status = .ok
    ) async throws -> HTMLResponse {
        var view = view
        var layout: [String: Any] = ["title": title, "nav_\(nav)": true]
        if let session = context.session {
            view["csrf"] = session.csrfToken
            layout["csrf"] = session.csrfToken
            layout["signed_in"] = true
            layout["user_name"] = session.user.name
            layout["user_role"] = session.user.role.displayName
            if session.user.isAdmin {
                layout["is_admin"] = true
                view["is_admin"] = true
                if try await bannerRaised() { layout["banner"] = true }
            }
        }
        let body = library.render(view, withTemplate: template.rawValue) ?? ""
        layout["body"] = body
        let html = library.render(layout, withTemplate: Page.layout.rawValue) ?? body
        return HTMLResponse(html: html, status: status)
    }

    /// Whether any mailbox needs a sign-in: a stored «Reauthorization required» or «Migration to OAuth required»,
    /// or a Microsoft mailbox still on a password whose mark the background job has not recorded yet (its page
    /// already says «Migration to OAuth required», so the banner must too).
    func bannerRaised() async throws -> Bool {
        if try await !store.mailboxesNeedingReauthorization().isEmpty { return true }
        for mailbox in try await store.mailboxes() where Diagnosis.impliesMigration(mailbox) {
            if Diagnosis.raisesBanner(mailbox, stored: try await store.health(mailbox.id)) { return true }
        }
        return false
    }

    func notFound(_ message: String, context: AppRequestContext) async throws -> HTMLResponse {
        try await page(.notFound, title: "Not found", nav: "tickets", ["message": message], context: context, status: .notFound)
    }

    @Sendable func helpReauthorize(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
        let names = (dependencies.oauth?.generic ?? []).map(\.name)
        let view: [String: Any] = names.isEmpty ? [:] : ["generic": ["names": names.joined(separator: ", ")]]
        return try await page(.helpReauthorize, title: "Reauthorize your Email settings", nav: "admin", view, context: context)
    }

    @Sendable func ticketList(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
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
        return try await page(.tickets, title: "Tickets", nav: "tickets", view, context: context)
    }

    @Sendable func ticketPage(_ request: Request, context: AppRequestContext) async throws -> HTMLResponse {
        guard let number = context.parameters.get("number", as: Int64.self) else { return try await notFound("There is no ticket with this number.", context: context) }
        return try await ticketPage(number: number, context: context)
    }

    /// The reply form: the reply is stored and queued, then the agent sees it on the ticket with its delivery state.
    @Sendable func postReply(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self) else {
            return try await notFound("There is no ticket with this number.", context: context).response(from: request, context: context)
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let form = (try? URLEncodedFormDecoder().decode(ReplyForm.self, from: String(buffer: body))) ?? ReplyForm(text: "")
        let alsoCc = SessionMiddleware.formValues(String(buffer: body), named: "also_cc")
        do {
            let delivery = try await dependencies.replies.reply(to: TicketNumber(number), text: form.text, alsoCc: Set(alsoCc))
            return Response(status: .seeOther, headers: [.location: "/tickets/\(number)#message-\(delivery.messageRowID)"])
        } catch let error as ReplyError {
            return try await ticketPage(number: number, context: context, replyError: error.description, replyText: form.text).response(from: request, context: context)
        }
    }

    struct ReplyForm: Decodable {
        var text: String
    }

    /// The ticket with its conversation, each reply's delivery, and the reply form (refilled after a refused reply).
    func ticketPage(number: Int64, context: AppRequestContext, replyError: String? = nil, replyText: String = "") async throws -> HTMLResponse {
        guard let detail = try await store.ticket(TicketNumber(number)) else {
            return try await notFound("There is no ticket with this number.", context: context)
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
        if let mailbox {
            view["from"] = "\(mailbox.name) <\(mailbox.email)>"
            let recipients = ReplyComposer.recipients(ticket: detail, mailbox: mailbox)
            view["reply_to"] = recipients.to.map { Person(name: $0.name, email: $0.email).formatted }.joined(separator: ", ")
            if !recipients.cc.isEmpty { view["reply_cc"] = recipients.cc.map { Person(name: $0.name, email: $0.email).formatted }.joined(separator: ", ") }
            view["has_suggested"] = !recipients.suggested.isEmpty
            view["suggested"] = recipients.suggested.map { ["email": $0.email, "formatted": Person(name: $0.name, email: $0.email).formatted] }
        }
        if let referred = summary.referredTicket { view["referred"] = referred.rawValue }
        if let replyError { view["reply_error"] = replyError }
        return try await page(.ticket, title: "#\(number) \(summary.subject)", nav: "tickets", view, context: context, status: replyError == nil ? .ok : .unprocessableContent)
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
    @Sendable func attachment(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self),
              let messageID = context.parameters.get("message", as: Int64.self),
              let index = context.parameters.get("index", as: Int.self),
              let detail = try await store.ticket(TicketNumber(number)),
              let message = detail.messages.first(where: { $0.id == messageID }),
              let info = message.attachments.first(where: { $0.index == index }),
              let raw = try await store.rawMessage(messageID)
        else {
            return try await notFound("There is no such attachment.", context: context).response(from: request, context: context)
        }
        let parsed = MessageParser.parse(raw)
        guard index < parsed.attachments.count else {
            return try await notFound("The attachment could not be read from the stored email.", context: context).response(from: request, context: context)
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
}

extension PagesController {
    /// «Password», or which account signed in for an OAuth mailbox (a delegate, for a shared mailbox).
    /// - Parameter oauth: names an «Other» mailbox's identity provider as its button does («Sign in with Keycloak»).
    static func authenticationLabel(_ mailbox: Mailbox, store: any MailroomStore, oauth: OAuthProviders? = nil) async throws -> String {
        guard let server = mailbox.incoming else { return "—" }
        switch server.authentication {
        case .password:
            return "Username and password"
        case .oauth2:
            guard let grant = try await store.grant(mailbox.id) else { return "\(mailbox.provider.signInLabel) (no sign-in stored)" }
            let label = mailbox.provider == .other
                ? oauth?.name(of: ProviderKey(rawValue: grant.provider)).map { "Sign in with \($0)" } ?? mailbox.provider.signInLabel
                : mailbox.provider.signInLabel
            let shared = grant.account.caseInsensitiveCompare(server.username) != .orderedSame
            return "\(label) as \(grant.account)" + (shared ? " (shared mailbox \(server.username))" : "")
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
