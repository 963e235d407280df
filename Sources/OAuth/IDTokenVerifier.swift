import Foundation
import JWTKit

/// Who signed in, as the id_token states it.
public struct SignedInIdentity: Sendable, Equatable, Codable {
    /// The mail address to use: `email`, else `preferred_username` (Microsoft's `email` claim is optional).
    public var address: String
    /// The stable account identifier: Microsoft's `oid` (the same for every app), else `sub`.
    public var subject: String
    /// Microsoft's tenant ID (`tid`); personal accounts have 9188040d-6c67-4c5b-b112-36a304b66dad.
    public var tenantID: String?
    public var name: String?

    public init(address: String, subject: String, tenantID: String? = nil, name: String? = nil) {
        self.address = address
        self.subject = subject
        self.tenantID = tenantID
        self.name = name
    }
}

/// The id_token claims Mailroom reads (OpenID Connect Core §2; Microsoft's and Google's additions).
struct IDTokenClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?
    var sub: SubjectClaim
    var nonce: String?
    var oid: String?
    var tid: String?
    var email: String?
    var preferredUsername: String?
    var name: String?

    enum CodingKeys: String, CodingKey {
        case iss, aud, exp, iat, nbf, sub, nonce, oid, tid, email, name
        case preferredUsername = "preferred_username"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        // Checked by the verifier with clock skew; JWTKit's own checks would not allow any.
    }
}

/// Verifies id_tokens: RS256 signature against the provider's JWKS (cached; refetched when an unknown key ID
/// appears, which is how providers rotate keys), then `iss`, `aud`, `exp`/`nbf` with a little skew, and `nonce`.
public actor IDTokenVerifier {
    private let http: OAuthHTTP
    private var cache: [URL: (keys: JWTKeyCollection, kids: Set<String>, fetchedAt: Date)] = [:]
    /// Keys are refetched at least this often, and at most once per `minimumRefetch` when an unknown kid appears.
    private let maxAge: TimeInterval = 24 * 3600
    private let minimumRefetch: TimeInterval = 5
    private let skew: TimeInterval = 120

    public init(http: OAuthHTTP) { self.http = http }

    public func verify(_ token: String, profile: ProviderProfile, nonce: String, now: Date = Date()) async throws -> SignedInIdentity {
        let header = try Self.header(of: token)
        guard header.alg == "RS256" else {
            throw OAuthFailure.signIn("The id_token is signed with «\(header.alg ?? "none")»; only RS256 is accepted.")
        }
        let keys = try await keys(for: profile.jwksURI, kid: header.kid, now: now)
        let claims: IDTokenClaims
        do {
            claims = try await keys.verify(token, as: IDTokenClaims.self)
        } catch {
            throw OAuthFailure.signIn("The id_token's signature does not verify against the provider's published keys.")
        }
        guard claims.aud.value.contains(profile.clientID) else {
            throw OAuthFailure.signIn("The id_token was issued for another application (audience mismatch).")
        }
        guard claims.exp.value.addingTimeInterval(skew) > now else { throw OAuthFailure.signIn("The id_token has expired.") }
        if let nbf = claims.nbf, nbf.value.addingTimeInterval(-skew) > now { throw OAuthFailure.signIn("The id_token is not valid yet.") }
        guard let tokenNonce = claims.nonce, tokenNonce == nonce else {
            throw OAuthFailure.signIn("The id_token does not answer this sign-in (nonce mismatch); it may be replayed.")
        }
        switch profile.issuer {
        case .exact(let issuer):
            guard claims.iss.value == issuer else { throw OAuthFailure.signIn("The id_token comes from an unexpected issuer «\(claims.iss.value)».") }
        case .microsoft(let authority, let tenant):
            guard let tid = claims.tid, claims.iss.value == "\(authority)/\(tid)/v2.0" else {
                throw OAuthFailure.signIn("The id_token comes from an unexpected issuer «\(claims.iss.value)».")
            }
            if !["common", "organizations", "consumers"].contains(tenant.lowercased()), Self.isGUID(tenant), tid.lowercased() != tenant.lowercased() {
                throw OAuthFailure.signIn("The account belongs to another Microsoft tenant than the one configured.")
            }
        }
        guard let address = (claims.email ?? claims.preferredUsername)?.trimmingCharacters(in: .whitespaces), address.contains("@") else {
            throw OAuthFailure.signIn("The identity provider did not say which mail address signed in (no email or preferred_username claim).")
        }
        return SignedInIdentity(address: address.lowercased(), subject: claims.oid ?? claims.sub.value, tenantID: claims.tid, name: claims.name)
    }

    private func keys(for url: URL, kid: String?, now: Date) async throws -> JWTKeyCollection {
        if let cached = cache[url] {
            let fresh = now.timeIntervalSince(cached.fetchedAt) < maxAge
            let known = kid.map { cached.kids.contains($0) } ?? true
            if fresh && (known || now.timeIntervalSince(cached.fetchedAt) < minimumRefetch) { return cached.keys }
        }
        let response = try await http.send(.GET, url)
        guard response.status == 200, let jwks = try? JSONDecoder().decode(JWKS.self, from: response.body) else {
            throw OAuthFailure(kind: .transient, httpStatus: response.status, detail: "The identity provider's signing keys could not be loaded from \(url.absoluteString).")
        }
        let collection = JWTKeyCollection()
        var kids = Set<String>()
        for var key in jwks.keys where key.keyType == .rsa {
            // Microsoft's keys carry no "alg"; they are RS256 keys. Pinning it stops a token choosing its algorithm.
            key.algorithm = .rs256
            guard let identifier = key.keyIdentifier else { continue }
            do {
                try await collection.add(jwk: key)
                kids.insert(identifier.string)
            } catch {
                continue  // a key Mailroom cannot use; tokens signed with it will fail to verify
            }
        }
        cache[url] = (collection, kids, now)
        return collection
    }

    private struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    private static func header(of token: String) throws -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = Base64URL.decode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: Data(bytes)) else {
            throw OAuthFailure.signIn("The identity provider returned an id_token that is not a signed JWT.")
        }
        return header
    }

    private static func isGUID(_ text: String) -> Bool { UUID(uuidString: text) != nil }
}
