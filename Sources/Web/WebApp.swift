import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MailroomCore
import Mustache
import OAuth
import Storage

/// What the web layer needs from the rest of Mailroom.
public struct WebDependencies: Sendable {
    public var store: SQLStore
    public var mailboxes: MailboxService
    /// Woken when a mailbox is added, so its first fetch does not wait for the next poll.
    public var inbound: InboundSync?
    /// The OAuth apps for «Sign in with Microsoft/Google»; nil when none is configured.
    public var oauth: OAuthProviders?
    /// Where browsers reach Mailroom (`MAILROOM_PUBLIC_URL`), for the OAuth redirect URI.
    public var publicURL: String?
    public var connectionTest: ConnectionTest
    /// Accepts agents' replies into the outbox.
    public var replies: ReplyService
    /// Emailed admins about mailbox states; woken after a fix so the recovery notice goes out at once.
    public var notifier: AdminNotifier?
    /// Where Microsoft and Gmail mailboxes connect unless the admin names a server: what *New support email*
    /// pre-fills and what every draft is validated with. Kept in `mailboxes`, so what is tested is what is stored.
    public var servers: ProviderServers {
        get { mailboxes.servers }
        set { mailboxes.servers = newValue }
    }
    /// Fixes sign-ins of existing mailboxes (Cases 1–3, account switches).
    public var reauthorization: Reauthorization {
        Reauthorization(store: store, vault: mailboxes.vault, connectionTest: connectionTest, inbound: inbound, logger: Logger(label: "mailroom.reauthorization"))
    }

    public init(
        store: SQLStore, mailboxes: MailboxService, inbound: InboundSync?, oauth: OAuthProviders? = nil, publicURL: String? = nil,
        connectionTest: ConnectionTest = ConnectionTest(settings: SyncSettings(), logger: Logger(label: "mailroom.connection-test")),
        replies: ReplyService? = nil, notifier: AdminNotifier? = nil, servers: ProviderServers? = nil
    ) {
        self.notifier = notifier
        self.replies = replies ?? ReplyService(store: store, outbound: nil)
        self.store = store
        self.mailboxes = mailboxes
        self.inbound = inbound
        self.oauth = oauth
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.connectionTest = connectionTest
        // Given here, it wins over the one `mailboxes` was built with; either way there is one value.
        if let servers { self.mailboxes.servers = servers }
    }
}

/// Builds the router for pages and the JSON API. Tests call this directly (no socket needed).
public func buildRouter(_ dependencies: WebDependencies) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let accounts = Accounts(store: dependencies.store)
    router.add(middleware: ErrorPageMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: SessionMiddleware(store: dependencies.store, accounts: accounts))
    let pages = try PagesController(dependencies: dependencies)
    pages.register(on: router)
    ChannelsController(dependencies: dependencies, pages: pages).register(on: router)
    SessionController(dependencies: dependencies, pages: pages, accounts: accounts).register(on: router)
    SignInController(dependencies: dependencies, pages: pages).register(on: router)
    APIController(dependencies: dependencies).register(on: router.group("api/v1"))
    APIController.registerDocument(on: router)
    // For load balancers and orchestrators: 200 only when the database answers.
    router.get("healthz") { _, context in
        do {
            try await dependencies.store.ping()
            return JSONResponse(value: ["status": "ok"])
        } catch {
            context.logger.error("Health check failed", metadata: ["error": "\(error)"])
            return JSONResponse(value: ["status": "database unavailable"], status: .serviceUnavailable)
        }
    }
    return router
}

/// Pages are never framed by another site (clickjacking) and never sniffed into another type.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xFrameOptions] = "DENY"
        if response.headers[.xContentTypeOptions] == nil { response.headers[.xContentTypeOptions] = "nosniff" }
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }
}

/// Turns unexpected errors into a plain message instead of a stack trace or a blank page; never leaks detail.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch let error as StoreError {
            context.logger.error("Storage error", metadata: ["error": "\(error)"])
            if case .unavailable = error {
                throw HTTPError(.serviceUnavailable, message: "The database is unavailable. Try again in a moment.")
            }
            throw HTTPError(.internalServerError, message: "Something went wrong. The error was logged.")
        } catch {
            context.logger.error("Request failed", metadata: ["error": "\(error)"])
            throw HTTPError(.internalServerError, message: "Something went wrong. The error was logged.")
        }
    }
}
