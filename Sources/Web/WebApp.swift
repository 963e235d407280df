import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MailroomCore
import Mustache
import OAuth

/// What the web layer needs from the rest of Mailroom.
public struct WebDependencies: Sendable {
    public var store: any WebStore
    public var mailboxes: MailboxService
    /// Woken when a mailbox is added, so its first fetch does not wait for the next poll.
    public var inbound: InboundSync?
    /// The OAuth apps for «Sign in with Microsoft/Google»; nil when none is configured.
    public var oauth: OAuthProviders?
    /// Where browsers reach Mailroom (`MAILROOM_PUBLIC_URL`), for the OAuth redirect URI: as ``PublicURL/normalized(_:)``
    /// returns it (no trailing slash), so paths are appended as they are.
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
    /// `/metrics`, when the process has a metrics backend.
    public var metrics: MetricsEndpoint?
    /// This node's name, as `/healthz` reports it (several nodes may share one database).
    public var nodeID: String?
    /// How many wrong passwords an address, and a client, may send before they must wait.
    public var signInLimits = SignInThrottle.Limits()
    /// Fixes sign-ins of existing mailboxes (Cases 1–3, account switches).
    public var reauthorization: Reauthorization {
        Reauthorization(store: store, vault: mailboxes.vault, connectionTest: connectionTest, inbound: inbound, logger: Logger(label: "mailroom.reauthorization"))
    }

    public init(
        store: any WebStore, mailboxes: MailboxService, inbound: InboundSync?, oauth: OAuthProviders? = nil, publicURL: String? = nil,
        connectionTest: ConnectionTest = ConnectionTest(settings: SyncSettings(), logger: Logger(label: "mailroom.connection-test")),
        replies: ReplyService? = nil, notifier: AdminNotifier? = nil, servers: ProviderServers? = nil
    ) {
        self.notifier = notifier
        self.replies = replies ?? ReplyService(store: store, outbound: nil)
        self.store = store
        self.mailboxes = mailboxes
        self.inbound = inbound
        self.oauth = oauth
        self.publicURL = publicURL
        self.connectionTest = connectionTest
        // Given here, it wins over the one `mailboxes` was built with; either way there is one value.
        if let servers { self.mailboxes.servers = servers }
    }
}

/// What `/healthz` says.
struct HealthReport: Codable, Sendable {
    var status: String
    var database: String
    var node: String?
    var workers: [String: WorkerHeartbeats.Status]
}

/// Builds the router for pages and the JSON API. Tests call this directly (no socket needed).
///
/// Who may call what is decided by the route group a route is registered in, never by the text of its path:
/// public (sign-in, help, health, the API's description), signed-in pages, admin pages and sign-ins, the API for
/// anyone signed in, and the admin part of the API. Each group's middleware is the check.
public func buildRouter(_ dependencies: WebDependencies) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let accounts = Accounts(store: dependencies.store, limits: dependencies.signInLimits)
    let https = dependencies.publicURL?.hasPrefix("https:") == true
    router.add(middleware: SecurityHeadersMiddleware(https: https))
    if dependencies.metrics != nil { router.add(middleware: MetricsMiddleware()) }
    router.add(middleware: ErrorPageMiddleware())
    router.add(middleware: CanonicalPathMiddleware())
    router.add(middleware: SessionMiddleware(store: dependencies.store, https: https))
    let pages = try PagesController(dependencies: dependencies)
    let sessions = SessionController(dependencies: dependencies, pages: pages, accounts: accounts)

    // Public: no one needs to be signed in.
    pages.registerPublic(on: router)
    sessions.registerPublic(on: router)
    APIController.registerDocument(on: router)
    // For load balancers and orchestrators: 200 only when the database answers; with the node's name and when
    // each of its workers last went round its loop.
    router.get("healthz") { _, context in
        let workers = await WorkerHeartbeats.shared.report()
        do {
            try await dependencies.store.ping()
            return JSONResponse(value: HealthReport(status: "ok", database: "ok", node: dependencies.nodeID, workers: workers))
        } catch {
            context.logger.error("Health check failed", metadata: ["error": "\(error)"])
            return JSONResponse(
                value: HealthReport(status: "database unavailable", database: "unavailable", node: dependencies.nodeID, workers: workers),
                status: .serviceUnavailable)
        }
    }
    dependencies.metrics?.register(on: router)

    // Pages for anyone signed in.
    let signedIn = router.group().add(middleware: SignedInPagesMiddleware()).add(middleware: CSRFMiddleware(api: false))
    pages.register(on: signedIn)
    sessions.register(on: signedIn)

    // Channel settings and provider sign-ins: admins only.
    let admin = router.group().add(middleware: SignedInPagesMiddleware()).add(middleware: AdminOnlyMiddleware(api: false))
        .add(middleware: CSRFMiddleware(api: false))
    ChannelsController(dependencies: dependencies, pages: pages).register(on: admin.group("admin/channels/email"))
    SignInController(dependencies: dependencies, pages: pages).register(on: admin.group("oauth"))

    // The API: anyone signed in, and its mailbox part for admins.
    let api = router.group("api/v1").add(middleware: APIGateMiddleware(accounts: accounts)).add(middleware: CSRFMiddleware(api: true))
    let controller = APIController(dependencies: dependencies)
    controller.register(on: api)
    controller.registerAdmin(on: api.group("mailboxes").add(middleware: AdminOnlyMiddleware(api: true)))
    return router
}

/// On every response, errors and redirects included: pages are never framed by another site (clickjacking),
/// never sniffed into another type, leak no path to other sites, and under https the browser is told to use
/// nothing else (HSTS). Outermost, so a thrown error is turned into its response here and gets them too.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// `MAILROOM_PUBLIC_URL` is https.
    var https = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.xFrameOptions] = "DENY"
        if response.headers[.xContentTypeOptions] == nil { response.headers[.xContentTypeOptions] = "nosniff" }
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        }
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.crossOriginOpenerPolicy] = "same-origin"
        response.headers[.permissionsPolicy] = "camera=(), microphone=(), geolocation=(), payment=()"
        if https { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let permissionsPolicy = Self("Permissions-Policy")!
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
