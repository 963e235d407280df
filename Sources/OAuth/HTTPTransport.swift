import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The few HTTP calls OAuth makes (token endpoint, JWKS, discovery), with a deadline and a size cap so a broken or
/// hostile provider cannot hang Mailroom or fill its memory.
public struct OAuthHTTP: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    let client: HTTPClient
    /// The whole request, from connecting to the last byte of the answer.
    public var timeout: Duration
    public var maxBodySize: Int

    /// - Parameters:
    ///   - client: by default ``failFast``, whose refused connection fails at once.
    ///   - timeout: the deadline of one request; a provider that accepts and never answers costs this much, once.
    public init(client: HTTPClient = OAuthHTTP.failFast, timeout: Duration = .seconds(15), maxBodySize: Int = 1 << 20) {
        self.client = client
        self.timeout = timeout
        self.maxBodySize = maxBodySize
    }

    /// An HTTP client for identity providers: a connection attempt gets 5 seconds and a silent peer 10 between
    /// bytes, and a refused or failed connection is not retried until the deadline (AsyncHTTPClient's default
    /// retries it with backoff for the whole request timeout, which made a stopped provider look like a 30-second
    /// hang). Mailroom's own schedule retries the mailbox, with backoff, on its next attempt.
    public static let failFast: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Sends a request; network failures become a transient ``OAuthFailure`` naming the endpoint (never the body).
    func send(_ method: HTTPMethod, _ url: URL, form: [(String, String)]? = nil, headers: [(String, String)] = []) async throws -> Response {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
        }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            let response = try await client.execute(request, deadline: deadline)
            let body = try await Self.withDeadline(deadline) { try await response.body.collect(upTo: self.maxBodySize) }
            return Response(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Data(buffer: body))
        } catch let failure as OAuthFailure {
            throw failure
        } catch {
            throw OAuthFailure(kind: .transient, detail: "Could not reach \(url.host ?? "the identity provider"): \(Self.describe(error))")
        }
    }

    /// The body is read under the same deadline as the head: a provider that sends headers and then stalls
    /// must not hold the renewal past it.
    private static func withDeadline<T: Sendable>(_ deadline: NIODeadline, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let left = deadline - NIODeadline.now()
                try await Task.sleep(nanoseconds: UInt64(max(0, left.nanoseconds)))
                throw HTTPClientError.deadlineExceeded
            }
            guard let first = try await group.next() else { throw HTTPClientError.deadlineExceeded }
            group.cancelAll()
            return first
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
        }
        if error is NIOTooManyBytesError { return "answer too large" }
        if "\(error)".lowercased().contains("connection refused") { return "connection refused" }
        return String(describing: type(of: error)) == "NIOConnectionError" ? "connection refused" : "\(error)"
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5): what token endpoints accept.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "").replacingOccurrences(of: "%20", with: "+")
    }
}
