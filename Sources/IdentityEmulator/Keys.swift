import Crypto
import Foundation
import _CryptoExtras

/// An RSA signing key with its key id, able to sign RS256 JWTs and to describe itself as a JWK.
///
/// Generated in memory at first use: the emulator never needs persistent keys, because Mailroom
/// fetches the JWKS from the running emulator just as it would from Microsoft or Google.
struct SigningKey: Sendable {
    let kid: String
    let privateKey: _RSA.Signing.PrivateKey

    init(kid: String) throws {
        self.kid = kid
        self.privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// The public JWK (`kty`, `use`, `kid`, `n`, `e`, `alg`) as published at the JWKS endpoints.
    func jwk() -> JSONValue {
        let primitives = try? privateKey.publicKey.getKeyPrimitives()
        return .object([
            ("kty", .string("RSA")),
            ("use", .string("sig")),
            ("kid", .string(kid)),
            ("n", .string(primitives.map { Base64URL.encode($0.modulus) } ?? "")),
            ("e", .string(primitives.map { Base64URL.encode($0.publicExponent) } ?? "")),
            ("alg", .string("RS256")),
        ])
    }

    /// Signs `claims` as a compact RS256 JWS with header `{"typ":"JWT","alg":"RS256","kid":…}`.
    func signJWT(claims: JSONValue) throws -> String {
        let header = JSONValue.object([("typ", .string("JWT")), ("alg", .string("RS256")), ("kid", .string(kid))])
        let signingInput =
            Base64URL.encode(Data(header.serialized().utf8)) + "." + Base64URL.encode(Data(claims.serialized().utf8))
        let signature = try privateKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }
}

/// The three keys the emulator signs with: Microsoft id_tokens, Microsoft work-account access tokens
/// (a separate key, as Microsoft's resource tokens are not meant to be validated by the client), and
/// Google id_tokens.
struct EmulatorKeys: Sendable {
    let microsoftIDToken: SigningKey
    let microsoftAccessToken: SigningKey
    let google: SigningKey

    static func generate() throws -> EmulatorKeys {
        EmulatorKeys(
            microsoftIDToken: try SigningKey(kid: RandomToken.base64url(27)),
            microsoftAccessToken: try SigningKey(kid: RandomToken.base64url(27)),
            google: try SigningKey(kid: RandomToken.base64url(40).lowercased()))
    }

    /// Keys are generated once per process: RSA key generation costs tens of milliseconds and tests
    /// create many emulators.
    /// (BoringSSL key generation does not fail in practice; if it ever did, nothing could be signed.)
    static let shared: EmulatorKeys = {
        do {
            return try EmulatorKeys.generate()
        } catch {
            fatalError("identity-emulator: RSA key generation failed: \(error)")
        }
    }()

    func microsoftJWKS() -> JSONValue {
        .object([("keys", .array([microsoftIDToken.jwk(), microsoftAccessToken.jwk()]))])
    }

    func googleJWKS() -> JSONValue {
        .object([("keys", .array([google.jwk()]))])
    }
}
