import Hummingbird
import MailroomCore

/// Every request's context: who is signed in (nil for the sign-in page and health checks).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The signed-in person, with their session's CSRF token.
    public var session: WebSession?
    /// True when the API was called with HTTP Basic credentials: no ambient cookie, so no CSRF token is needed.
    public var viaBasicAuth = false

    /// The caller's IP address, for the per-client sign-in limit; nil when unknown (tests without a socket).
    public var clientAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    public var user: User? { session?.user }
}
