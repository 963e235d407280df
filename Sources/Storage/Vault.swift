import Crypto
import Foundation
import Logging
import MailroomCore

/// Seals secrets with AES-256-GCM under the operator's key. The only code that sees plaintext secrets.
public struct Vault: SecretVault {
    private let key: SymmetricKey
    /// Format byte of sealed values, so the scheme can change without guessing: 2 binds a context (associated
    /// data); 1, from before, bound none and is only opened to be sealed again (``SQLStore/resealLegacySecrets``).
    private static let version: UInt8 = 2
    private static let legacyVersion: UInt8 = 1

    public init(key: SymmetricKey) { self.key = key }

    public func seal(_ secret: String, for context: SecretContext) throws -> SealedSecret {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Data(context.description.utf8))
        guard let combined = box.combined else { throw VaultError.sealFailed }
        return SealedSecret(bytes: [Self.version] + Array(combined))
    }

    public func open(_ sealed: SealedSecret, for context: SecretContext) throws -> String {
        guard sealed.bytes.first == Self.version else { throw VaultError.unreadable }
        return try open(sealed.bytes.dropFirst(), authenticating: Data(context.description.utf8))
    }

    /// A value sealed before contexts were bound; nil when it is not of that kind.
    func openLegacy(_ sealed: SealedSecret) throws -> String? {
        guard sealed.bytes.first == Self.legacyVersion else { return nil }
        return try open(sealed.bytes.dropFirst(), authenticating: nil)
    }

    private func open(_ combined: ArraySlice<UInt8>, authenticating context: Data?) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: Data(combined))
            let plain = try context.map { try AES.GCM.open(box, using: key, authenticating: $0) } ?? AES.GCM.open(box, using: key)
            guard let text = String(data: plain, encoding: .utf8) else { throw VaultError.unreadable }
            return text
        } catch is VaultError {
            throw VaultError.unreadable
        } catch {
            throw VaultError.wrongKey
        }
    }

    /// Finds the key: `MAILROOM_SECRET_KEY` (base64 of 32 bytes) wins; otherwise the key file. With `mayCreate`
    /// (a database that holds no secret yet) a missing file is created, exclusively and with mode 0600, and where
    /// the key lives is said once so the operator can back it up; without, a missing key is an error, never a new key.
    public static func load(environment: [String: String], keyFile: String, mayCreate: Bool = true, logger: Logger) throws(VaultError) -> Vault {
        if let encoded = environment["MAILROOM_SECRET_KEY"], !encoded.isEmpty {
            guard let bytes = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw VaultError.badKey("MAILROOM_SECRET_KEY must be 32 random bytes in base64 (for example the output of `openssl rand -base64 32`).")
            }
            return Vault(key: SymmetricKey(data: bytes))
        }
        if let existing = try read(keyFile) { return existing }
        guard mayCreate else {
            throw VaultError.badKey(
                "This database holds passwords and tokens sealed with a secret key, but the key file «\(keyFile)» does not exist and MAILROOM_SECRET_KEY is not set. "
                    + "Restore the key file from your backup (or pass its path with --key-file / MAILROOM_KEY_FILE). Mailroom will not make a new key: it could not read them.")
        }
        let key = SymmetricKey(size: .bits256)
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // O_EXCL: if another process made the file meanwhile, use its key rather than overwrite it.
        let fd = Foundation.open(keyFile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST, let raced = try read(keyFile) { return raced }
            throw VaultError.badKey("Cannot create the key file «\(keyFile)» (\(String(cString: strerror(errno)))). Make its folder writable or set MAILROOM_SECRET_KEY.")
        }
        let bytes = Array(encoded.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(keyFile)
            throw VaultError.badKey("Cannot write the key file «\(keyFile)». Make its folder writable or set MAILROOM_SECRET_KEY.")
        }
        logger.notice("Created the secret key file; back it up, stored passwords cannot be read without it", metadata: ["path": .string(keyFile)])
        return Vault(key: key)
    }

    private static func read(_ keyFile: String) throws(VaultError) -> Vault? {
        guard let contents = FileManager.default.contents(atPath: keyFile) else { return nil }
        let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
            throw VaultError.badKey("The key file «\(keyFile)» does not hold 32 bytes in base64. Restore it from your backup; without it stored passwords cannot be read.")
        }
        return Vault(key: SymmetricKey(data: bytes))
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
        case .wrongKey: "A stored secret cannot be decrypted: it was sealed with another key (start Mailroom with the key it was saved with, MAILROOM_SECRET_KEY or the key file) or for another mailbox."
        case .badKey(let message): message
        }
    }
}
