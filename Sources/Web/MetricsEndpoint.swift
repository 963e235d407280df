import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/metrics`: the process's figures in Prometheus text format, rendered by whatever the executable bootstrapped
/// (Web knows no metrics backend). Optionally behind a bearer token (`MAILROOM_METRICS_TOKEN`), compared in
/// constant time, since the figures name mailbox states and volumes.
public struct MetricsEndpoint: Sendable {
    /// Renders every metric as Prometheus text (exposition format 0.0.4).
    public var render: @Sendable () -> [UInt8]
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    public var token: String?

    public init(token: String?, render: @escaping @Sendable () -> [UInt8]) {
        self.token = token
        self.render = render
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("metrics") { request, _ -> Response in
            if let token, !Self.authorized(request.headers[.authorization], token: token) {
                return Response(
                    status: .unauthorized,
                    headers: [.wwwAuthenticate: "Bearer realm=\"mailroom-metrics\"", .contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "A bearer token is required (MAILROOM_METRICS_TOKEN).\n")))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: render())))
        }
    }

    /// Whether `header` carries the token, compared without an early exit on the first differing byte.
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<max(given.count, expected.count) {
            difference |= (index < given.count ? given[index] : 0) ^ (index < expected.count ? expected[index] : 0)
        }
        return difference == 0
    }
}
