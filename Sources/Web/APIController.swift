import Engine
import Foundation
import Hummingbird
import MailroomCore
import Storage

/// The JSON API: mailboxes and tickets. Secrets go in, never out.
struct APIController: Sendable {
    let dependencies: WebDependencies
    var store: SQLStore { dependencies.store }

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.post("mailboxes", use: createMailbox)
        group.get("mailboxes", use: listMailboxes)
        group.get("mailboxes/:id", use: showMailbox)
        group.delete("mailboxes/:id", use: deleteMailbox)
        group.get("tickets", use: listTickets)
        group.get("tickets/:number", use: showTicket)
    }

    @Sendable func createMailbox(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let input: APIResources.NewMailboxRequest
        do {
            input = try APIResources.makeDecoder().decode(APIResources.NewMailboxRequest.self, from: Data(buffer: body))
        } catch {
            return try Self.error(.badRequest, "The request body must be a JSON object like {\"email\": \"support@example.com\", \"name\": \"Support\", \"imap_host\": \"imap.example.com\", \"username\": \"support@example.com\", \"password\": \"…\"}.", request: request, context: context)
        }
        do {
            let mailbox = try await dependencies.mailboxes.add(try MailboxDraft(input), password: input.password)
            await dependencies.inbound?.wake()
            let health = try await store.health(mailbox.id)
            return try JSONResponse(value: APIResources.MailboxResource(mailbox, health: health), status: .created).response(from: request, context: context)
        } catch let error as ValidationError {
            return try JSONResponse(value: APIResources.ErrorResource(error: error.description, problems: error.problems), status: .unprocessableContent)
                .response(from: request, context: context)
        } catch StoreError.conflict(let message) {
            return try JSONResponse(value: APIResources.ErrorResource(error: message, problems: [.init(field: "email", message: message)]), status: .conflict)
                .response(from: request, context: context)
        }
    }

    @Sendable func listMailboxes(_ request: Request, context: BasicRequestContext) async throws -> JSONResponse<[String: [APIResources.MailboxResource]]> {
        var resources: [APIResources.MailboxResource] = []
        for mailbox in try await store.mailboxes() {
            resources.append(APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id)))
        }
        return JSONResponse(value: ["mailboxes": resources])
    }

    @Sendable func showMailbox(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), let mailbox = try await store.mailbox(MailboxID(id)) else {
            return try Self.error(.notFound, "No mailbox with this id.", request: request, context: context)
        }
        return try JSONResponse(value: APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id))).response(from: request, context: context)
    }

    @Sendable func deleteMailbox(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), try await store.removeMailbox(MailboxID(id)) else {
            return try Self.error(.notFound, "No mailbox with this id.", request: request, context: context)
        }
        return Response(status: .noContent)
    }

    @Sendable func listTickets(_ request: Request, context: BasicRequestContext) async throws -> JSONResponse<[String: [APIResources.TicketResource]]> {
        let query = request.uri.queryParameters
        let limit = query["limit"].flatMap { Int($0) }.map { min(max($0, 1), 1000) } ?? 100
        let offset = query["offset"].flatMap { Int($0) }.map { max($0, 0) } ?? 0
        let tickets = try await store.tickets(limit: limit, offset: offset).map { APIResources.TicketResource($0) }
        return JSONResponse(value: ["tickets": tickets])
    }

    @Sendable func showTicket(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self), let detail = try await store.ticket(TicketNumber(number)) else {
            return try Self.error(.notFound, "No ticket with this number.", request: request, context: context)
        }
        return try JSONResponse(value: APIResources.TicketResource(detail.summary, messages: detail.messages)).response(from: request, context: context)
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, request: Request, context: BasicRequestContext) throws -> Response {
        try JSONResponse(value: APIResources.ErrorResource(error: message), status: status).response(from: request, context: context)
    }
}
