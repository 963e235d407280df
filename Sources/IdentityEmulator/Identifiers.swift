import Crypto
import Foundation

/// Random and derived identifiers.
///
/// Tokens and codes must be unguessable (tests prove Mailroom never gets in with a stale one), while
/// object ids must be stable per address so demo identities look the same after a restart.
enum StableIdentifiers {
    /// A GUID-shaped string derived from `seed` with SHA-256.
    static func guid(from seed: String) -> String {
        let digest = Array(SHA256.hash(data: Data(seed.utf8)))
        return formatGUID(Array(digest.prefix(16)))
    }

    /// Pairwise subject (`sub`) as Microsoft issues it: 43 base64url characters, different per client.
    static func pairwiseSubject(objectID: String, clientID: String) -> String {
        let digest = SHA256.hash(data: Data("sub:\(objectID):\(clientID.lowercased())".utf8))
        return Base64URL.encode(Data(digest))
    }

    /// Google's numeric subject (21 digits), the same for every client.
    static func googleSubject(address: String) -> String {
        let digest = Array(SHA256.hash(data: Data("gsub:\(address.lowercased())".utf8)))
        var digits = "1"
        for byte in digest.prefix(20) { digits.append(String(byte % 10)) }
        return digits
    }

    static func formatGUID(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let chars = Array(hex)
        func part(_ from: Int, _ to: Int) -> String { String(chars[from..<to]) }
        return "\(part(0, 8))-\(part(8, 12))-\(part(12, 16))-\(part(16, 20))-\(part(20, 32))"
    }
}

enum RandomToken {
    /// `count` base64url characters from the system CSPRNG (URL- and form-safe, so Dovecot can post
    /// them back unescaped).
    static func base64url(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        out.reserveCapacity(count)
        for _ in 0..<count {
            out.append(alphabet[Int(generator.next(upperBound: UInt8(alphabet.count)))])
        }
        return out
    }

    static func guid() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return StableIdentifiers.formatGUID(bytes)
    }
}

enum Base64URL {
    static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension IdentityEmulator {
    /// The fingerprint the audit list uses for a refresh token: the first 16 hex digits of its
    /// SHA-256. Lets tests correlate audit entries with a token they hold without the emulator ever
    /// recording the token itself.
    public static func fingerprint(of token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
