import FuzzDriver
import Foundation
@testable import OAuth
import SASL

#if canImport(Glibc)
import Glibc
#endif

/// What identity providers and mail servers send about OAuth, on arbitrary bytes: token-endpoint answers (tokens,
/// errors, `Retry-After`), discovery documents, base64url (id_token headers) and SASL error challenges. The first
/// byte picks the reader and, for answers, the HTTP status; none may trap, and what they return stays in bounds.
@main
enum FuzzOAuth {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            let all = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            guard let first = all.first else { return 0 }
            let rest = Array(all.dropFirst())
            let text = String(decoding: rest, as: UTF8.self)
            switch first % 6 {
            case 0:
                // An answer of any status; the body's first line doubles as its Retry-After header.
                let status = [200, 400, 401, 403, 429, 500, 503, 302][Int(first / 6) % 8]
                let retryAfter = String(text.prefix { $0 != "\n" })
                let response = OAuthHTTP.Response(status: status, headers: [("Retry-After", retryAfter)], body: Data(rest))
                let failure = TokenEndpoint.failure(response)
                if let wait = failure.retryAfter { precondition(wait >= .zero && wait <= .seconds(3600), "Retry-After outside 0…3600 s") }
                if (200...299).contains(status) { precondition(failure.kind == .transient, "a 2xx without tokens must be transient") }
            case 1:
                if let tokens = try? JSONDecoder().decode(TokenResponse.self, from: Data(rest)) {
                    _ = tokens.tokenType.caseInsensitiveCompare("bearer")
                }
            case 2:
                if let document = try? JSONDecoder().decode(DiscoveryDocument.self, from: Data(rest)) {
                    for source in ["https://id.example.com/.well-known/openid-configuration", "http://127.0.0.1:9400/.well-known/openid-configuration"] {
                        if let url = URL(string: source), document.problem(fetchedFrom: url) == nil {
                            let secure = url.scheme == "https"
                            for endpoint in [document.authorizationEndpoint, document.tokenEndpoint, document.jwksURI] {
                                precondition(!secure || endpoint.scheme?.lowercased() == "https", "a document over https passed with a plain endpoint")
                            }
                        }
                    }
                }
            case 3:
                if let decoded = Base64URL.decode(text) {
                    precondition(decoded.count <= rest.count, "base64url decoded to more bytes than it had")
                }
            case 4:
                if let challenge = SASLOAuthError(challenge: rest) {
                    _ = challenge.summary
                }
            default:
                if let wait = TokenEndpoint.parseRetryAfter(text) {
                    precondition(wait >= .zero && wait <= .seconds(3600), "Retry-After outside 0…3600 s")
                }
                _ = OAuthErrorClassifier.classify(status: Int(first), error: text, codes: rest.prefix(4).map(Int.init))
            }
            return 0
        })
    }
}
