import Foundation
import Logging
import MailroomCore
import SQLKit

/// Ties a database to the secret key its secrets are sealed with. A missing key file used to mean «make a new
/// key», which silently turned every stored password and token into noise; now the database remembers a value
/// sealed with its key, and a missing or different key stops Mailroom at start with what to do.
public enum KeyCheck {
    static let marker = "mailroom key check v1"

    /// The vault for this database: the operator's key, checked against the database; a new key (and key file)
    /// only for a database that holds no secret yet.
    public static func vault(store: SQLStore, environment: [String: String], keyFile: String, logger: Logger) async throws -> Vault {
        let check = try await store.keyCheckValue()
        let sample = try await store.anySealedSecret()
        let vault = try Vault.load(environment: environment, keyFile: keyFile, mayCreate: check == nil && sample == nil, logger: logger)
        let whereKey = environment["MAILROOM_SECRET_KEY"].map { $0.isEmpty ? nil : $0 } == nil ? "the key file «\(keyFile)»" : "MAILROOM_SECRET_KEY"
        let wrong = VaultError.badKey(
            "The secret key in \(whereKey) is not the one this database's passwords and tokens were sealed with. "
                + "Start Mailroom with the key it was created with (restore the key file from your backup, or set MAILROOM_SECRET_KEY); "
                + "a new key cannot read them.")
        if let check {
            guard (try? vault.open(check)) == marker else { throw wrong }
            return vault
        }
        if let sample {
            // A database from before the check: its secrets must open with this key.
            do { _ = try vault.open(sample) } catch VaultError.wrongKey { throw wrong }
        }
        try await store.saveKeyCheck(try vault.seal(marker))
        return vault
    }

    /// Where the key file lives unless the operator says: beside the SQLite file (so a database and its key move
    /// and are backed up together), else in the working folder.
    public static func defaultKeyFile(for database: DatabaseURL) -> String {
        if case .sqlite(let path) = database {
            let folder = (path as NSString).deletingLastPathComponent
            return folder.isEmpty ? "mailroom.key" : (folder as NSString).appendingPathComponent("mailroom.key")
        }
        return "mailroom.key"
    }
}

extension SQLStore {
    func keyCheckValue() async throws -> SealedSecret? {
        try await database.withSQL { sql in
            try await sql.raw("SELECT sealed FROM key_check WHERE id = 1").first().map { SealedSecret(bytes: try $0.bytes("sealed")) }
        }
    }

    func anySealedSecret() async throws -> SealedSecret? {
        try await database.withSQL { sql in
            if let row = try await sql.raw("SELECT sealed FROM credentials LIMIT 1").first() { return SealedSecret(bytes: try row.bytes("sealed")) }
            return try await sql.raw("SELECT access_token FROM oauth_grants LIMIT 1").first().map { SealedSecret(bytes: try $0.bytes("access_token")) }
        }
    }

    func saveKeyCheck(_ sealed: SealedSecret) async throws {
        try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO key_check (id, sealed, created_at) VALUES (1, \(bind: Data(sealed.bytes)), \(bind: Millis.now)) ON CONFLICT (id) DO NOTHING
                """).run()
        }
    }
}
