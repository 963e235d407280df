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
            guard (try? vault.open(check, for: .keyCheck)) == marker else { throw wrong }
        } else {
            if let sample {
                // A database from before the check: its secrets must open with this key.
                do {
                    if try vault.openLegacy(sample.sealed) == nil { _ = try vault.open(sample.sealed, for: sample.context) }
                } catch VaultError.wrongKey { throw wrong }
            }
            try await store.saveKeyCheck(try vault.seal(marker, for: .keyCheck))
            // Two first starts at once with different keys: only the check that was saved counts.
            guard let saved = try await store.keyCheckValue(), (try? vault.open(saved, for: .keyCheck)) == marker else { throw wrong }
        }
        let resealed = try await store.resealLegacySecrets(vault)
        if resealed > 0 { logger.notice("Stored secrets were sealed again, bound to their mailbox", metadata: ["count": "\(resealed)"]) }
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

    func anySealedSecret() async throws -> (sealed: SealedSecret, context: SecretContext)? {
        try await database.withSQL { sql in
            if let row = try await sql.raw("""
                SELECT c.sealed, m.email FROM credentials c JOIN mailboxes m ON m.id = c.mailbox_id LIMIT 1
                """).first() {
                return (SealedSecret(bytes: try row.bytes("sealed")), .password(of: try row.string("email")))
            }
            return try await sql.raw("""
                SELECT g.access_token, m.email FROM oauth_grants g JOIN mailboxes m ON m.id = g.mailbox_id LIMIT 1
                """).first().map { (SealedSecret(bytes: try $0.bytes("access_token")), .accessToken(of: try $0.string("email"))) }
        }
    }

    /// Seals every secret stored before contexts were bound again, bound to its mailbox and purpose, so from now
    /// on none opens anywhere but in its own row. Returns how many were sealed again.
    public func resealLegacySecrets(_ vault: Vault) async throws -> Int {
        // Most starts find nothing to do: look without taking the write lock another node or command may hold.
        let legacy = try await database.withSQL { sql in
            let credentials = try await sql.raw("SELECT sealed FROM credentials").all().map { try $0.bytes("sealed") }
            let grants = try await sql.raw("SELECT access_token FROM oauth_grants").all().map { try $0.bytes("access_token") }
            return (credentials + grants).contains { $0.first == 1 }
        }
        guard legacy else { return 0 }
        return try await database.transaction { sql in
            var count = 0
            for row in try await sql.raw("""
                SELECT c.mailbox_id, c.direction, c.sealed, m.email FROM credentials c JOIN mailboxes m ON m.id = c.mailbox_id
                """).all() {
                guard let plain = try vault.openLegacy(SealedSecret(bytes: try row.bytes("sealed"))) else { continue }
                let sealed = try vault.seal(plain, for: .password(of: try row.string("email")))
                try await sql.raw("""
                    UPDATE credentials SET sealed = \(bind: Data(sealed.bytes))
                    WHERE mailbox_id = \(bind: try row.int64("mailbox_id")) AND direction = \(bind: try row.string("direction"))
                    """).run()
                count += 1
            }
            for row in try await sql.raw("""
                SELECT g.mailbox_id, g.access_token, g.refresh_token, m.email FROM oauth_grants g JOIN mailboxes m ON m.id = g.mailbox_id
                """).all() {
                let email = try row.string("email")
                let access = try vault.openLegacy(SealedSecret(bytes: try row.bytes("access_token")))
                let refresh = try row.optionalBytes("refresh_token").flatMap { try vault.openLegacy(SealedSecret(bytes: $0)) }
                guard access != nil || refresh != nil else { continue }
                if let access {
                    let sealed = try vault.seal(access, for: .accessToken(of: email))
                    try await sql.raw("UPDATE oauth_grants SET access_token = \(bind: Data(sealed.bytes)) WHERE mailbox_id = \(bind: try row.int64("mailbox_id"))").run()
                }
                if let refresh {
                    let sealed = try vault.seal(refresh, for: .refreshToken(of: email))
                    try await sql.raw("UPDATE oauth_grants SET refresh_token = \(bind: Data(sealed.bytes)) WHERE mailbox_id = \(bind: try row.int64("mailbox_id"))").run()
                }
                count += 1
            }
            return count
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
