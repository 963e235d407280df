import Hummingbird
import Logging

/// Logs one line per request: method, path, status and duration.
///
/// Only the path is logged — never the query string (authorization codes and `state` travel there),
/// headers (Basic credentials) or bodies (secrets, tokens, PKCE verifiers).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        let path = request.uri.path
        do {
            let response = try await next(request, context)
            logger.info("\(method) \(path) \(response.status.code) \(Self.milliseconds(since: start))ms")
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            logger.info("\(method) \(path) \(status) \(Self.milliseconds(since: start))ms")
            throw error
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
