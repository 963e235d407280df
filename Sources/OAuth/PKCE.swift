import Crypto
import Foundation

/// Random values and PKCE (RFC 7636) for one authorization request.
enum Randomness {
    /// `count` random bytes as unpadded base64url: state, nonce and verifier values.
    static func token(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }
}

/// PKCE S256: the verifier stays with Mailroom, only its hash travels through the browser.
public struct PKCE: Sendable, Equatable, Codable {
    public let verifier: String

    public init() { self.verifier = Randomness.token(bytes: 32) }
    public init(verifier: String) { self.verifier = verifier }

    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    public var challenge: String { Base64URL.encode(SHA256.hash(data: Array(verifier.utf8))) }
}

enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
