import Foundation
import MailroomCore
import SQLKit

extension SQLStore {
    public func grant(_ id: MailboxID) async throws -> StoredGrant? {
        try await database.withSQL { sql in
            guard let row = try await sql.raw("SELECT * FROM oauth_grants WHERE mailbox_id = \(bind: id.rawValue)").first() else { return nil }
            return try Self.grant(from: row)
        }
    }

    public func replaceGrant(_ id: MailboxID, with grant: StoredGrant, expectedVersion: Int64) async throws -> Bool {
        try await database.transaction { sql in
            let current = try await sql.raw("SELECT version FROM oauth_grants WHERE mailbox_id = \(bind: id.rawValue)").first()
            guard let current, try current.decode(column: "version", as: Int64.self) == expectedVersion else { return false }
            // A concurrent save of the same version (another node) commits first: the condition then matches no row.
            return try await sql.raw("""
                UPDATE oauth_grants SET provider = \(bind: grant.provider), tenant = \(bind: grant.tenant), account = \(bind: grant.account),
                    subject = \(bind: grant.subject), scopes = \(bind: grant.scopes.joined(separator: " ")),
                    access_token = \(bind: Data(grant.accessToken.bytes)), access_expires_at = \(bind: Millis.from(grant.accessTokenExpiresAt)),
                    refresh_token = \(bind: grant.refreshToken.map { Data($0.bytes) }), obtained_at = \(bind: Millis.from(grant.obtainedAt)),
                    refreshed_at = \(bind: grant.refreshedAt.map(Millis.from)), version = \(bind: expectedVersion + 1),
                    renewing_by = NULL, renewing_until = NULL
                WHERE mailbox_id = \(bind: id.rawValue) AND version = \(bind: expectedVersion)
                RETURNING mailbox_id
                """).first() != nil
        }
    }

    static func insertGrant(_ grant: StoredGrant, mailbox id: MailboxID, sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO oauth_grants (mailbox_id, provider, tenant, account, subject, scopes, access_token, access_expires_at,
                refresh_token, obtained_at, refreshed_at, version)
            VALUES (\(bind: id.rawValue), \(bind: grant.provider), \(bind: grant.tenant), \(bind: grant.account), \(bind: grant.subject),
                \(bind: grant.scopes.joined(separator: " ")), \(bind: Data(grant.accessToken.bytes)), \(bind: Millis.from(grant.accessTokenExpiresAt)),
                \(bind: grant.refreshToken.map { Data($0.bytes) }), \(bind: Millis.from(grant.obtainedAt)),
                \(bind: grant.refreshedAt.map(Millis.from)), \(bind: grant.version))
            """).run()
    }

    static func grant(from row: any SQLRow) throws -> StoredGrant {
        StoredGrant(
            provider: try row.string("provider"), tenant: try row.optionalString("tenant"), account: try row.string("account"),
            subject: try row.string("subject"), scopes: try row.string("scopes").split(separator: " ").map(String.init),
            accessToken: SealedSecret(bytes: Array(try row.decode(column: "access_token", as: Data.self))),
            accessTokenExpiresAt: try row.date("access_expires_at"),
            refreshToken: try row.decode(column: "refresh_token", as: Data?.self).map { SealedSecret(bytes: Array($0)) },
            obtainedAt: try row.date("obtained_at"), refreshedAt: try row.optionalDate("refreshed_at"),
            version: try row.int64("version"))
    }
}
