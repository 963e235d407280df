import _CryptoExtras
import Foundation
import Hummingbird
import JWTKit
import Logging
import Testing
@testable import OAuth

/// A provider's signing side: keys, a JWKS endpoint on loopback, and id_tokens with chosen claims.
actor FakeIssuer {
    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var sub: SubjectClaim
        var nonce: String?
        var oid: String?
        var tid: String?
        var email: String?
        var preferred_username: String?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    private(set) var published: [String: JWTKit.Insecure.RSA.PrivateKey] = [:]
    private var task: Task<Void, any Error>?
    private(set) var fetches = 0
    nonisolated let port: Int

    init() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let router = Router()
        let box = Box()
        router.get("keys") { _, _ in
            guard let issuer = box.issuer else { return Response(status: .internalServerError) }
            let json = await issuer.jwksJSON()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        var quiet = Logger(label: "fake-issuer")
        quiet.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        let running = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        port = await iterator.next() ?? 0
        task = running
        box.issuer = self
        try publish(kid: "key-1")
    }

    final class Box: @unchecked Sendable { weak var issuer: FakeIssuer? }

    nonisolated var jwksURL: URL { URL(string: "http://127.0.0.1:\(port)/keys")! }

    func stop() { task?.cancel() }

    func publish(kid: String) throws {
        published[kid] = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    func unpublish(kid: String) { published[kid] = nil }

    func jwksJSON() -> String {
        fetches += 1
        let keys = published.compactMap { kid, key -> String? in
            guard let (n, e) = try? key.publicKey.getKeyPrimitives() else { return nil }
            // Microsoft publishes no "alg"; neither do we.
            return #"{"kty":"RSA","use":"sig","kid":"\#(kid)","n":"\#(Base64URL.encode(n))","e":"\#(Base64URL.encode(e))"}"#
        }
        return #"{"keys":[\#(keys.joined(separator: ","))]}"#
    }

    /// Signs `claims` with the key published under `kid`, or with `key` to forge a signature.
    func sign(_ claims: Claims, kid: String = "key-1", with key: JWTKit.Insecure.RSA.PrivateKey? = nil) async throws -> String {
        guard let signingKey = key ?? published[kid] else { throw JWTError.noKeyProvided }
        let keys = JWTKeyCollection()
        await keys.add(rsa: signingKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }
}

@Suite("id_token verification", .serialized)
struct IDTokenVerifierTests {
    static let authority = "https://login.example.test"
    static let tenant = "11111111-2222-3333-4444-555555555555"

    func profile(_ issuer: FakeIssuer, tenant: String = "common") -> ProviderProfile {
        var profile = ProviderProfile.microsoft(clientID: "mailroom-app", clientSecret: "s", tenant: tenant, authority: URL(string: Self.authority)!)
        profile.jwksURI = issuer.jwksURL
        return profile
    }

    func claims(nonce: String = "n-1", aud: String = "mailroom-app", tid: String = tenant, exp: Date = Date().addingTimeInterval(3600), email: String? = "Support@Contoso.example") -> FakeIssuer.Claims {
        FakeIssuer.Claims(
            iss: .init(value: "\(Self.authority)/\(tid)/v2.0"), aud: .init(value: [aud]), exp: .init(value: exp), iat: .init(value: Date()),
            sub: .init(value: "pairwise-sub"), nonce: nonce, oid: "object-id", tid: tid, email: email, preferred_username: "support@contoso.example")
    }

    @Test func aValidTokenNamesTheAccountByAddressAndObjectID() async throws {
        let issuer = try await FakeIssuer()
        let verifier = IDTokenVerifier(http: OAuthHTTP())
        let identity = try await verifier.verify(try await issuer.sign(claims()), profile: profile(issuer), nonce: "n-1")
        #expect(identity == SignedInIdentity(address: "support@contoso.example", subject: "object-id", tenantID: Self.tenant, name: nil))
        // Without an email claim, preferred_username serves (protocols.md §1.2).
        let noEmail = try await verifier.verify(try await issuer.sign(claims(email: nil)), profile: profile(issuer), nonce: "n-1")
        #expect(noEmail.address == "support@contoso.example")
        await issuer.stop()
    }

    @Test func forgedOrMisaddressedTokensAreRejected() async throws {
        let issuer = try await FakeIssuer()
        let verifier = IDTokenVerifier(http: OAuthHTTP())
        let profile = profile(issuer)
        let stranger = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let cases: [(String, String)] = [
            ("bad signature", try await issuer.sign(claims(), with: stranger)),
            ("other audience", try await issuer.sign(claims(aud: "someone-else"))),
            ("other nonce", try await issuer.sign(claims(nonce: "replayed"))),
            ("expired", try await issuer.sign(claims(exp: Date().addingTimeInterval(-600)))),
            ("alg none", Self.unsigned(claims())),
            ("not a JWT", "garbage"),
        ]
        for (name, token) in cases {
            let error = await #expect(throws: OAuthFailure.self, "\(name)") { try await verifier.verify(token, profile: profile, nonce: "n-1") }
            #expect(error?.kind == .signInRejected, "\(name)")
        }
        await issuer.stop()
    }

    @Test func theIssuerMustMatchTheTokensTenantAndAConfiguredTenant() async throws {
        let issuer = try await FakeIssuer()
        let verifier = IDTokenVerifier(http: OAuthHTTP())
        var wrongIssuer = claims()
        wrongIssuer.iss = .init(value: "https://evil.example/\(Self.tenant)/v2.0")
        await #expect(throws: OAuthFailure.self) { try await verifier.verify(try await issuer.sign(wrongIssuer), profile: profile(issuer), nonce: "n-1") }
        let otherTenant = "99999999-2222-3333-4444-555555555555"
        let token = try await issuer.sign(claims(tid: otherTenant))
        _ = try await verifier.verify(token, profile: profile(issuer), nonce: "n-1")  // common: any tenant
        await #expect(throws: OAuthFailure.self) { try await verifier.verify(token, profile: profile(issuer, tenant: Self.tenant), nonce: "n-1") }
        await issuer.stop()
    }

    @Test func rotatedKeysAreFetchedWhenAnUnknownKeyIDAppears() async throws {
        let issuer = try await FakeIssuer()
        let verifier = IDTokenVerifier(http: OAuthHTTP())
        _ = try await verifier.verify(try await issuer.sign(claims()), profile: profile(issuer), nonce: "n-1")
        try await issuer.publish(kid: "key-2")
        await issuer.unpublish(kid: "key-1")
        try await Task.sleep(for: .seconds(6))  // past the minimum refetch interval
        let identity = try await verifier.verify(try await issuer.sign(claims(), kid: "key-2"), profile: profile(issuer), nonce: "n-1")
        #expect(identity.address == "support@contoso.example")
        #expect(await issuer.fetches == 2)
        await issuer.stop()
    }

    static func unsigned(_ claims: FakeIssuer.Claims) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT","kid":"key-1"}"#.utf8))
        let payload = Base64URL.encode((try? JSONEncoder().encode(claims)).map(Array.init) ?? [])
        return "\(header).\(payload)."
    }
}
