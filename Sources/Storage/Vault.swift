import Crypto
import Foundation
import Logging
import MailroomCore

/// Seals secrets with AES-256-GCM under the operator's key. The only code that sees plaintext secrets.
public struct Vault: SecretVault {
    private let key: SymmetricKey
    /// Format byte of sealed values, so the scheme can change without guessing.
    private static let version: UInt8 = 1

    public init(key: SymmetricKey) { self.key = key }

    public func seal(_ secret: String) throws -> SealedSecret {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key)
        guard let combined = box.combined else { throw VaultError.sealFailed }
        return SealedSecret(bytes: [Self.version] + Array(combined))
    }

    public func open(_ sealed: SealedSecret) throws -> String {
        guard sealed.bytes.first == Self.version else { throw VaultError.unreadable }
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed.bytes.dropFirst()))
            let plain = try AES.GCM.open(box, using: key)
            guard let text = String(data: plain, encoding: .utf8) else { throw VaultError.unreadable }
            return text
        } catch is VaultError {
            throw VaultError.unreadable
        } catch {
            throw VaultError.wrongKey
        }
    }

    /// Finds the key: `MAILROOM_SECRET_KEY` (base64 of 32 bytes) wins; otherwise the key file, created with
    /// mode 0600 on first use. Says where the key lives once, so the operator can back it up.
    public static func load(environment: [String: String], keyFile: String, logger: Logger) throws(VaultError) -> Vault {
        if let encoded = environment["MAILROOM_SECRET_KEY"], !encoded.isEmpty {
            guard let bytes = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw VaultError.badKey("MAILROOM_SECRET_KEY must be 32 random bytes in base64 (for example the output of `openssl rand -base64 32`).")
            }
            return Vault(key: SymmetricKey(data: bytes))
        }
        let manager = FileManager.default
        if let contents = manager.contents(atPath: keyFile) {
            let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw VaultError.badKey("The key file «\(keyFile)» does not hold 32 bytes in base64. Restore it from your backup; without it stored passwords cannot be read.")
            }
            return Vault(key: SymmetricKey(data: bytes))
        }
        let key = SymmetricKey(size: .bits256)
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        let created = manager.createFile(atPath: keyFile, contents: Data(encoded.utf8), attributes: [.posixPermissions: 0o600])
        guard created else {
            throw VaultError.badKey("Cannot create the key file «\(keyFile)». Make its folder writable or set MAILROOM_SECRET_KEY.")
        }
        logger.notice("Created the secret key file; back it up, stored passwords cannot be read without it", metadata: ["path": .string(keyFile)])
        return Vault(key: key)
    }
}

public enum VaultError: Error, Sendable, CustomStringConvertible {
    case sealFailed
    case unreadable
    case wrongKey
    case badKey(String)

    public var description: String {
        switch self {
        case .sealFailed: "A secret could not be encrypted."
        case .unreadable: "A stored secret is unreadable."
        case .wrongKey: "A stored secret cannot be decrypted with this key. Start Mailroom with the key it was saved with (MAILROOM_SECRET_KEY or the key file)."
        case .badKey(let message): message
        }
    }
}
