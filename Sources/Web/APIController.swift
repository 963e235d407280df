import Engine
import Foundation
import HTTPTypes
import Hummingbird
import MailroomCore

/// The JSON API: who is calling, mailboxes (with their health, a connection test and Case 2 reauthorization) and
/// tickets. Secrets go in, never out. The route groups have already checked who may call what.
struct APIController: Sendable {
    let dependencies: WebDependencies
    var store: any WebStore { dependencies.store }

    /// Under `/api/v1`, for anyone signed in.
    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("me", use: me)
        group.get("tickets", use: listTickets)
        group.get("tickets/:number", use: showTicket)
    }

    /// Under `/api/v1/mailboxes`, in the admins' group: an agent never sees or changes a mailbox, nor makes
    /// Mailroom connect anywhere.
    func registerAdmin(on group: RouterGroup<AppRequestContext>) {
        group.post(use: createMailbox)
        group.get(use: listMailboxes)
        group.post("test", use: testMailbox)
        group.get(":id", use: showMailbox)
        group.delete(":id", use: deleteMailbox)
        group.get(":id/health", use: mailboxHealth)
        group.post(":id/password", use: replacePassword)
    }

    /// `GET /api/openapi.yaml`: the OpenAPI 3.1 description of this API, public like the sign-in page.
    static func registerDocument(on router: Router<AppRequestContext>) {
        router.get("api/openapi.yaml") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/yaml; charset=utf-8"
            headers[.cacheControl] = "public, max-age=300"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }

    // MARK: - Who is calling

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let session = context.session else {
            return try Self.error(.unauthorized, "Sign in first.", request: request, context: context)
        }
        let resource = APIResources.MeResource(session.user, csrfToken: context.viaBasicAuth ? nil : session.csrfToken)
        return try JSONResponse(value: resource).response(from: request, context: context)
    }

    // MARK: - Mailboxes

    /// A new mailbox's settings that passed validation, with the password that will be tested and sealed.
    struct Prepared {
        var draft: MailboxDraft
        var valid: ValidMailbox
        var password: String
    }

    enum Read {
        case ready(Prepared)
        case refused(Response)
    }

    /// Decodes and validates a would-be mailbox from the body, or the response that refuses it.
    func readMailbox(_ request: Request, context: AppRequestContext) async throws -> Read {
        let input: APIResources.NewMailboxRequest
        switch try await Self.decode(APIResources.NewMailboxRequest.self, from: request, example: Self.mailboxExample) {
        case .success(let value): input = value
        case .failure(let refusal): return .refused(try refusal.response(from: request, context: context))
        }
        switch Self.prepare(input, servers: dependencies.servers) {
        case .success(let value): return .ready(value)
        case .failure(let error): return .refused(try Self.invalid(error, request: request, context: context))
        }
    }

    /// Save: validate, test the connection with the password, and only then store it (like the admin form).
    @Sendable func createMailbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        let prepared: Prepared
        switch try await readMailbox(request, context: context) {
        case .ready(let value): prepared = value
        case .refused(let response): return response
        }
        if let verdict = await test(prepared.valid, password: prepared.password) {
            return try JSONResponse(value: APIResources.ErrorResource(testFailed: verdict), status: .unprocessableContent).response(from: request, context: context)
        }
        let mailbox: Mailbox
        do {
            mailbox = try await dependencies.mailboxes.add(prepared.draft, password: prepared.password)
        } catch let error as ValidationError {
            return try Self.invalid(error, request: request, context: context)
        } catch StoreError.conflict(let message) {
            return try JSONResponse(
                value: APIResources.ErrorResource(
                    error: message, problems: [.init(field: "email", message: message)],
                    fix: "Use GET /api/v1/mailboxes to find the existing mailbox, or POST /api/v1/mailboxes/{id}/password to fix its sign-in."),
                status: .conflict
            ).response(from: request, context: context)
        }
        context.logger.info("Mailbox added via the API", metadata: ["mailbox": "\(mailbox.id)", "user": "\(context.user?.email ?? "-")"])
        await dependencies.inbound?.wake()
        await dependencies.notifier?.wake()
        var response = try JSONResponse(value: APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id)), status: .created)
            .response(from: request, context: context)
        response.headers[.location] = "/api/v1/mailboxes/\(mailbox.id.rawValue)"
        return response
    }

    /// Tests the settings and password of a would-be mailbox without storing anything.
    @Sendable func testMailbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        let prepared: Prepared
        switch try await readMailbox(request, context: context) {
        case .ready(let value): prepared = value
        case .refused(let response): return response
        }
        let tested: [Direction] = (prepared.valid.incoming != nil ? [.incoming] : []) + (prepared.valid.outgoing != nil ? [.outgoing] : [])
        let verdict = await test(prepared.valid, password: prepared.password)
        return try JSONResponse(value: APIResources.ConnectionTestResource(tested: tested, failure: verdict)).response(from: request, context: context)
    }

    @Sendable func listMailboxes(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<[String: [APIResources.MailboxResource]]> {
        var resources: [APIResources.MailboxResource] = []
        for mailbox in try await store.mailboxes() {
            resources.append(APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id)))
        }
        return JSONResponse(value: ["mailboxes": resources])
    }

    @Sendable func showMailbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let mailbox = try await mailbox(context) else { return try Self.noMailbox(request: request, context: context) }
        return try JSONResponse(value: APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id))).response(from: request, context: context)
    }

    @Sendable func deleteMailbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), try await store.removeMailbox(MailboxID(id)) else {
            return try Self.noMailbox(request: request, context: context)
        }
        context.logger.info("Mailbox removed via the API", metadata: ["mailbox": "\(id)", "user": "\(context.user?.email ?? "-")"])
        return Response(status: .noContent)
    }

    /// Each direction's state as the admin sees it, with cause, fix and the server's own words.
    @Sendable func mailboxHealth(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let mailbox = try await mailbox(context) else { return try Self.noMailbox(request: request, context: context) }
        return try JSONResponse(value: APIResources.MailboxHealthResource(mailbox, health: try await store.health(mailbox.id)))
            .response(from: request, context: context)
    }

    /// Case 2: the password changed on the mail server. The new one is tested first; a refused one changes nothing.
    @Sendable func replacePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let mailbox = try await mailbox(context) else { return try Self.noMailbox(request: request, context: context) }
        let input: APIResources.NewPasswordRequest
        switch try await Self.decode(APIResources.NewPasswordRequest.self, from: request, example: "{\"password\": \"…\"}") {
        case .success(let value): input = value
        case .failure(let refusal): return try refusal.response(from: request, context: context)
        }
        guard mailbox.incoming?.authentication == .password || mailbox.outgoing?.authentication == .password else {
            return try JSONResponse(
                value: APIResources.ErrorResource(
                    error: "This mailbox signs in with \(mailbox.provider.signInLabel.replacingOccurrences(of: "Sign in with ", with: "")), not a password.",
                    fix: "Use «\(mailbox.provider.signInLabel)»: POST the form /oauth/start with mailbox=\(mailbox.id.rawValue) and mode=reauthorize."),
                status: .conflict
            ).response(from: request, context: context)
        }
        let password = input.password ?? ""
        if let problem = Self.passwordProblem(password, account: mailbox.incoming?.username ?? mailbox.outgoing?.username ?? mailbox.email) {
            return try Self.invalid(ValidationError(problems: [problem]), request: request, context: context)
        }
        do {
            try await dependencies.reauthorization.replacePassword(mailbox, password: password)
        } catch {
            switch error {
            case .testFailed(let verdict):
                return try JSONResponse(value: APIResources.ErrorResource(testFailed: verdict), status: .unprocessableContent).response(from: request, context: context)
            case .wrongAccount:
                return try JSONResponse(value: APIResources.ErrorResource(error: error.description, fix: error.fix), status: .unprocessableContent)
                    .response(from: request, context: context)
            case .invalid:
                // The input was checked above, so this is a failure to save; its detail goes to the log only.
                context.logger.error("Could not replace a mailbox password", metadata: ["mailbox": "\(mailbox.id)"])
                return try Self.error(.internalServerError, "The new password could not be saved. Nothing was changed; the error was logged.", request: request, context: context)
            }
        }
        context.logger.info("Mailbox password replaced via the API", metadata: ["mailbox": "\(mailbox.id)", "user": "\(context.user?.email ?? "-")"])
        await dependencies.inbound?.wake()
        await dependencies.notifier?.wake()
        let updated = try await store.mailbox(mailbox.id) ?? mailbox
        return try JSONResponse(value: APIResources.MailboxResource(updated, health: try await store.health(updated.id))).response(from: request, context: context)
    }

    // MARK: - Tickets

    @Sendable func listTickets(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<[String: [APIResources.TicketResource]]> {
        let query = request.uri.queryParameters
        let limit = query["limit"].flatMap { Int($0) }.map { min(max($0, 1), 1000) } ?? 100
        let offset = query["offset"].flatMap { Int($0) }.map { max($0, 0) } ?? 0
        let tickets = try await store.tickets(limit: limit, offset: offset).map { APIResources.TicketResource($0) }
        return JSONResponse(value: ["tickets": tickets])
    }

    @Sendable func showTicket(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let number = context.parameters.get("number", as: Int64.self), let detail = try await store.ticket(TicketNumber(number)) else {
            return try Self.error(.notFound, "No ticket with this number.", request: request, context: context)
        }
        return try JSONResponse(value: APIResources.TicketResource(detail.summary, messages: detail.messages)).response(from: request, context: context)
    }

    // MARK: - Helpers

    func mailbox(_ context: AppRequestContext) async throws -> Mailbox? {
        guard let id = context.parameters.get("id", as: Int64.self) else { return nil }
        return try await store.mailbox(MailboxID(id))
    }

    /// IMAP (sign in, open the folder) and SMTP (sign in, send nothing) for the directions the mailbox uses. Nil when it works.
    func test(_ valid: ValidMailbox, password: String) async -> Diagnosis.Verdict? {
        await dependencies.connectionTest.servers(incoming: valid.incoming, outgoing: valid.outgoing, provider: valid.provider, credential: .password(password))
    }

    static let mailboxExample =
        "{\"email\": \"support@example.com\", \"name\": \"Support\", \"usage\": \"incoming\", \"imap_host\": \"imap.example.com\", \"username\": \"support@example.com\", \"password\": \"…\"}"

    /// Every problem of a new mailbox's settings at once, the password included.
    static func prepare(_ input: APIResources.NewMailboxRequest, servers: ProviderServers) -> Result<Prepared, ValidationError> {
        var problems: [ValidationError.Problem] = []
        var prepared: (MailboxDraft, ValidMailbox)?
        do {
            let draft = try MailboxDraft(input)
            prepared = (draft, try draft.validated(servers: servers))
        } catch {
            problems = error.problems
        }
        let password = input.password ?? ""
        let account = prepared?.1.incoming?.username ?? prepared?.1.outgoing?.username ?? input.username ?? input.email
        if let problem = passwordProblem(password, account: account) { problems.append(problem) }
        guard problems.isEmpty, let (draft, valid) = prepared else { return .failure(ValidationError(problems: problems)) }
        return .success(Prepared(draft: draft, valid: valid, password: password))
    }

    static func passwordProblem(_ password: String, account: String?) -> ValidationError.Problem? {
        MailboxPassword.problem(password, account: account)
    }

    /// Reads a JSON body, or says what is wrong with it (naming the field when a value has the wrong type).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, example: String) async throws -> Result<T, Refusal> {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let general = "The request body must be a JSON object like \(example)."
        guard body.readableBytes > 0 else { return .failure(Refusal(status: .badRequest, resource: .init(error: "The request body is empty. \(general)"))) }
        do {
            return .success(try APIResources.makeDecoder().decode(T.self, from: Data(buffer: body)))
        } catch let DecodingError.typeMismatch(expected, context) {
            return .failure(wrongType(expected, context, general))
        } catch let DecodingError.valueNotFound(expected, context) {
            return .failure(wrongType(expected, context, general))
        } catch {
            return .failure(Refusal(status: .badRequest, resource: .init(error: general)))
        }
    }

    private static func wrongType(_ expected: Any.Type, _ context: DecodingError.Context, _ general: String) -> Refusal {
        guard let key = context.codingPath.last, !context.codingPath.isEmpty else { return Refusal(status: .badRequest, resource: .init(error: general)) }
        let field = snakeCase(key.stringValue)
        let kind = expected == String.self ? "a string" : expected == Int.self ? "a whole number" : expected == Bool.self ? "true or false" : "a \(expected)"
        let message = "«\(field)» must be \(kind)."
        return Refusal(status: .badRequest, resource: .init(error: message, problems: [.init(field: field, message: message)]))
    }

    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                if !result.isEmpty { result.append("_") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// A request refused before it reached its handler's work.
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var resource: APIResources.ErrorResource
        func response(from request: Request, context: AppRequestContext) throws -> Response {
            try JSONResponse(value: resource, status: status).response(from: request, context: context)
        }
    }

    static func invalid(_ error: ValidationError, request: Request, context: AppRequestContext) throws -> Response {
        try JSONResponse(value: APIResources.ErrorResource(error: error.description, problems: error.problems), status: .unprocessableContent)
            .response(from: request, context: context)
    }

    static func noMailbox(request: Request, context: AppRequestContext) throws -> Response {
        try error(.notFound, "No mailbox with this id.", request: request, context: context)
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, request: Request, context: AppRequestContext) throws -> Response {
        try JSONResponse(value: APIResources.ErrorResource(error: message), status: status).response(from: request, context: context)
    }
}
