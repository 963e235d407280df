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
    public var timeout: Duration
    public var maxBodySize: Int

    public init(client: HTTPClient = .shared, timeout: Duration = .seconds(30), maxBodySize: Int = 1 << 20) {
        self.client = client
        self.timeout = timeout
        self.maxBodySize = maxBodySize
    }

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
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            let body = try await response.body.collect(upTo: maxBodySize)
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

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
        }
        if error is NIOTooManyBytesError { return "answer too large" }
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
